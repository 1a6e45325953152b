#!/usr/bin/env bash
# The one-pixel attack at the paper's settings (population 400, 100 generations = 40,400 model
# evaluations per image, early stop off), natively against SciPy's differential_evolution driving
# the same weights in PyTorch, in one run on the same images:
#   1. build/native/advx_bench_pixel           advx: one image at a time and K images at once, plus
#                                               the engine's plain forward img/s at the same batch
#   2. benchmarks/pixel/bench_scipy.py         SciPy 1.10 + PyTorch 1.13 (Debian), vectorized (one
#                                               forward per generation, as ART / Hyperparticle) on
#                                               the same K images, and not vectorized on one image
# for `small` (MNIST) and `cifar_lenet` (CIFAR-10), interleaved (advx, peer, advx, peer) so both
# sides see the same machine load. PyTorch runs with Debian's default reference BLAS for its Linear
# layers and, when OPENBLAS_DIR holds an OpenBLAS libblas.so.3, again with it (see below).
# Writes benchmarks/results/pixel.json and pixel.md and splices the latter into BENCHMARKS.md.
#
# Usage: bash benchmarks/pixel/run.sh [K images, default 5]
#   OPENBLAS_DIR=/path/with/libblas.so.3   optional torch+OpenBLAS column (without installing it:
#       apt-get download libopenblas0-openmp && dpkg -x libopenblas0-openmp_*.deb DIR, then
#       OPENBLAS_DIR=DIR/usr/lib/x86_64-linux-gnu/openblas-openmp)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
k="${1:-5}"
py=/usr/bin/python3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "[pixel] building advx_bench_pixel" >&2
cmake --preset native >/dev/null
cmake --build --preset native -j 2 --target advx_bench_pixel >&2
bench=build/native/advx_bench_pixel
refblas=/usr/lib/x86_64-linux-gnu/blas
openblas="${OPENBLAS_DIR:-/usr/lib/x86_64-linux-gnu/openblas-openmp}"
start=$(date -u +"%Y-%m-%d %H:%M")
t0=$SECONDS
for model in small cifar_lenet; do
  echo "[pixel] advx $model, $k images" >&2
  "$bench" --model "$model" --images "$k" > "$tmp/advx_$model.json"
  echo "[pixel] scipy+torch $model (reference BLAS), $k images vectorized, 1 not" >&2
  LD_LIBRARY_PATH="$refblas" "$py" benchmarks/pixel/bench_scipy.py --model "$model" --images "$k" --plain-images 1 \
    > "$tmp/scipy_$model.json"
  if [ -e "$openblas/libblas.so.3" ]; then
    echo "[pixel] scipy+torch $model (OpenBLAS: $openblas), $k images vectorized, 1 not" >&2
    LD_LIBRARY_PATH="$openblas" OMP_NUM_THREADS=2 "$py" benchmarks/pixel/bench_scipy.py --model "$model" \
      --images "$k" --plain-images 1 > "$tmp/scipy_openblas_$model.json"
  fi
done
"$py" benchmarks/pixel/report.py --tmp "$tmp" --start "$start" --seconds $((SECONDS - t0)) --openblas "$openblas"
"$py" benchmarks/report.py --splice-pixel
