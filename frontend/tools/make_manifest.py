#!/usr/bin/env python3
"""Writes the playground's manifest: what each shipped model is, read from the safetensors headers,
and each dataset's sample file, so the app can list every model (name, architecture, dataset,
size, test accuracy) without downloading any of them. The web build fetches a model's or a
sample's file only when it is first needed.

usage: make_manifest.py OUT.json DEFAULT_MODEL URL_PREFIX [--root DIR] MODEL.safetensors...
           [--dataset NAME FILE URL C,H,W class0,class1,... EPS_MAX]...
           [--sequences NAME FILE URL]...

URL_PREFIX is where the model files are, relative to the page (web) or the asset folder (native),
e.g. "models/". With --root (the source's assets/models), a model's name is its path under DIR
without ".safetensors" ("cnn", "sequence/sms_lstm") and its file URL_PREFIX + that path; without
it, the file's base name. Models in sub-folders are companions ("companion": true): loaded by a
defence or the sequence view that names them, not listed as models to pick. Each model's "domain"
comes from its header: "sequences" for a sequence model (advx.arch seq-lstm / seq-gru), else
"images". A dataset NAME with a slash ("mnist/train") is a whole split for the defences, not a
dataset of its own. DEFAULT_MODEL is used if it is among the models, else the first one. Each
--dataset names a sample file (make_sample.py) to describe, its URL relative to the asset folder
(native) or the page (web), its shape, its class names, and the largest L-inf budget worth a
robustness curve (0.3 for MNIST, 16/255 for CIFAR-10: the ranges the literature reports). Each
--sequences names a sequence dataset's file (make_sample.py text: the dataset file the engine
reads, gzipped), domain "sequences".
"""
import hashlib
import json
import os
import struct
import sys

ORDER = ["softmax", "fc500", "small", "cnn", "cifar_lenet"]  # MNIST's simplest first, then CIFAR-10


def describe(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise SystemExit(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise SystemExit(f"{path}: header length {n} exceeds the file")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    params = 0
    for name, t in header.items():
        count = 1
        for d in t["shape"]:
            count *= d
        params += count
    acc = meta.get("advx.test_acc")
    try:
        acc = float(acc) if acc is not None else None
        if acc is not None and acc > 1.0:
            acc /= 100.0
    except ValueError:
        acc = None
    arch = meta.get("advx.arch", "")
    return {
        "domain": "sequences" if arch.startswith("seq-") else "images",
        "dataset": meta.get("advx.dataset", "mnist"),
        "arch": meta.get("advx.arch", ""),
        "params": params,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "test_acc": acc,
    }


def file_entry(path, url):
    """A sample or dataset file as the manifest lists it: where the page finds it, its size and hash."""
    with open(path, "rb") as f:
        data = f.read()
    return {"file": url, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    out, default, prefix, rest = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    files, datasets, root = [], {}, None
    while rest:
        if rest[0] == "--root":
            root = rest[1]
            rest = rest[2:]
        elif rest[0] == "--sequences":
            name, path, url = rest[1:4]
            datasets[name] = dict(file_entry(path, url), domain="sequences")
            rest = rest[4:]
        elif rest[0] == "--dataset":
            name, path, url, shape, classes, eps_max = rest[1:7]
            datasets[name] = {
                **file_entry(path, url),
                "shape": [int(v) for v in shape.split(",")],
                "classes": classes.split(","),
                "eps_max": float(eps_max),
            }
            rest = rest[7:]
        else:
            files.append(rest[0])
            rest = rest[1:]
    models = []
    for path in files:
        rel = os.path.relpath(path, root).replace(os.sep, "/") if root else os.path.basename(path)
        if rel.startswith(".."):
            raise SystemExit(f"{path} is not inside --root {root}")
        name = rel[: -len(".safetensors")] if rel.endswith(".safetensors") else os.path.splitext(rel)[0]
        entry = {"name": name, "file": prefix + rel}
        if "/" in name:
            entry["companion"] = True
        entry.update(describe(path))
        models.append(entry)
    rank = lambda m: (bool(m.get("companion")), ORDER.index(m["name"]) if m["name"] in ORDER else len(ORDER), m["name"])
    models.sort(key=rank)
    names = [m["name"] for m in models if not m.get("companion")]
    manifest = {
        "default": default if default in names else (names[0] if names else ""),
        "models": models,
        "datasets": datasets,
    }
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
