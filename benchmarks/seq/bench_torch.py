"""The peer of benchmarks/seq/bench_seq.cpp: the same LSTM training epochs in PyTorch (Debian's
1.13, CPU), on the training split and recipe that `advx_bench_seq --dump FILE` wrote, so
benchmarks/seq/run.sh can put the two side by side.

The model is SeqClassifier of tests/reference/check_rnn.py (the module engine/sequence_model.h
mirrors): nn.Embedding (no padding_idx, as the engine), nn.LSTM(batch_first=True) over
pack_padded_sequence(enforce_sorted=False), its last hidden state into nn.Linear. PyTorch's default
initialisation after torch.manual_seed(1).

One epoch, as engine/train/sequence_train.cpp: a fresh shuffle of the whole split (before the
clock starts, as there), then per batch of 32: pad the batch to its longest sequence with id 0,
forward, mean cross-entropy, loss.item() and the argmax count (the engine checks the loss is finite
and counts correct predictions every batch), zero_grad, backward, clip_grad_norm_ when the recipe
clips, Adam step (lr from the dump, betas 0.9 / 0.999). Each sequence is a LongTensor before the
first epoch (the engine's split holds int32 vectors in memory); the padding is inside the epoch.

Prints one JSON object with the fields of advx_bench_seq's. Run with /usr/bin/python3 (the one
with torch); LD_LIBRARY_PATH picks the BLAS Debian's torch calls for its matrix products.
Usage: bench_torch.py --dump FILE [--epochs 3] [--threads 1]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
from check_rnn import SeqClassifier  # noqa: E402


def load_bench_torch():
    """benchmarks/bench_torch.py as a module (its name clashes with this file's), for loaded_blas()."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("advx_bench_torch", os.path.join(REPO, "benchmarks", "bench_torch.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.dump) as f:
        d = json.load(f)
    seqs = [torch.tensor(s, dtype=torch.long) for s in d["sequences"]]
    lens = torch.tensor([len(s) for s in d["sequences"]], dtype=torch.long)
    labels = torch.tensor(d["labels"], dtype=torch.long)
    n, batch, clip = len(seqs), d["batch"], d["clip"]

    torch.manual_seed(1)
    model = SeqClassifier("lstm", d["vocab"], d["embed"], d["hidden"], d["classes"]).train()
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=d["lr"])
    out = {"side": "torch", "dataset": d["dataset"], "vocab": d["vocab"], "classes": d["classes"], "samples": n,
           "tokens": int(lens.sum()), "embed": d["embed"], "hidden": d["hidden"], "batch": batch, "lr": d["lr"],
           "clip": clip, "steps_per_epoch": (n + batch - 1) // batch, "threads": torch.get_num_threads(),
           "epochs": args.epochs, "params": sum(p.numel() for p in params), "torch": torch.__version__,
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
           "load_start": os.getloadavg()[0]}
    secs, losses = [], []
    for _ in range(args.epochs):
        order = torch.randperm(n).tolist()
        t0 = time.perf_counter()
        loss_sum, correct = 0.0, 0
        for begin in range(0, n, batch):
            idx = order[begin:begin + batch]
            ids = pad_sequence([seqs[i] for i in idx], batch_first=True, padding_value=0)
            yb = labels[idx]
            logits = model.forward_embedded(model.embedding(ids), lens[idx])
            loss = F.cross_entropy(logits, yb)  # mean over the batch, as the engine
            lv = loss.item()
            if lv != lv or abs(lv) == float("inf"):
                raise SystemExit("training diverged (loss is not finite)")
            correct += int((logits.detach().argmax(1) == yb).sum())
            opt.zero_grad(set_to_none=False)  # the engine zeroes its gradient buffers
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            loss_sum += lv * len(idx)
        secs.append(time.perf_counter() - t0)
        losses.append(loss_sum / n)
    out["load_end"] = os.getloadavg()[0]
    out["epoch_seconds"] = secs
    out["epoch_loss"] = losses
    out["median_epoch_seconds"] = statistics.median(secs)
    out["median_epoch_seconds_after_first"] = statistics.median(secs[1:] if len(secs) > 1 else secs)
    out["blas"] = load_bench_torch().loaded_blas()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
