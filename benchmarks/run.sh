#!/usr/bin/env bash
# advx vs PyTorch on this machine, in one run:
#   1. `advx bench --json`                      engine forward / forward+input-gradient throughput
#   2. `advx train --model small --epochs 1`    one training epoch of `small` (Adam lr 1e-3, batch 64),
#      and one epoch of FGSM-RS adversarial training of `small` (Wong, Rice, Kolter 2020's recipe)
#   3. benchmarks/bench_torch.py                the same with Debian's PyTorch 1.13, 2 threads, with
#      Debian's default reference BLAS, and again with OpenBLAS if it is installed (Debian's torch
#      calls the system BLAS for its Linear layers; the default libblas.so.3 is the slow reference one)
# then writes benchmarks/results/<date>.json, prints a Markdown table and rewrites BENCHMARKS.md.
#
# Usage: bash benchmarks/run.sh [path/to/advx]      (default build/native/advx)
# Run it on an otherwise idle machine: the 1-minute load average at the start is recorded.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
advx="${1:-build/native/advx}"
py=/usr/bin/python3  # Debian's Python: the one with torch
stamp="$(date -u +%Y-%m-%d_%H%M)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p benchmarks/results

load_before="$(cut -d' ' -f1 /proc/loadavg)"
echo "load average at start: $load_before" >&2

echo "[1/4] $advx bench --json" >&2
"$advx" bench --json > "$tmp/advx_bench.json"

echo "[2/4] $advx train --model small --epochs 1 --seed 1 --quiet" >&2
t0=$(date +%s.%N)
"$advx" train --model small --epochs 1 --seed 1 --out "$tmp/small.safetensors" --quiet > "$tmp/advx_train.txt"
t1=$(date +%s.%N)
echo "{\"start\": $t0, \"end\": $t1}" > "$tmp/advx_train_wall.json"
cat "$tmp/advx_train.txt" >&2

# Column "torch": Debian's default BLAS, the reference libblas, even when OpenBLAS is installed and
# the libblas.so.3 alternative points to it (as on a default Debian install without OpenBLAS).
refblas=/usr/lib/x86_64-linux-gnu/blas
fgsmrs=(--model small --epochs 1 --seed 0 --batch 100 --lr 0.005 --lr-schedule cyclic
        --adv pgd --eps 0.3 --steps 1 --step-size 0.375 --eval-n 0 --quiet)
# Twice: data-parallel shards (--shards 2: each half-batch on its own thread) and without (both
# threads inside every layer).
echo "[2b/4] $advx train ${fgsmrs[*]} --shards 2; and without --shards" >&2
"$advx" train "${fgsmrs[@]}" --shards 2 --out "$tmp/fgsmrs.safetensors" > "$tmp/advx_fgsmrs.txt"
cat "$tmp/advx_fgsmrs.txt" >&2
"$advx" train "${fgsmrs[@]}" --out "$tmp/fgsmrs1.safetensors" > "$tmp/advx_fgsmrs_noshards.txt"
cat "$tmp/advx_fgsmrs_noshards.txt" >&2

echo "[3/4] LD_LIBRARY_PATH=$refblas $py benchmarks/bench_torch.py --threads 2" >&2
LD_LIBRARY_PATH="$refblas" "$py" benchmarks/bench_torch.py --threads 2 > "$tmp/torch.json"

openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -e "$openblas/libblas.so.3" ]; then
  echo "[4/4] same with OpenBLAS ($openblas)" >&2
  LD_LIBRARY_PATH="$openblas" OMP_NUM_THREADS=2 "$py" benchmarks/bench_torch.py --threads 2 > "$tmp/torch_openblas.json"
  # The FGSM-RS epoch's small layers may run faster on one thread: the peer's best setup counts.
  echo "[4b/4] FGSM-RS epoch with OpenBLAS, 1 thread" >&2
  LD_LIBRARY_PATH="$openblas" OMP_NUM_THREADS=1 "$py" benchmarks/bench_torch.py --threads 1 --no-inference \
    --no-train > "$tmp/torch_openblas_1t.json"
else
  echo "[4/4] skipped: no OpenBLAS (apt-get install libopenblas0-openmp to add the torch+OpenBLAS column)" >&2
fi

load_after="$(cut -d' ' -f1 /proc/loadavg)"
"$py" benchmarks/report.py --tmp "$tmp" --stamp "$stamp" --advx "$advx" \
  --load-before "$load_before" --load-after "$load_after"
