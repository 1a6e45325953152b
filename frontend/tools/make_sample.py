#!/usr/bin/env python3
"""Writes a dataset's first N test images as the playground's sample file: gzip (mtime 0, so the
same input gives the same bytes) of N records, each 1 label byte then C*H*W pixel bytes (CHW,
row-major) -- CIFAR-10's binary record layout, used for every dataset. The shape and the class
names go into the manifest (make_manifest.py --dataset).

usage: make_sample.py mnist   t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz N OUT.bin.gz
       make_sample.py cifar10 test_batch_first1000.bin.gz N OUT.bin.gz
       make_sample.py text    FILE OUT.gz

`text` is for the sequence datasets: the dataset file itself (SMSSpamCollection, the MalbehavD
CSV), gzipped, so the playground's engine reads it as the CLI does (its sha256, the seeded split,
the vocabulary) and shows the same test split; there is no smaller file that keeps the split, the
training data a transition model is fitted on and the validation samples thresholds are set on.
"""
import gzip
import os
import struct
import sys


def mnist(images_gz, labels_gz, n):
    with gzip.open(images_gz, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, f"{images_gz}: not an IDX image file"
        n = min(n, count)
        pixels = f.read(n * rows * cols)
    with gzip.open(labels_gz, "rb") as f:
        magic, count = struct.unpack(">II", f.read(8))
        assert magic == 0x801, f"{labels_gz}: not an IDX label file"
        labels = f.read(n)
    size = rows * cols
    return b"".join(labels[i:i + 1] + pixels[i * size:(i + 1) * size] for i in range(n))


def cifar10(bin_gz, n):
    with gzip.open(bin_gz, "rb") as f:
        data = f.read()
    assert len(data) % 3073 == 0, f"{bin_gz}: not CIFAR-10 binary records"
    return data[: min(n, len(data) // 3073) * 3073]


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("mnist", "cifar10", "text"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "text":
        with open(sys.argv[2], "rb") as f:
            records, out = f.read(), sys.argv[3]
    elif sys.argv[1] == "mnist":
        records, out = mnist(sys.argv[2], sys.argv[3], int(sys.argv[4])), sys.argv[5]
    else:
        records, out = cifar10(sys.argv[2], int(sys.argv[3])), sys.argv[4]
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(records)


if __name__ == "__main__":
    main()
