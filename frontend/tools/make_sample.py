#!/usr/bin/env python3
"""Writes the first N MNIST test images and labels as gzipped IDX files (the playground's
"random test image" pool and its robustness batch).

usage: make_sample.py t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz N out_dir
"""
import gzip
import os
import struct
import sys


def main():
    images_gz, labels_gz, n, out_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with gzip.open(images_gz, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, f"{images_gz}: not an IDX image file"
        n = min(n, count)
        pixels = f.read(n * rows * cols)
    with gzip.open(labels_gz, "rb") as f:
        magic, count = struct.unpack(">II", f.read(8))
        assert magic == 0x801, f"{labels_gz}: not an IDX label file"
        labels = f.read(n)
    os.makedirs(out_dir, exist_ok=True)
    # mtime=0: the same input gives byte-identical output.
    with open(os.path.join(out_dir, "test-images.idx.gz"), "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(struct.pack(">IIII", 0x803, n, rows, cols) + pixels)
    with open(os.path.join(out_dir, "test-labels.idx.gz"), "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(struct.pack(">II", 0x801, n) + labels)


if __name__ == "__main__":
    main()
