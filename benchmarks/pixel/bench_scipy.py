"""The peer of benchmarks/pixel/bench_pixel.cpp: the one-pixel attack as the Python libraries run
it, SciPy's differential_evolution driving the same weights in PyTorch on the CPU, on the same
images with the same settings, so benchmarks/pixel/run.sh can put the two side by side.

Settings, in SciPy's terms (scipy.optimize.differential_evolution, SciPy 1.10):
  strategy='rand1bin'   mutant b = x_r0 + F (x_r1 - x_r2), r0, r1, r2 distinct and != the
                        candidate: the paper's rule (and advx's)
  mutation=0.5          a float is a constant F (a tuple would dither F per generation)
  recombination=1.0     binomial crossover takes each parameter from the mutant with probability
                        CR; with CR = 1 every parameter does: no crossover, as in the paper
  init=<400 x D array>  the paper's initial distribution (x, y uniform, values N(128, 127)/255
                        clipped), so the population is 400 whatever D is (popsize is a multiplier
                        of D otherwise); maxiter=100 generations; polish=False (no L-BFGS-B at the
                        end); tol=0, atol=-1: SciPy's convergence test never stops the run, so
                        every run costs (maxiter + 1) x 400 = 40,400 evaluations, like advx's with
                        early stop off; updating='deferred' (a generation is evaluated, then
                        selected: the paper's scheme, and what vectorized=True requires)
  vectorized=True       func gets the whole population (D x S) in one call: one PyTorch forward
                        of 400 images per generation. This is what Hyperparticle's
                        one-pixel-attack-keras and ART's PixelAttack get from the patched copy of
                        SciPy's DE they vendor (it passes the whole population to the model).
  vectorized=False      plain SciPy: one call, i.e. one batch-1 forward, per candidate (measured
                        on fewer images: it is slow).
The fitness is p_label (softmax), minimised: the paper's untargeted fitness. Candidates are applied
with numpy fancy indexing (faster than ART's per-candidate Python loop: a generous peer).

Prints one JSON object. Run with /usr/bin/python3 (the one with torch and scipy).
Usage: bench_scipy.py --model small|cifar_lenet [--images K] [--plain-images K2] [--threads 2]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import scipy
import torch
from scipy.optimize import differential_evolution

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
import arch as ref  # noqa: E402


def first_correct(model, x, y, k):
    with torch.no_grad():
        pred = model(x).argmax(1)
    idx = [i for i in range(x.shape[0]) if pred[i] == y[i]][:k]
    return idx


def attack(model, img, label, pixels, pop, gens, vectorized, seed):
    """One SciPy DE run on one image [C, H, W]; returns (seconds, evaluations, fooled, model calls)."""
    c, h, w = img.shape
    genes = 2 + c
    bounds = [(0, w), (0, h)] + [(0, 1)] * c
    bounds = bounds * pixels
    rng = np.random.default_rng(seed)
    init = np.empty((pop, genes * pixels))
    for p in range(pixels):
        init[:, p * genes] = rng.uniform(0, w, pop)
        init[:, p * genes + 1] = rng.uniform(0, h, pop)
        init[:, p * genes + 2:(p + 1) * genes] = np.clip(rng.normal(128 / 255, 127 / 255, (pop, c)), 0, 1)
    base = img.numpy()
    calls = [0, 0]  # model calls, evaluations (SciPy 1.10's nfev counts calls when vectorized)

    def perturb(xs):  # xs [S, D] -> images [S, C, H, W]
        s = xs.shape[0]
        out = np.repeat(base[None], s, axis=0)
        rows = np.arange(s)
        for p in range(pixels):
            g = xs[:, p * genes:(p + 1) * genes]
            px = np.minimum(g[:, 0].astype(int), w - 1)
            py = np.minimum(g[:, 1].astype(int), h - 1)
            out[rows, :, py, px] = np.round(g[:, 2:] * 255) / 255
        return out

    def fitness(xs):
        batch = xs.T if vectorized else xs[None, :]
        calls[0] += 1
        calls[1] += batch.shape[0]
        with torch.no_grad():
            p = torch.softmax(model(torch.from_numpy(perturb(batch).astype(np.float32))), 1)[:, label]
        return p.numpy().astype(np.float64) if vectorized else float(p[0])

    t0 = time.perf_counter()
    r = differential_evolution(fitness, bounds, strategy="rand1bin", maxiter=gens, init=init, mutation=0.5,
                               recombination=1.0, tol=0, atol=-1, polish=False, updating="deferred",
                               vectorized=vectorized, seed=seed)
    t = time.perf_counter() - t0
    with torch.no_grad():
        fooled = int(model(torch.from_numpy(perturb(r.x[None, :]).astype(np.float32))).argmax(1)[0] != label)
    return t, calls[1], fooled, calls[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="small")
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--plain-images", type=int, default=1, help="images for the non-vectorized run (0: skip)")
    ap.add_argument("--pixels", type=int, default=1)
    ap.add_argument("--pop", type=int, default=400)
    ap.add_argument("--gens", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, arch, meta = ref.load_safetensors_model(os.path.join(REPO, "assets", "models", args.model + ".safetensors"))
    for p in model.parameters():
        p.requires_grad_(False)
    root = ref.data_dir(REPO)
    if arch == "cifar_lenet":
        x, y = ref.load_cifar10_exact("test", root, 200)
    else:
        x, y = ref.load_mnist("t10k", root, 200)
    idx = first_correct(model, x, y, args.images)
    out = {"model": args.model, "images": idx, "pixels": args.pixels, "pop": args.pop, "gens": args.gens,
           "threads": torch.get_num_threads(), "torch": torch.__version__, "scipy": scipy.__version__,
           "numpy": np.__version__, "load_start": os.getloadavg()[0]}
    # Plain forward of one generation's batch, timed like advx bench (best of reps, >= 0.2 s each).
    xb = x[idx[0]:idx[0] + 1].repeat(args.pop, 1, 1, 1)
    best = float("inf")
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            with torch.no_grad():
                model(xb)
        t = time.perf_counter() - t0
        if t > 0.2:
            break
        calls *= 2
    best = t / calls
    for _ in range(1, args.reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            with torch.no_grad():
                model(xb)
        best = min(best, (time.perf_counter() - t0) / calls)
    out["forward_batch"] = args.pop
    out["forward_img_s"] = args.pop / best

    secs, evals, fooled = [], 0, 0
    for n, i in enumerate(idx):
        t, nfev, f, calls = attack(model, x[i], int(y[i]), args.pixels, args.pop, args.gens, True, n + 1)
        secs.append(t)
        evals += nfev
        fooled += f
    out["vectorized_seconds"] = secs
    out["vectorized_seconds_per_image"] = sum(secs) / len(secs)
    out["vectorized_evaluations_per_image"] = evals // len(idx)
    out["vectorized_eval_s"] = evals / sum(secs)
    out["vectorized_fraction_of_forward"] = evals / sum(secs) / out["forward_img_s"]
    out["vectorized_fooled"] = fooled
    if args.plain_images > 0:
        secs, evals = [], 0
        for n, i in enumerate(idx[:args.plain_images]):
            t, nfev, f, calls = attack(model, x[i], int(y[i]), args.pixels, args.pop, args.gens, False, n + 1)
            secs.append(t)
            evals += nfev
        out["plain_seconds"] = secs
        out["plain_seconds_per_image"] = sum(secs) / len(secs)
        out["plain_evaluations_per_image"] = evals // len(secs)
        out["plain_model_calls_per_image"] = calls
    out["load_end"] = os.getloadavg()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
