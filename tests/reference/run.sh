#!/usr/bin/env bash
# PyTorch reference check of the engine: logits, input gradients and FGSM accuracy of the shipped
# models against PyTorch 1.13 (Debian's python3-torch, hence /usr/bin/python3 explicitly).
# Usage: bash tests/reference/run.sh [path/to/advx] [model.safetensors ...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
advx="${1:-$here/../../build/native/advx}"
shift || true
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  echo "tests/reference: /usr/bin/python3 lacks torch/numpy (apt-get install python3-torch python3-numpy)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
exec /usr/bin/python3 "$here/check_torch.py" --advx "$advx" "$@"
