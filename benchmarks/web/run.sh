#!/usr/bin/env bash
# advx web performance benchmark, one command:
#
#   bash benchmarks/web/run.sh [bench.js options]        (node benchmarks/web/bench.js --help)
#
# Needs: build/web (cmake --preset web && cmake --build --preset web), optionally build/web-nosimd
# (cmake --preset web -B build/web-nosimd -DADVX_WASM_SIMD=OFF && cmake --build build/web-nosimd) for
# the SIMD comparison, and build/native (cmake --preset native && cmake --build --preset native) for
# the WASM vs native ratio. Installs TF.js into benchmarks/web/node_modules (npm ci) if missing,
# builds the native timing harness, then runs everything in one headless Chromium (~2-3 min) and
# writes benchmarks/results/web.json and benchmarks/results/web.md.
# Run it on an otherwise idle machine: the load averages at start and end are recorded.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

if [ ! -f node_modules/@tensorflow/tfjs-backend-wasm/package.json ] || [ ! -f node_modules/playwright-core/package.json ] || [ ! -f node_modules/onnxruntime-web/package.json ]; then
  echo "[run.sh] npm ci (TF.js 4.22.0, ONNX Runtime Web 1.30.0, playwright-core 1.65.1)" >&2
  npm ci --no-audit --no-fund >&2
fi

# Native harness: the same single-image calls against build/native/libadvx_engine.a.
lib="$repo/build/native/libadvx_engine.a"
bin="$repo/build/bench-web/native_calls"
if [ -f "$lib" ]; then
  if [ ! -x "$bin" ] || [ "$lib" -nt "$bin" ] || [ native_calls.cpp -nt "$bin" ]; then
    echo "[run.sh] g++ native_calls.cpp -> build/bench-web/native_calls" >&2
    mkdir -p "$(dirname "$bin")"
    g++ -std=c++17 -O3 -march=native -fopenmp -DNDEBUG -DEIGEN_MPL2_ONLY \
        -I"$repo" -I/usr/include/eigen3 -I/usr/include/stb \
        native_calls.cpp "$lib" -o "$bin" \
      || { echo "[run.sh] native harness did not build (engine headers newer than build/native? rebuild it: cmake --build --preset native); continuing without native numbers" >&2; rm -f "$bin"; }
  fi
else
  echo "[run.sh] no $lib: no native numbers (cmake --preset native && cmake --build --preset native)" >&2
fi

node bench.js "$@"
/usr/bin/python3 "$repo/benchmarks/report.py" --splice-web
