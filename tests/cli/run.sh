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

# The one-pixel attack (differential evolution, black-box): eval --json on MNIST, on CIFAR-10 with
# --save-adv (float32 IDX N x 3 x 32 x 32, at most P pixels changed against the exact test images),
# targeted, and attack on a 32x32 RGB PNG.
out=$("$ADVX" eval --model small --attack pixel --pixels 3 --pop 60 --gens 10 --n 20 --json 2>&1)
if /usr/bin/python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["attack"] == "pixel" and r["pixels"] == 3 and r["pop"] == 60 and r["gens"] == 10 and r["mutation"] == 0.5
assert r["gradient_calls"] == 0 and r["attacked"] >= 15 and 60 <= r["queries_mean"] <= 60 * 11
assert r["queries"] == round(r["queries_mean"] * r["attacked"]) and r["l0_mean"] <= 3 and 0 <= r["success_rate"] <= 1
PY
then ok "eval --attack pixel --json: parameters, queries, no gradients, L0 <= 3"; else bad "eval pixel" "$out"; fi
out=$("$ADVX" eval --model small --attack pixel --pixels 1 --pop 40 --gens 5 --n 10 --strategy best1 --dither \
      --pop-init uniform --json 2>&1)
/usr/bin/python3 -c "
import json,sys; r=json.loads(sys.argv[1])
assert r['strategy']=='best1' and r['dither'] in (1, True) and r['pop_init']=='uniform' and r['l0_mean']<=1" "$out" \
  && ok "eval --attack pixel --strategy best1 --dither --pop-init uniform" || bad "eval pixel best1" "$out"
out=$("$ADVX" eval --model cifar_lenet --dataset cifar10-exact --attack pixel --pixels 1 --pop 100 --gens 10 --n 12 \
      --save-adv "$T/pixel.idx" --json 2>&1)
if /usr/bin/python3 - "$out" "$T/pixel.idx" "${ADVX_DATA:-../shared/data}" <<'PY'
import gzip, json, struct, sys
r = json.loads(sys.argv[1])
assert r["model"] == "cifar_lenet" and r["dataset"] == "cifar10-exact" and r["n"] == 12 and r["l0_mean"] <= 1
assert r["success_rate"] > 0, r  # a 1-pixel change fools this LeNet on some of the first 12 images
b = open(sys.argv[2], "rb").read()
assert b[:4] == bytes([0, 0, 0x0D, 4]), b[:4]
n, c, h, w = struct.unpack(">IIII", b[4:20]); assert (n, c, h, w) == (12, 3, 32, 32)
adv = struct.unpack(">%df" % (n * c * h * w), b[20:])
raw = gzip.open(sys.argv[3] + "/cifar-10/lossless/test_batch_first1000.bin.gz").read()
changed_images = 0
for i in range(n):
    clean = raw[i * 3073 + 1:(i + 1) * 3073]
    a = adv[i * 3072:(i + 1) * 3072]
    assert all(0 <= v <= 1 for v in a)
    px = {j % 1024 for j in range(3072) if abs(a[j] - clean[j] / 255) > 1e-7}
    assert len(px) <= 1, (i, px)
    changed_images += len(px) > 0
assert changed_images > 0
PY
then ok "eval pixel on cifar10-exact: --save-adv IDX 12 x 3 x 32 x 32, <= 1 pixel changed each"; else bad "eval pixel cifar10" "$out"; fi
out=$("$ADVX" eval --model small --attack pixel --pixels 5 --pop 40 --gens 5 --n 10 --target 3 --seed 2 --json 2>&1)
/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['target']==3 and r['seed']==2 and r['l0_mean']<=5" "$out" \
  && ok "targeted pixel eval" || bad "targeted pixel eval" "$out"
# A 32x32 RGB PNG of CIFAR-10 test image 0 (exact pixels) in, the adversarial PNG out; decoding both
# here shows the 3-channel load and save keep every other pixel exactly.
cat > "$T/png.py" <<'PY'
import struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
def write_rgb(path, w, h, rgb):  # rgb: bytes, row-major, 3 per pixel
    raw = b"".join(b"\x00" + rgb[y * w * 3:(y + 1) * w * 3] for y in range(h))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
def read(path):  # 8-bit grey / RGB / RGBA, not interlaced -> (w, h, channels, bytes)
    b = open(path, "rb").read(); pos = 8; idat = b""
    while pos < len(b):
        n, t = struct.unpack(">I4s", b[pos:pos + 8]); d = b[pos + 8:pos + 8 + n]; pos += 12 + n
        if t == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", d[:10])
        if t == b"IDAT": idat += d
    assert depth == 8, depth
    c = {0: 1, 2: 3, 6: 4}[ctype]; raw = zlib.decompress(idat); stride = w * c; out = bytearray(); prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]; line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - c] if x >= c else 0; up = prev[x]; ul = prev[x - c] if x >= c else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + up) & 255
            elif f == 3: line[x] = (line[x] + (a + up) // 2) & 255
            elif f == 4:
                p = a + up - ul; pa, pb, pc = abs(p - a), abs(p - up), abs(p - ul)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
        out += line; prev = line
    return w, h, c, bytes(out)
PY
/usr/bin/python3 - "$T" "${ADVX_DATA:-../shared/data}" <<'PY'
import gzip, sys
sys.path.insert(0, sys.argv[1]); import png
rec = gzip.open(sys.argv[2] + "/cifar-10/lossless/test_batch_first1000.bin.gz").read()[1:3073]  # test image 0, a cat
png.write_rgb(sys.argv[1] + "/cat.png", 32, 32, bytes(rec[c * 1024 + j] for j in range(1024) for c in range(3)))
PY
out=$("$ADVX" attack --model cifar_lenet --image "$T/cat.png" --attack pixel --pixels 3 --pop 100 --gens 20 --out "$T/cat_adv.png" 2>&1)
if grep -q "clean:       predicted 3 " <<<"$out" && grep -Eq "L0 [0-3] px" <<<"$out" &&
   /usr/bin/python3 - "$T" <<'PY'
import sys
sys.path.insert(0, sys.argv[1]); import png
w, h, c, a = png.read(sys.argv[1] + "/cat.png"); w2, h2, c2, b = png.read(sys.argv[1] + "/cat_adv.png")
assert (w, h, c) == (32, 32, 3) and (w2, h2, c2) == (32, 32, 3), (w2, h2, c2)
changed = {j // 3 for j in range(len(a)) if a[j] != b[j]}
assert 1 <= len(changed) <= 3, changed
PY
then ok "attack --attack pixel on a 32x32 RGB PNG: <= 3 pixels differ in the PNG written"; else bad "attack pixel on RGB PNG" "$out"; fi

# --help is generated from the engine's tables: every attack and defence parameter with its range.
help=$("$ADVX" eval --help 2>&1)
if grep -q -- "--eps X .*\[a number in \[0, 1\]; default 0.1; fgsm, bim, pgd, noise\]" <<<"$help" &&
   grep -q -- "--steps N .*an integer in \[1, 1000\]" <<<"$help" && grep -q -- "--restarts N" <<<"$help" &&
   grep -q -- "--early-stop" <<<"$help" && grep -q -- "--threshold X .*\[a number in \[0.01, 0.99\]" <<<"$help" &&
   grep -q -- "noise: random baseline" <<<"$help" &&
   grep -q -- "--pixels N .*\[an integer in \[1, 100\]; default 1; pixel\]" <<<"$help" &&
   grep -q -- "--pop N .*\[an integer in \[4, 4000\]; default 400; pixel\]" <<<"$help" &&
   grep -q -- "pixel: differential evolution" <<<"$help"; then ok "eval --help lists every parameter with its range"
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

# A detecting defence: threshold from the odd-indexed test images, fpr and detection measured on the
# even-indexed ones; the oblivious FGSM adversarials of Xu et al.'s MNIST setting are mostly flagged.
out=$("$ADVX" eval --model small --defence squeeze_detect --attack fgsm --eps 0.3 --n 100 --val-n 200 --json 2>&1)
if /usr/bin/python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["images"].startswith("even-indexed") and "validation" in r["threshold_from"] and r["target_fpr"] == 0.05
assert 0.0 <= r["fpr"] <= 0.2 and r["validation_fpr"] <= 0.05 and r["detect_rate"] >= 0.8 and r["roc_auc"] >= 0.9
assert r["successful_adversarials"] > 0 and 0.0 <= r["undetected_success_rate"] <= 1.0 and r["ms_per_query"] > 0
PY
then ok "eval with a detecting defence: fpr, detect_rate, ROC-AUC"; else bad "eval detector" "$out"; fi
out=$("$ADVX" eval --model small --defence autoencoder --ae-detect l2 --n 50 --val-n 200 --json 2>&1)
/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['clean_acc']>=0.9 and r['fpr']<=0.2 and r['detector'].startswith('reconstruction')" "$out" \
  && ok "eval with the autoencoder detector (clean)" || bad "eval autoencoder" "$out"
out=$("$ADVX" eval --model small --defence kde --kde-n 500 --n 50 --val-n 200 --json 2>&1)
/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['clean_acc']>=0.9 and r['fpr']<=0.2" "$out" \
  && ok "eval with the kernel-density detector (clean)" || bad "eval kde" "$out"
expect_error "a detector's --n beyond the held-out images" "--n 5000 at most" "$ADVX" eval --model small --defence squeeze_detect --n 6000
# advx detect: the MMD two-sample test over batches.
out=$("$ADVX" detect --model small --attack fgsm --eps 0.3 --batches 2 --batch-size 20 --permutations 50 --json 2>&1)
/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['adversarial_rejected']==1.0 and 0<=r['clean_vs_clean_rejected']<=1 and r['permutations']==50" "$out" \
  && ok "detect: MMD test rejects FGSM batches" || bad "detect" "$out"
expect_error "detect: too many batches" "--batches x --batch-size must be <= 5000" "$ADVX" detect --model small --batches 200 --batch-size 50
# Autoencoders train on reconstruction and record their recipe; --noise is theirs only.
out=$("$ADVX" train --model ae_dense --contractive 0.0001 --epochs 1 --limit 256 --quiet --out "$T/ae.safetensors" 2>&1)
info=$("$ADVX" info --model "$T/ae.safetensors" 2>&1)
if grep -q "test reconstruction mse" <<<"$out" && grep -q "advx.recipe = advx train --model ae_dense .*--contractive 0.0001" <<<"$info"
then ok "train an autoencoder: reconstruction mse and recipe"; else bad "train autoencoder" "$out $info"; fi
expect_error "--noise on a classifier" "are for autoencoders" "$ADVX" train --model small --noise 0.1 --out "$T/x.safetensors"

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

# The adversarial patch: train a universal patch on small (a PNG at the model's pixel scale that
# records its target, size and model; a printable copy upscaled by nearest neighbour), score it on
# held-out test images white-box and on cnn (transfer), and run the registered attack through eval.
out=$("$ADVX" patch train --model small --target 3 --size 0.2 --steps 40 --seed 1 --out "$T/patch.png" \
  --print "$T/patch_print.png" --print-scale 8 --json 2>&1)
wb=$("$ADVX" patch eval --patch "$T/patch.png" --model small --n 300 --json 2>&1)
tr=$("$ADVX" patch eval --patch "$T/patch.png" --model cnn --n 300 --json 2>&1)
if /usr/bin/python3 - "$out" "$wb" "$tr" "$T/patch.png" "$T/patch_print.png" <<'PY'
import json, struct, sys
t, wb, tr = (json.loads(a) for a in sys.argv[1:4])
assert t["patch_pixels"] == 13 and t["steps"] == 40 and t["gradient_calls"] == 40 * 32, t  # round(sqrt(0.2 * 784))
def png(path):
    b = open(path, "rb").read()
    w, h = struct.unpack(">II", b[16:24])
    text, at = {}, 8
    while at < len(b):
        n, = struct.unpack(">I", b[at:at + 4])
        if b[at + 4:at + 8] == b"tEXt":
            k, v = b[at + 8:at + 8 + n].split(b"\0", 1)
            text[k.decode()] = v.decode()
        at += 12 + n
    return w, h, text
w, h, text = png(sys.argv[4])
assert (w, h) == (13, 13) and text["advx.target"] == "3" and text["advx.size"] == "0.2" and text["advx.model"] == "small", text
assert png(sys.argv[5])[:2] == (104, 104)
for r in (wb, tr):
    for k in ["success_rate", "n", "patch_area_fraction", "target", "clean_acc", "attacked", "changed_pixels_mean"]:
        assert k in r, k
    assert r["n"] == 300 and r["target"] == 3 and r["patch_area_fraction"] == 0.2 and r["trained_on"] == "small"
    area = 0.2 * 784
    assert 0.5 * area < r["changed_pixels_mean"] <= area + 2 * (2 * area) ** 0.5 + 1, r
assert not wb["transfer"] and tr["transfer"] and tr["model"] == "cnn"
# measured 0.294 white-box and 0.291 on cnn (an untrained patch of this size: 0.01 to 0.03)
assert wb["success_rate"] >= 0.1 and tr["success_rate"] > 0.05, (wb, tr)
PY
then ok "patch train / eval: the PNG records its target and size, white-box and transfer"; else bad "patch train / eval" "$out $wb $tr"; fi
out=$("$ADVX" eval --model small --attack patch --size 0.1 --steps 5 --target 3 --n 50 --json 2>&1)
/usr/bin/python3 -c "
import json,sys; r=json.loads(sys.argv[1]); a=0.1*784
assert r['attack']=='patch' and r['size']==0.1 and r['steps']==5 and r['gradient_calls']==5*32
assert 0 < r['l0_mean']*r['n']/r['attacked'] <= a+2*(2*a)**0.5+1 and r['linf_max']<=1" "$out" \
  && ok "eval --attack patch: the registered attack, pixels changed within the patch's area" || bad "eval --attack patch" "$out"
help=$("$ADVX" eval --help 2>&1)
grep -q -- "--size X .*\[a number in \[0.01, 0.5\]; default 0.1; patch\]" <<<"$help" && grep -q -- "patch: a square patch" <<<"$help" \
  && ok "eval --help lists the patch attack and its --size" || bad "eval --help (patch)" "$help"
# Adversarial training (data-parallel shards): the recipe is recorded; a finished run's checkpoint
# resumes to the same weights.
out=$("$ADVX" train --model small --epochs 2 --limit 300 --batch 50 --lr 0.005 --lr-schedule cyclic --adv pgd --eps 0.3 \
      --steps 1 --step-size 0.375 --eval-n 50 --shards 2 --overfit-check 100 --quiet --checkpoint "$T/ck.safetensors" --out "$T/adv.safetensors" 2>&1)
out2=$("$ADVX" train --resume "$T/ck.safetensors" --out "$T/adv2.safetensors" 2>&1)
info=$("$ADVX" info --model "$T/adv.safetensors" 2>&1)
if grep -q "robust " <<<"$out" && grep -q "advx.recipe = advx train --model small .*--lr-schedule cyclic .*--adv pgd --eps 0.3 --steps 1 --step-size 0.375" <<<"$info" &&
   grep -q "advx.recipe = .*--shards 2" <<<"$info" && grep -q "advx.recipe = .*--overfit-check 100 --overfit-drop 0.2" <<<"$info" &&
   grep -q "overfitting check (first 100 training images)" <<<"$out" &&
   grep -q "resumed at epoch 3" <<<"$out2" && /usr/bin/python3 - "$T/adv.safetensors" "$T/adv2.safetensors" <<'PY'
import sys
sys.path.insert(0, "tests/reference")
import arch
a, _ = arch.read_safetensors(sys.argv[1]); b, _ = arch.read_safetensors(sys.argv[2])
assert sorted(a) == sorted(b) and all((a[k] == b[k]).all() for k in a)
PY
then ok "train --adv: recipe recorded, per-epoch robust accuracy, --resume"; else bad "train --adv" "$out $out2 $info"; fi

# The model-based defences, three ways, from the generated flags.
out=$("$ADVX" eval --model small --attack pgd --eps 0.3 --steps 10 --step-size 0.03 --n 100 --defence advtrain --adaptive --json 2>&1)
/usr/bin/python3 -c "
import json,sys; r=json.loads(sys.argv[1])
assert r['defence']=='advtrain' and r['robust_model']=='small_fgsmrs' and r['gradient']=='exact'
assert r['clean_acc']>=0.95 and r['adaptive_adv_acc']>=0.7 and r['oblivious_adv_acc']>=r['adaptive_adv_acc']-0.03" "$out" \
  && ok "eval --defence advtrain --adaptive" || bad "eval --defence advtrain" "$out"
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
expect_error "a parameter of another attack" "--steps does not apply to --attack fgsm (it is for bim, pgd, patch)" "$ADVX" eval --model small --attack fgsm --eps 0.1 --steps 3
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
expect_error "pixel without its budget" "--attack pixel needs --pixels" "$ADVX" eval --model small --attack pixel --n 10
expect_error "pixel pop too small" "--pop must be >= 4" "$ADVX" eval --model small --attack pixel --pixels 1 --pop 3 --n 10
expect_error "pixel with an L-inf parameter" "--eps does not apply to --attack pixel" "$ADVX" eval --model small --attack pixel --pixels 1 --eps 0.1
expect_error "patch eval of the printable copy" "printable copy" "$ADVX" patch eval --patch "$T/patch_print.png" --model small --n 10
expect_error "patch train without --target" "needs --model, --target, --size and --out" "$ADVX" patch train --model small --size 0.1 --out "$T/x.png"
expect_error "patch size out of range" "--size must be >= 0.01 and <= 0.5" "$ADVX" patch train --model small --target 3 --size 0.9 --out "$T/x.png"
expect_error "patch on another dataset's model" "was trained on mnist images" "$ADVX" patch eval --patch "$T/patch.png" --model cifar_lenet --n 10
expect_error "a PNG without a recorded target" "give --target T" "$ADVX" patch eval --patch "$T/seven.png" --model small --n 10
expect_error "patch without train or eval" "subcommand" "$ADVX" patch
expect_error "patch eval unknown option" "unknown option --foo" "$ADVX" patch eval --patch "$T/patch.png" --model small --foo 1
expect_error "source model without attack" "--source-model needs an --attack" "$ADVX" eval --model small --source-model cnn
expect_error "resume with other settings" "--epochs is recorded in the checkpoint" "$ADVX" train --resume "$T/ck.safetensors" --epochs 3 --out "$T/x.safetensors"
expect_error "train --shards out of range" "--shards must be" "$ADVX" train --model small --shards 0 --out "$T/x.safetensors"
expect_error "train --overfit-check without --adv" "needs adversarial training" "$ADVX" train --model small --overfit-check 100 --out "$T/x.safetensors"
expect_error "train --overfit-drop without --overfit-check" "--overfit-drop needs --overfit-check" "$ADVX" train --model small --adv fgsm --eps 0.3 --overfit-drop 0.3 --out "$T/x.safetensors"
expect_error "resume a non-checkpoint" "not an advx training checkpoint" "$ADVX" train --resume assets/models/small.safetensors --out "$T/x.safetensors"
expect_error "adversarial training, black-box attack" "needs a gradient attack" "$ADVX" train --model small --adv noise --eps 0.3 --out "$T/x.safetensors"
expect_error "attack parameter without --adv" "--eps does not apply to training without --adv" "$ADVX" train --model small --eps 0.3 --out "$T/x.safetensors"
expect_error "adv weight without --adv" "need --adv ATTACK" "$ADVX" train --model small --adv-weight 0.5 --out "$T/x.safetensors"
expect_error "adv weight out of range" "--adv-weight must be >= 0 and <= 1" "$ADVX" train --model small --adv fgsm --eps 0.3 --adv-weight 2 --out "$T/x.safetensors"
expect_error "part out of range" "--part's I must be" "$ADVX" train --model small --part 5/5 --out "$T/x.safetensors"
expect_error "part without a slash" "--part must look like I/N" "$ADVX" train --model small --part 2 --out "$T/x.safetensors"
expect_error "cyclic with decay" "--lr-decay applies to --lr-schedule exp" "$ADVX" train --model small --lr-schedule cyclic --lr-decay 0.5 --out "$T/x.safetensors"
out=$("$ADVX" eval --dataset malbehavd --model api_lstm --n 20 --json 2>&1) && out2=$("$ADVX" eval --dataset malbehavd --model sequence/api_lstm --n 20 --json 2>&1)
if grep -q '"n":20' <<<"$out" && [ "$(sed 's/"seconds":[0-9.e-]*//' <<<"$out")" = "$(sed 's/"seconds":[0-9.e-]*//' <<<"$out2")" ]; then ok "a shipped sequence model by its name (api_lstm, sequence/api_lstm)"; else bad "a shipped sequence model by its name" "$out $out2"; fi
expect_error "unknown schedule" "--lr-schedule must be exp, cyclic or step" "$ADVX" train --model small --lr-schedule steps --out "$T/x.safetensors"
expect_error "step without milestones" "--lr-schedule step needs --lr-milestones" "$ADVX" train --model small --lr-schedule step --out "$T/x.safetensors"
expect_error "milestones without step" "--lr-milestones belongs to --lr-schedule step" "$ADVX" train --model small --lr-milestones 3 --out "$T/x.safetensors"
expect_error "bad milestone" "--lr-milestones" "$ADVX" train --model small --lr-schedule step --lr-milestones 3,x --out "$T/x.safetensors"
expect_error "standardize with padding" "convolution without" "$ADVX" train --model small --standardize --limit 100 --out "$T/x.safetensors"
expect_error "checkpoint-every without checkpoint" "--checkpoint-every needs --checkpoint" "$ADVX" train --model small --checkpoint-every 5 --out "$T/x.safetensors"
expect_error "unknown ensemble" "--members must be one of" "$ADVX" eval --model small --defence ensemble --members bagged --n 10
expect_error "knn on cifar" "use an MNIST model" "$ADVX" eval --model cifar_lenet --defence knn --n 10

# Hostile input (issue 11): images are PNG only and checked before decoding; files behave.
/usr/bin/python3 - "$T" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
png = lambda w, h, raw: (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                         + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
open(d + "/bomb.png", "wb").write(png(16000, 16000, b"\0\0"))              # 67 bytes, 256 MB of pixels
open(d + "/header.pgm", "wb").write(b"P5\n10000 7000\n255\n")            # 18 bytes, 70 MB of pixels
open(d + "/cut.pgm", "wb").write(b"P5\n28 28\n255\n")                    # a PNM without its pixels
# 35 bytes: a full stb_image decodes it to 16383x16383 (2.5 GB resident; the GIF loader is compiled out now)
open(d + "/bomb.gif", "wb").write(bytes.fromhex("474946383961ff3fff3f800000ffffff0000002c00000000ff3fff3f000202440100" "3b"))
open(d + "/photo.jpg", "wb").write(bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9"))
# A 4000x4000 drawing of a 7, 30-pixel strokes, white on black (point sampling read a 5).
n, s, rows = 4000, 30, []
for y in range(n):
    r = bytearray(n)
    if 600 <= y < 600 + s: r[900:3100] = b"\xff" * 2200
    if 600 <= y < 3400:
        a = int(3100 - 1600 * (y - 600) / 2800 - s / 2 + 0.5); r[a:a + s] = b"\xff" * s
    rows.append(b"\0" + bytes(r))
open(d + "/seven4000.png", "wb").write(png(n, n, b"".join(rows)))
PY
expect_error "a PNG declaring 16000x16000 is refused from its header" "is 16000x16000, more than the 16777216 pixels (4096 x 4096) advx reads" \
  "$ADVX" attack --model small --image "$T/bomb.png" --attack fgsm --eps 0.1 --out "$T/o.png"
expect_error "a PGM header is not read (PNG only)" "it is not a PNG (it looks like a PNM" "$ADVX" attack --model small --image "$T/header.pgm" --attack fgsm --eps 0.1 --out "$T/o.png"
expect_error "a truncated PNM is not read" "it is not a PNG" "$ADVX" attack --model small --image "$T/cut.pgm" --attack fgsm --eps 0.1 --out "$T/o.png"
expect_error "a GIF bomb is not read" "it looks like a GIF" "$ADVX" attack --model small --image "$T/bomb.gif" --attack fgsm --eps 0.1 --out "$T/o.png"
expect_error "a JPEG from a user is not read" "it looks like a JPEG" "$ADVX" attack --model small --image "$T/photo.jpg" --attack fgsm --eps 0.1 --out "$T/o.png"
expect_error "a folder as --image" "is a folder" "$ADVX" attack --model small --image "$T" --attack fgsm --eps 0.1 --out "$T/o.png"
expect_error "a device as --model" "'/dev/zero' is larger than 256 MiB" "$ADVX" eval --model /dev/zero --n 10
out=$("$ADVX" attack --model cnn --image "$T/seven4000.png" --attack fgsm --eps 0.1 --out "$T/o.png" 2>&1)
grep -q "clean:       predicted 7" <<<"$out" && ok "a 4000x4000 drawing with thin strokes keeps its ink (area averaging)" || bad "large thin drawing" "$out"
# Pipes report no size: the model and the image through process substitution.
out=$("$ADVX" attack --model <(cat assets/models/small.safetensors) --image <(cat "$T/seven.png") --attack fgsm --eps 0.1 --out "$T/o.png" 2>&1)
grep -q "clean:       predicted 7" <<<"$out" && ok "model and image read from pipes" || bad "pipes" "$out"
# A write that fails (file-size limit: EFBIG half-way) is an error and leaves the good file in place.
cp "$T/seven.png" "$T/good.png"
err=$( (ulimit -f 0; "$ADVX" attack --model small --image "$T/seven.png" --attack fgsm --eps 0.1 --out "$T/good.png") 2>&1 >/dev/null); rc=$?
if [ "$rc" -eq 1 ] && grep -q "writing '$T/good.png' failed" <<<"$err" && cmp -s "$T/seven.png" "$T/good.png" &&
   [ -z "$(ls "$T" | grep advx-tmp)" ]; then ok "a failed write keeps the good file, no temporary left"
else bad "failed write" "exit $rc: $err"; fi
# Results printed to a full disk: a failed run (exit 1), not a success with nothing written.
err=$("$ADVX" info --model small 2>&1 >/dev/full); rc=$?
if [ "$rc" -eq 1 ] && grep -q "writing the results to standard output failed" <<<"$err"; then ok "stdout on a full disk is an error"
else bad "stdout on a full disk" "exit $rc: $err"; fi

# Sequence attacks: evasion_rate and inserted_mean for traces, and --save-adv's JSON lines keep every
# original call in order within the budget (test samples 0-299 hold some 45 malware traces).
SEQ=assets/models/sequence
out=$("$ADVX" eval --dataset malbehavd --model $SEQ/api_lstm.safetensors --attack insert --budget 0.05 --n 300 --json \
  --save-adv "$T/adv.jsonl" 2>&1)
if /usr/bin/python3 - "$out" "$T/adv.jsonl" <<'PY'
import json, math, sys
r = json.loads(sys.argv[1])
assert r["attacked"] > 0 and 0 <= r["evasion_rate"] <= 1 and "inserted_mean" in r
rows = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == r["attacked"]
for x in rows:
    it = iter(x["adversarial"])
    assert all(c in it for c in x["original"]), x["index"]
    assert len(x["adversarial"]) - len(x["original"]) <= math.ceil(0.05 * len(x["original"]) - 1e-9)
    assert "<pad>" not in x["adversarial"] and "<unk>" not in x["adversarial"]
PY
then ok "eval --attack insert: evasion_rate, inserted_mean, insertion-only JSON lines"; else bad "eval --attack insert" "$out"; fi
# ... and with --defence: both arms' adversarials, each checked the same way, with the detector's
# score and flag when the defence detects; pred and success are the defended model's.
out=$("$ADVX" eval --dataset malbehavd --model $SEQ/api_lstm.safetensors --attack insert --budget 0.1 --n 150 \
  --defence transitions --json --save-adv "$T/adv_def.jsonl" 2>&1)
if /usr/bin/python3 - "$out" "$T/adv_def.jsonl" <<'PY'
import json, math, sys
r = json.loads(sys.argv[1])
rows = [json.loads(l) for l in open(sys.argv[2])]
for arm in ("oblivious", "adaptive"):
    mine = [x for x in rows if x["arm"] == arm]
    assert len(mine) == r[arm]["attacked"] > 0, arm
    assert abs(sum(x["success"] for x in mine) / len(mine) - r[arm]["evasion_rate"]) < 1e-9, arm
    for x in mine:
        assert x["index"] == 2 * x["held_out_index"] and x["held_out_index"] < r["n"]
        it = iter(x["adversarial"])
        assert all(c in it for c in x["original"]), x["index"]
        assert x["edits"] == len(x["adversarial"]) - len(x["original"]) <= x["budget"]
        assert x["flagged"] == (x["score"] > r["threshold"])
PY
then ok "eval --defence --save-adv: both arms, insertion-only, the detector's score and flag"; else bad "eval --defence --save-adv" "$out"; fi
expect_error "substitution is refused on malware traces" "calls may only be inserted" \
  "$ADVX" eval --dataset malbehavd --model $SEQ/api_lstm.safetensors --attack substitute --budget 0.1
expect_error "an image attack on a sequence dataset" "is an image attack" \
  "$ADVX" eval --dataset sms --model $SEQ/sms_lstm.safetensors --attack fgsm --eps 0.1
expect_error "a sequence budget above 1" "--budget must be >= 0 and <= 1" \
  "$ADVX" eval --dataset sms --model $SEQ/sms_lstm.safetensors --attack substitute --budget 1.5

# advx attacks / defences: the registries, images and sequences, with their option tables.
for what in attacks defences; do
  out=$("$ADVX" "$what" --json 2>&1)
  if /usr/bin/python3 - "$out" "$what" <<'PY'
import json, sys
entries, what = json.loads(sys.argv[1]), sys.argv[2]
domains = {e["domain"] for e in entries}
assert domains == {"images", "sequences"}, domains
names = [e["name"] for e in entries]
assert len(names) == len(set(names)), names
for e in entries:
    assert e["title"] and e["summary"] and e["citation"], e["name"]
    for p in e["params"]:
        assert p["option"].startswith("--") and p["range"] and p["help"], (e["name"], p)
want = {"attacks": {"fgsm", "pgd", "pixel", "insert", "substitute"}, "defences": {"threshold", "knn", "seqsqueeze"}}[what]
assert want <= set(names), want - set(names)
PY
  then ok "$what --json: images and sequences, each with paper, summary and options"; else bad "$what --json" "$out"; fi
done
# The listing is captured first: `advx defences | grep -q` fails under pipefail when grep exits
# at its first match and advx then dies of SIGPIPE writing the rest (it did in CI).
out=$("$ADVX" defences 2>&1)
grep -q "seqsqueeze  \[sequences\]" <<<"$out" && ok "defences: the text listing names the sequence defences" \
  || bad "defences (text)" "$(head -5 <<<"$out")"

printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
