"""The advx architectures as PyTorch nn.Sequential, plus plain-Python readers for safetensors
files, MNIST and the exact CIFAR-10 subsets, so the engine can be checked against an independent
implementation.

Run with Debian's Python (/usr/bin/python3), which has PyTorch 1.13 and numpy.

The layer order (and so the parameter names "<index>.weight" / "<index>.bias") must match
engine/models.cpp exactly: load_safetensors_model() loads with strict=True, so any difference in
names or shapes is an error rather than a silent mismatch.
"""
import gzip
import json
import os
import struct

import numpy as np
import torch
from torch import nn


def make_model(arch):
    """The architecture `arch` as an nn.Sequential; input [N,1,28,28] (MNIST) or [N,3,32,32]
    (cifar_lenet) pixels in [0,1]. The autoencoders (ae_conv, ae_dense) output the reconstruction
    flattened to [N, 784]."""
    if arch == "softmax":
        layers = [nn.Flatten(), nn.Linear(784, 10)]
    elif arch == "fc500":
        layers = [nn.Flatten(),
                  nn.Linear(784, 500), nn.ReLU(),
                  nn.Linear(500, 150), nn.ReLU(),
                  nn.Linear(150, 10)]
    elif arch == "cnn":
        layers = [nn.Conv2d(1, 32, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2, 2),
                  nn.Conv2d(32, 64, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2, 2),
                  nn.Flatten(),
                  nn.Linear(7 * 7 * 64, 1024), nn.ReLU(),
                  nn.Linear(1024, 10)]
    elif arch == "small":
        layers = [nn.Conv2d(1, 16, 4, 2, 1), nn.ReLU(),
                  nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU(),
                  nn.Flatten(),
                  nn.Linear(32 * 7 * 7, 100), nn.ReLU(),
                  nn.Linear(100, 10)]
    elif arch == "ae_conv":
        # MagNet's MNIST autoencoder (Meng & Chen 2017); output flattened like the engine's.
        layers = [nn.Conv2d(1, 3, 3, 1, 1), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                  nn.Conv2d(3, 3, 3, 1, 1), nn.Sigmoid(),
                  nn.Conv2d(3, 3, 3, 1, 1), nn.Sigmoid(),
                  nn.Upsample(scale_factor=2, mode="nearest"),
                  nn.Conv2d(3, 3, 3, 1, 1), nn.Sigmoid(),
                  nn.Conv2d(3, 1, 3, 1, 1), nn.Sigmoid(),
                  nn.Flatten()]
    elif arch == "ae_dense":
        layers = [nn.Flatten(), nn.Linear(784, 256), nn.Sigmoid(), nn.Linear(256, 784), nn.Sigmoid()]
    elif arch == "cifar_lenet":
        layers = [nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                  nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                  nn.Flatten(),
                  nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
                  nn.Linear(120, 84), nn.ReLU(),
                  nn.Linear(84, 10)]
    else:
        raise ValueError("unknown architecture %r (%s)" % (arch, ", ".join(ARCHS)))
    return nn.Sequential(*layers)


ARCHS = ["softmax", "fc500", "cnn", "small", "cifar_lenet", "ae_conv", "ae_dense"]
# Autoencoders: their "logits" are the flattened reconstruction (784 outputs); shipped under
# assets/models/autoencoders/.
AUTOENCODERS = {"ae_conv", "ae_dense"}

# safetensors dtype names -> numpy dtypes (little-endian), for the dtypes we may meet.
_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1", "I8": "i1"}


def read_safetensors(path):
    """Returns (tensors, metadata): {name: numpy array}, {str: str}.

    Format: 8-byte little-endian header length, a JSON header
    {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw
    little-endian data; offsets are relative to the first byte after the header.
    """
    with open(path, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    base = 8 + hlen
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dt = np.dtype(_DTYPES[info["dtype"]])
        arr = np.frombuffer(blob, dtype=dt, count=(end - begin) // dt.itemsize, offset=base + begin)
        tensors[name] = arr.reshape(info["shape"]).copy()
    return tensors, meta


def load_safetensors_model(path, dtype=torch.float32):
    """Builds the model named by the file's "advx.arch" metadata and loads its weights
    (strict=True). Returns (model in eval mode, arch name, metadata)."""
    tensors, meta = read_safetensors(path)
    arch = meta.get("advx.arch")
    if arch is None:
        raise ValueError("%s has no 'advx.arch' metadata" % path)
    model = make_model(arch)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    model.load_state_dict(state, strict=True)
    return model.to(dtype).eval(), arch, meta


def data_dir(repo_root):
    """$ADVX_DATA if set, else ../shared/data beside the repo (the engine's own rule)."""
    env = os.environ.get("ADVX_DATA")
    if env:
        return env
    return os.path.join(repo_root, "..", "shared", "data")


def read_idx_gz(path):
    """A gzip'd IDX file (unsigned-byte data) as a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    dtype_code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    if dtype_code != 0x08:
        raise ValueError("%s: only unsigned-byte IDX files are supported" % path)
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(split, root, n=None):
    """(images float32 [N,1,28,28] in [0,1] as x/255, labels int64 [N]) of 'train' or 't10k'."""
    d = os.path.join(root, "mnist")
    x = read_idx_gz(os.path.join(d, "%s-images-idx3-ubyte.gz" % split))
    y = read_idx_gz(os.path.join(d, "%s-labels-idx1-ubyte.gz" % split))
    if n is not None:
        x, y = x[:n], y[:n]
    x = torch.from_numpy(x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(y.astype(np.int64))


def load_cifar10_exact(split, root, n=None):
    """(images float32 [N,3,32,32] in [0,1] as x/255, labels int64 [N]) of the exact CIFAR-10
    subsets: 'test' (test images 0-999) or 'train' (training images 0-3999). Records of 3073 bytes:
    a label, then 1024 R, 1024 G, 1024 B values (shared/data/cifar-10/README.md)."""
    name = {"test": "test_batch_first1000.bin.gz", "train": "data_batch_1_first4000.bin.gz"}[split]
    with gzip.open(os.path.join(root, "cifar-10", "lossless", name), "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8).reshape(-1, 3073)
    if n is not None:
        raw = raw[:n]
    x = torch.from_numpy(raw[:, 1:].astype(np.float32) / 255.0).reshape(-1, 3, 32, 32)
    return x, torch.from_numpy(raw[:, 0].astype(np.int64))
