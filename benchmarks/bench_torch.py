"""PyTorch (Debian's 1.13, CPU) on the advx architectures, measured the way `advx bench` measures
the engine, for benchmarks/run.sh to put side by side.

  - forward and forward + input gradient images/s at batch 1, 64 and 256 for cnn and small
    (random inputs in [0,1] and random labels, like `advx bench`; the input gradient is
    d/dx sum CE(logits, y), with the weights' requires_grad off so no dL/dW is computed,
    which is what the engine's loss_input_gradient does);
  - one training epoch of `small` on the 60k MNIST training images: Adam lr 1e-3, batch 64,
    shuffled, PyTorch's default initialisation; wall time of the epoch loop (data already in memory);
  - one epoch of adversarial training of `small` with FGSM from a random start (Wong, Rice, Kolter
    2020, arXiv:2001.03994, their train_mnist.py: eps 0.3, alpha 0.375, batch 100, Adam, cyclic lr
    up to 5e-3 per batch), the random start clipped to [0, 1] as advx does; the attack's backward
    asks for the input gradient only (torch.autograd.grad), like the engine's, so neither side
    computes weight gradients it throws away.

Prints one JSON object. Run with /usr/bin/python3 (the one with torch).
Usage: /usr/bin/python3 benchmarks/bench_torch.py [--threads 2] [--reps 3] [--no-train] [--no-inference]
                                                 [--no-fgsm-rs]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
import arch as ref  # noqa: E402


def time_per_call(fn, reps):
    """Best-of-`reps` seconds per fn() call, each rep at least ~0.2 s of calls (as advx bench)."""
    fn()  # warm-up
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        t = time.perf_counter() - t0
        if t > 0.2 or calls > 1 << 20:
            break
        calls *= 2
    best = t / calls
    for _ in range(1, reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def bench_inference(out, reps):
    g = torch.Generator().manual_seed(7)
    for name in ("cnn", "small"):
        model = ref.make_model(name).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        for b in (1, 64, 256):
            x = torch.rand(b, 1, 28, 28, generator=g)
            y = torch.randint(0, 10, (b,), generator=g)

            def fwd():
                with torch.no_grad():
                    model(x)

            def fwdgrad():
                xg = x.clone().requires_grad_(True)
                loss = F.cross_entropy(model(xg), y, reduction="sum")
                torch.autograd.grad(loss, xg)

            k = "%s_b%d" % (name, b)
            out[k + "_fwd_img_s"] = b / time_per_call(fwd, reps)
            out[k + "_fwdgrad_img_s"] = b / time_per_call(fwdgrad, reps)


def bench_train(out):
    root = ref.data_dir(REPO)
    x, y = ref.load_mnist("train", root)
    xt, yt = ref.load_mnist("t10k", root)
    torch.manual_seed(1)
    model = ref.make_model("small").train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n, batch = x.shape[0], 64
    t0 = time.perf_counter()
    order = torch.randperm(n)
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        xb, yb = x[idx], y[idx]
        loss = F.cross_entropy(model(xb), yb)  # mean over the batch, as the engine
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    secs = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        acc = sum((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum().item()
                  for i in range(0, xt.shape[0], 1000)) / xt.shape[0]
    out["train_small_epoch_s"] = secs
    out["train_small_img_s"] = n / secs
    out["train_small_test_acc"] = acc


def bench_train_fgsmrs(out, epochs=1):
    """One epoch (of a one-epoch cyclic schedule, as `advx train --epochs 1 --lr-schedule cyclic`) of
    FGSM-RS adversarial training of `small`."""
    root = ref.data_dir(REPO)
    x, y = ref.load_mnist("train", root)
    xt, yt = ref.load_mnist("t10k", root)
    torch.manual_seed(0)
    model = ref.make_model("small").train()
    eps, alpha, lr_max, batch = 0.3, 0.375, 5e-3, 100
    opt = torch.optim.Adam(model.parameters(), lr=lr_max)
    n = x.shape[0]
    batches = (n + batch - 1) // batch

    def lr_at(t):  # Wong et al.'s triangle: 0 -> lr_max at 2/5 of the run -> 0
        peak = 0.4 * epochs
        return lr_max * (t / peak if t <= peak else max(0.0, (epochs - t) / (epochs - peak)))

    t0 = time.perf_counter()
    order = torch.randperm(n)
    for i, start in enumerate(range(0, n, batch)):
        idx = order[start:start + batch]
        xb, yb = x[idx], y[idx]
        for g in opt.param_groups:
            g["lr"] = lr_at((i + 1) / batches)
        delta = torch.empty_like(xb).uniform_(-eps, eps)
        delta = torch.max(torch.min(1 - xb, delta), 0 - xb).requires_grad_(True)
        loss = F.cross_entropy(model(xb + delta), yb)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = torch.clamp(delta.detach() + alpha * torch.sign(grad), -eps, eps)
        delta = torch.max(torch.min(1 - xb, delta), 0 - xb)
        loss = F.cross_entropy(model(xb + delta), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    secs = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        acc = sum((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum().item()
                  for i in range(0, xt.shape[0], 1000)) / xt.shape[0]
    out["fgsmrs_small_epoch_s"] = secs
    out["fgsmrs_small_img_s"] = n / secs
    out["fgsmrs_small_test_acc"] = acc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--no-inference", action="store_true")
    ap.add_argument("--no-fgsm-rs", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = {"torch_version": torch.__version__, "threads": torch.get_num_threads()}
    if not args.no_inference:
        bench_inference(out, args.reps)
    if not args.no_train:
        bench_train(out)
    if not args.no_fgsm_rs:
        bench_train_fgsmrs(out)
    out["blas"] = loaded_blas()
    print(json.dumps(out))


def loaded_blas():
    """The BLAS library this process actually mapped (Debian's torch calls libblas.so.3 for Linear;
    which library that is depends on the system's alternatives and LD_LIBRARY_PATH)."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "blas" in os.path.basename(path):
                libs.add(os.path.realpath(path))
    return ", ".join(sorted(libs)) or "unknown"


if __name__ == "__main__":
    main()
