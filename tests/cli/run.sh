#!/usr/bin/env bash
# Black-box tests of the advx command: outputs, files it writes, and clear errors on bad input.
# Usage: tests/cli/run.sh path/to/advx
set -uo pipefail
ADVX=${1:?usage: tests/cli/run.sh path/to/advx}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$1"; [ -n "${2:-}" ] && printf '     %s\n' "$2"; }
# expect_error NAME TEXT CMD...: the command fails (exit 1, not a crash) and stderr contains TEXT.
expect_error() {
  local name=$1 text=$2; shift 2
  local err; err=$("$@" 2>&1 >/dev/null); local rc=$?
  if [ "$rc" -eq 1 ] && grep -qF -- "$text" <<<"$err"; then ok "$name"; else bad "$name" "exit $rc: $err"; fi
}

# eval --json: the documented keys, numbers in range.
out=$("$ADVX" eval --model small --attack fgsm --eps 0.2 --n 200 --json 2>&1)
if /usr/bin/python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
for k in ["clean_acc", "adv_acc", "success_rate", "linf_mean", "linf_max", "n", "seconds"]:
    assert k in r, k
assert r["n"] == 200 and 0.95 <= r["clean_acc"] <= 1 and r["adv_acc"] < r["clean_acc"]
assert r["linf_max"] <= 0.2 + 1e-6 and 0 < r["success_rate"] <= 1
PY
then ok "eval --json has the documented keys and sane values"; else bad "eval --json" "$out"; fi

# targeted eval: success means pred == target.
out=$("$ADVX" eval --model small --attack pgd --eps 0.3 --steps 20 --target 3 --n 100 --json 2>&1)
/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['target']==3 and r['success_rate']>0.5" "$out" \
  && ok "targeted pgd eval" || bad "targeted pgd eval" "$out"

# --save-adv writes N float32 images in IDX, each within eps of the clean test image.
"$ADVX" eval --model small --attack pgd --eps 0.1 --steps 10 --n 50 --save-adv "$T/adv.idx" >/dev/null 2>&1
if /usr/bin/python3 - "$T/adv.idx" "${ADVX_DATA:-../shared/data}" <<'PY'
import gzip, struct, sys, array
b = open(sys.argv[1], "rb").read()
assert b[:4] == bytes([0, 0, 0x0D, 3]), b[:4]
n, h, w = struct.unpack(">III", b[4:16]); assert (n, h, w) == (50, 28, 28)
adv = struct.unpack(">%df" % (n * h * w), b[16:])
clean = gzip.open(sys.argv[2] + "/mnist/t10k-images-idx3-ubyte.gz").read()[16:16 + n * h * w]
assert all(0 <= a <= 1 and abs(a - c / 255) <= 0.1 + 1e-6 for a, c in zip(adv, clean))
PY
then ok "--save-adv IDX is float32 N x 28 x 28 within eps"; else bad "--save-adv IDX"; fi

# attack one PNG: a real test digit in, an adversarial PNG out.
/usr/bin/python3 - "$T/seven.png" "${ADVX_DATA:-../shared/data}" <<'PY'
import gzip, struct, sys, zlib
px = gzip.open(sys.argv[2] + "/mnist/t10k-images-idx3-ubyte.gz").read()[16:16 + 784]  # test image 0, a 7
raw = b"".join(b"\x00" + px[r * 28:(r + 1) * 28] for r in range(28))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
out=$("$ADVX" attack --model cnn --image "$T/seven.png" --attack pgd --eps 0.3 --steps 40 --out "$T/adv.png" 2>&1)
if grep -q "clean:       predicted 7" <<<"$out" && grep -q "attack succeeded" <<<"$out" && [ -s "$T/adv.png" ]; then
  ok "attack on a PNG"; else bad "attack on a PNG" "$out"; fi

# CIFAR-10: eval takes the dataset from the model file; train --augment records its recipe.
out=$("$ADVX" eval --model cifar_lenet --n 200 --json 2>&1)
/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['model']=='cifar_lenet' and r['n']==200 and r['clean_acc']>0.5" "$out" \
  && ok "eval cifar_lenet on cifar10 (dataset from the model file)" || bad "eval cifar_lenet" "$out"
out=$("$ADVX" train --model cifar_lenet --dataset cifar10 --augment --epochs 1 --limit 256 --quiet --out "$T/c.safetensors" 2>&1)
info=$("$ADVX" info --model "$T/c.safetensors" 2>&1)
if grep -q "test acc (first 2000)" <<<"$out" && grep -q "advx.dataset = cifar10" <<<"$info" &&
   grep -q "advx.recipe = advx train --model cifar_lenet --dataset cifar10 .*--augment" <<<"$info" &&
   grep -q "advx.test_acc_exact1000 = " <<<"$info"; then
  ok "train --dataset cifar10 --augment writes its recipe and accuracies"; else bad "train cifar10" "$out $info"; fi

# --help is generated from the engine's tables: every attack and defence parameter with its range.
help=$("$ADVX" eval --help 2>&1)
if grep -q -- "--eps X .*\[a number in \[0, 1\]; default 0.1; fgsm, bim, pgd, noise\]" <<<"$help" &&
   grep -q -- "--steps N .*an integer in \[1, 1000\]" <<<"$help" && grep -q -- "--restarts N" <<<"$help" &&
   grep -q -- "--early-stop" <<<"$help" && grep -q -- "--threshold X .*\[a number in \[0.01, 0.99\]" <<<"$help" &&
   grep -q -- "noise: random baseline" <<<"$help"; then ok "eval --help lists every parameter with its range"
else bad "eval --help" "$help"; fi

# The threshold defence: clean, oblivious and adaptive accuracies in one JSON; masking shown.
out=$("$ADVX" eval --model small --attack pgd --eps 0.3 --steps 10 --n 100 --defence threshold --adaptive --json 2>&1)
if /usr/bin/python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["defence"] == "threshold" and r["threshold"] == 0.5 and r["adaptive"] is True and r["gradient"] == "bpda"
assert r["clean_acc"] >= 0.95 and r["adv_acc"] == r["adaptive_adv_acc"] and "oblivious_adv_acc" in r
assert r["adaptive_adv_acc"] <= r["oblivious_adv_acc"] + 0.03 and r["linf_max"] <= 0.3 + 1e-6
PY
then ok "eval --defence threshold --adaptive: clean, oblivious, adaptive"; else bad "eval --defence" "$out"; fi
out=$("$ADVX" eval --model small --attack bim --eps 0.3 --steps 10 --n 100 --defence threshold --adaptive --no-bpda --json 2>&1)
/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['gradient']=='zero' and r['adv_acc']==r['clean_acc']" "$out" \
  && ok "--no-bpda: the true (zero) gradient moves nothing" || bad "--no-bpda" "$out"

# noise next to FGSM at the same eps; black-box transfer with --source-model.
noise=$("$ADVX" eval --model small --attack noise --eps 0.3 --n 300 --json 2>&1)
fgsm=$("$ADVX" eval --model small --attack fgsm --eps 0.3 --n 300 --json 2>&1)
/usr/bin/python3 -c "
import json,sys; n=json.loads(sys.argv[1]); f=json.loads(sys.argv[2])
assert n['gradient_calls']==0 and n['queries']==n['attacked'] and n['linf_max']<=0.3+1e-6
assert n['adv_acc'] > 0.8 and f['adv_acc'] < 0.1, (n['adv_acc'], f['adv_acc'])" "$noise" "$fgsm" \
  && ok "noise keeps the model right where FGSM at the same eps does not" || bad "noise vs fgsm" "$noise $fgsm"
out=$("$ADVX" eval --model cnn --attack fgsm --eps 0.3 --n 100 --source-model small --json 2>&1)
/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['source_model']=='small' and r['adv_acc']<r['clean_acc']" "$out" \
  && ok "transfer: crafted on small, scored on cnn" || bad "transfer" "$out"

# Adversarial training: the recipe is recorded; a finished run's checkpoint resumes to the same weights.
out=$("$ADVX" train --model small --epochs 2 --limit 300 --batch 50 --lr 0.005 --lr-schedule cyclic --adv pgd --eps 0.3 \
      --steps 1 --step-size 0.375 --eval-n 50 --quiet --checkpoint "$T/ck.safetensors" --out "$T/adv.safetensors" 2>&1)
out2=$("$ADVX" train --resume "$T/ck.safetensors" --out "$T/adv2.safetensors" 2>&1)
info=$("$ADVX" info --model "$T/adv.safetensors" 2>&1)
if grep -q "robust " <<<"$out" && grep -q "advx.recipe = advx train --model small .*--lr-schedule cyclic .*--adv pgd --eps 0.3 --steps 1 --step-size 0.375" <<<"$info" &&
   grep -q "resumed at epoch 3" <<<"$out2" && /usr/bin/python3 - "$T/adv.safetensors" "$T/adv2.safetensors" <<'PY'
import sys
sys.path.insert(0, "tests/reference")
import arch
a, _ = arch.read_safetensors(sys.argv[1]); b, _ = arch.read_safetensors(sys.argv[2])
assert sorted(a) == sorted(b) and all((a[k] == b[k]).all() for k in a)
PY
then ok "train --adv: recipe recorded, per-epoch robust accuracy, --resume"; else bad "train --adv" "$out $out2 $info"; fi

# The model-based defences, three ways, from the generated flags.
out=$("$ADVX" eval --model small --attack fgsm --eps 0.3 --n 100 --defence ensemble --members subsequence --vote hard --adaptive \
      --source-model assets/models/ensemble/regular_0.safetensors --json 2>&1)
/usr/bin/python3 -c "
import json,sys; r=json.loads(sys.argv[1])
assert r['members']=='subsequence' and r['vote']=='hard' and r['gradient']=='bpda' and r['source_model']=='small'
assert r['clean_acc']>=0.95 and 'oblivious_adv_acc' in r and r['adaptive_adv_acc']<=r['clean_acc']" "$out" \
  && ok "eval --defence ensemble (hard vote, a member as the source)" || bad "eval --defence ensemble" "$out"
out=$("$ADVX" eval --model small --attack fgsm --eps 0.2 --n 50 --defence knn --neighbours 3 --space features --json 2>&1)
/usr/bin/python3 -c "
import json,sys; r=json.loads(sys.argv[1])
assert r['neighbours']==3 and r['space']=='features' and r['clean_acc']>=0.9 and 'oblivious_adv_acc' in r" "$out" \
  && ok "eval --defence knn (features)" || bad "eval --defence knn" "$out"
help=$("$ADVX" eval --help 2>&1)
if grep -q -- "--members NAME" <<<"$help" && grep -q -- "--vote NAME" <<<"$help" && grep -q -- "--neighbours N" <<<"$help" &&
   grep -q -- "--knn-temperature X" <<<"$help"; then
  ok "eval --help lists the new defences' parameters"; else bad "eval --help (defences)" "$help"; fi

# Clear errors, exit code 1, never a crash.
printf 'not a png' > "$T/bad.png"
head -c 5000 assets/models/small.safetensors > "$T/trunc.safetensors"
expect_error "negative eps" "eps must be >= 0" "$ADVX" eval --model small --attack fgsm --eps -0.1 --n 10
expect_error "eps missing" "needs --eps" "$ADVX" eval --model small --attack fgsm --n 10
expect_error "unknown attack" "unknown --attack" "$ADVX" eval --model small --attack foo --eps 0.1
expect_error "target out of range" "--target must be" "$ADVX" eval --model small --attack fgsm --eps 0.1 --target 12
expect_error "bad number" "must be a number" "$ADVX" eval --model small --attack fgsm --eps abc
expect_error "unknown option" "unknown option --epz" "$ADVX" eval --model small --epz 0.1
expect_error "missing model" "neither a file nor a shipped model" "$ADVX" eval --model nosuchmodel
expect_error "truncated weights" "truncated" "$ADVX" eval --model "$T/trunc.safetensors" --n 10
expect_error "bad PNG" "cannot decode image" "$ADVX" attack --model small --image "$T/bad.png" --attack fgsm --eps 0.1 --out "$T/o.png"
expect_error "missing data folder" "does not exist" "$ADVX" eval --model small --data /nonexistent
mkdir -p "$T/emptydata"
ADVX_DATA="$T/emptydata" expect_error "data folder without mnist/" "is missing" "$ADVX" eval --model small --n 10
expect_error "unknown architecture" "unknown model architecture" "$ADVX" train --model resnet --out "$T/x.safetensors"
expect_error "a parameter without its attack" "--eps does not apply to a run without --attack" "$ADVX" eval --model small --eps 0.1 --n 10
expect_error "a parameter of another attack" "--steps does not apply to --attack fgsm (it is for bim, pgd)" "$ADVX" eval --model small --attack fgsm --eps 0.1 --steps 3
expect_error "eps out of range" "--eps must be >= 0 and <= 1, got 1.5" "$ADVX" eval --model small --attack pgd --eps 1.5
expect_error "hex is not a number" "--eps must be a number in [0, 1], got '0x10'" "$ADVX" eval --model small --attack fgsm --eps 0x10
expect_error "steps 0" "--steps must be >= 1" "$ADVX" eval --model small --attack bim --eps 0.1 --steps 0
expect_error "negative target" "--target must be >= 0" "$ADVX" attack --model small --image "$T/seven.png" --attack fgsm --eps 0.1 --out "$T/o.png" --target -5
expect_error "unknown defence" "unknown --defence 'zzz'" "$ADVX" eval --model small --attack fgsm --eps 0.1 --defence zzz
expect_error "adaptive without a defence" "--adaptive attacks a defended model" "$ADVX" eval --model small --attack fgsm --eps 0.1 --adaptive
expect_error "no-bpda without adaptive" "--no-bpda changes the adaptive attacker" "$ADVX" eval --model small --attack fgsm --eps 0.1 --defence threshold --no-bpda
expect_error "threshold out of range" "--threshold must be >= 0.01 and <= 0.99" "$ADVX" eval --model small --attack fgsm --eps 0.1 --defence threshold --threshold 1
expect_error "demo --n 0" "--n must be >= 1" "$ADVX" demo --n 0
expect_error "demo --n -5" "--n must be >= 1" "$ADVX" demo --n -5
expect_error "train checks --out first" "cannot write" "$ADVX" train --model softmax --out /nonexistent/dir/x.safetensors
expect_error "a folder as --model" "is a folder" "$ADVX" eval --model "$T" --n 10
expect_error "a full disk" "failed" "$ADVX" attack --model small --image "$T/seven.png" --attack fgsm --eps 0.1 --out /dev/full
expect_error "source model without attack" "--source-model needs an --attack" "$ADVX" eval --model small --source-model cnn
expect_error "resume with other settings" "--epochs is recorded in the checkpoint" "$ADVX" train --resume "$T/ck.safetensors" --epochs 3 --out "$T/x.safetensors"
expect_error "resume a non-checkpoint" "not an advx training checkpoint" "$ADVX" train --resume assets/models/small.safetensors --out "$T/x.safetensors"
expect_error "adversarial training, black-box attack" "needs a gradient attack" "$ADVX" train --model small --adv noise --eps 0.3 --out "$T/x.safetensors"
expect_error "attack parameter without --adv" "--eps does not apply to training without --adv" "$ADVX" train --model small --eps 0.3 --out "$T/x.safetensors"
expect_error "adv weight without --adv" "need --adv ATTACK" "$ADVX" train --model small --adv-weight 0.5 --out "$T/x.safetensors"
expect_error "adv weight out of range" "--adv-weight must be >= 0 and <= 1" "$ADVX" train --model small --adv fgsm --eps 0.3 --adv-weight 2 --out "$T/x.safetensors"
expect_error "part out of range" "--part's I must be" "$ADVX" train --model small --part 5/5 --out "$T/x.safetensors"
expect_error "part without a slash" "--part must look like I/N" "$ADVX" train --model small --part 2 --out "$T/x.safetensors"
expect_error "cyclic with decay" "--lr-decay applies to --lr-schedule exp" "$ADVX" train --model small --lr-schedule cyclic --lr-decay 0.5 --out "$T/x.safetensors"
expect_error "unknown schedule" "--lr-schedule must be exp or cyclic" "$ADVX" train --model small --lr-schedule step --out "$T/x.safetensors"
expect_error "checkpoint-every without checkpoint" "--checkpoint-every needs --checkpoint" "$ADVX" train --model small --checkpoint-every 5 --out "$T/x.safetensors"
expect_error "unknown ensemble" "--members must be one of" "$ADVX" eval --model small --defence ensemble --members bagged --n 10
expect_error "knn on cifar" "use an MNIST model" "$ADVX" eval --model cifar_lenet --defence knn --n 10

printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
