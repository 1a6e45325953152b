#!/usr/bin/env bash
# PyTorch reference check of the engine against PyTorch 1.13 (Debian's python3-torch, hence
# /usr/bin/python3 explicitly):
#   check_torch.py  logits, input gradients and FGSM accuracy of the shipped MNIST models;
#   check_rnn.py    Embedding / LSTM / GRU / SequenceModel outputs and gradients, from the dump that
#                   advx_tests "[.rnn-reference]" (beside the advx binary) writes;
#   check_squeeze.py  the feature squeezers against numpy / scipy (Xu et al.'s functions), from the
#                   dump of advx_tests "[.squeeze-reference]".
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
rc=0
/usr/bin/python3 "$here/check_torch.py" --advx "$advx" "$@" || rc=1

tests_bin="$(dirname "$advx")/advx_tests"
dump="$(mktemp -d)/rnn_reference.safetensors"
if ADVX_RNN_DUMP="$dump" "$tests_bin" "[.rnn-reference]" >/dev/null; then
  /usr/bin/python3 "$here/check_rnn.py" "$dump" || rc=1
else
  echo "tests/reference: '$tests_bin \"[.rnn-reference]\"' failed to write $dump (build advx_tests first)" >&2
  rc=1
fi
rm -rf "$(dirname "$dump")"
sq="$(mktemp -d)/squeeze_reference.safetensors"
if ADVX_SQUEEZE_DUMP="$sq" "$tests_bin" "[.squeeze-reference]" >/dev/null; then
  /usr/bin/python3 "$here/check_squeeze.py" "$sq" || rc=1
else
  echo "tests/reference: '$tests_bin \"[.squeeze-reference]\"' failed to write $sq" >&2
  rc=1
fi
rm -rf "$(dirname "$sq")"
exit $rc
