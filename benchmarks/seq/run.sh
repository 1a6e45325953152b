#!/usr/bin/env bash
# One LSTM training epoch, advx against PyTorch doing the same work, in one run, for the shipped
# sequence recipes (assets/models/sequence/README.md): `sms` (SMS Spam Collection, sms_lstm) and
# `api` (MalbehavD-V1, api_lstm):
#   1. build/native/advx_bench_seq   advx, 1 thread (the trainer's default); it also dumps the
#                                    training split and recipe for the peer
#   2. benchmarks/seq/bench_torch.py PyTorch 1.13 (Debian) on the same sequences and recipe, with
#                                    Debian's default reference BLAS and with OpenBLAS, 1 and 2 threads
# Per dataset: advx, the four PyTorch setups, advx again (so advx brackets its peers' machine load).
# Writes benchmarks/results/seq.json and seq.md.
#
# PyTorch runs with OMP_WAIT_POLICY=PASSIVE: with the default (spinning) policy its 2-thread runs
# took 40-90 s per SMS epoch instead of ~3 s on a machine that another job kept busy. Passive
# waiting is the peer's better setting here; with one thread it changes nothing.
#
# Usage: bash benchmarks/seq/run.sh [epochs, default 3]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
epochs="${1:-3}"
py=/usr/bin/python3  # Debian's Python: the one with torch
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p benchmarks/results

echo "[seq] building advx_bench_seq" >&2
[ -f build/native/build.ninja ] || cmake --preset native >/dev/null
nice cmake --build --preset native -j2 --target advx_bench_seq >&2
bench=build/native/advx_bench_seq
refblas=/usr/lib/x86_64-linux-gnu/blas
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp
start=$(date -u +"%Y-%m-%d %H:%M")
t0=$SECONDS
for ds in sms api; do
  echo "[seq] advx $ds, $epochs epochs (run 1 of 2)" >&2
  "$bench" --dataset "$ds" --epochs "$epochs" --dump "$tmp/train_$ds.json" > "$tmp/advx_${ds}_1.json"
  for threads in 1 2; do
    for blas in ref openblas; do
      dir=$refblas
      [ "$blas" = openblas ] && dir=$openblas
      echo "[seq] torch $ds, $blas BLAS ($dir), $threads thread(s)" >&2
      LD_LIBRARY_PATH="$dir" OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY=PASSIVE "$py" benchmarks/seq/bench_torch.py \
        --dump "$tmp/train_$ds.json" --epochs "$epochs" --threads "$threads" > "$tmp/torch_${ds}_${blas}_$threads.json"
    done
  done
  echo "[seq] advx $ds, $epochs epochs (run 2 of 2)" >&2
  "$bench" --dataset "$ds" --epochs "$epochs" > "$tmp/advx_${ds}_2.json"
done
"$py" benchmarks/seq/report.py --tmp "$tmp" --start "$start" --seconds $((SECONDS - t0)) \
  --refblas "$refblas" --openblas "$openblas"
"$py" benchmarks/report.py --splice-seq
