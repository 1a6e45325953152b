"""Exports shipped advx models to ONNX for the ONNX Runtime Web anchor of the web benchmark
(bench.js, ort_bench.js): the architecture from tests/reference/arch.py (PyTorch, the same layer
order as engine/models.cpp), the weights from OUR safetensors file, a dynamic batch dimension,
softmax appended (the output is advx.classify's: probabilities). Written at benchmark time into
build/bench-web/onnx/, never committed.

Run with Debian's Python (torch 1.13; the `onnx` package is not needed for export):
    /usr/bin/python3 benchmarks/web/export_onnx.py OUT_DIR cnn small
"""
import os
import sys

import torch
from torch import nn

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
import arch  # noqa: E402


def export(name, out_dir):
    model, _, _ = arch.load_safetensors_model(os.path.join(REPO, "assets", "models", name + ".safetensors"))
    model = nn.Sequential(model, nn.Softmax(dim=1)).eval()
    x = torch.zeros(1, 1, 28, 28)
    path = os.path.join(out_dir, name + ".onnx")
    with torch.no_grad():
        torch.onnx.export(model, x, path, input_names=["x"], output_names=["p"],
                          dynamic_axes={"x": {0: "n"}, "p": {0: "n"}}, opset_version=13)
    return path


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: export_onnx.py OUT_DIR MODEL...")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name in sys.argv[2:]:
        path = export(name, out_dir)
        print("%s %d bytes" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
