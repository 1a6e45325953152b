"""Checks the advx engine against PyTorch on shipped models.

For each model file: load it into the PyTorch nn.Sequential of tests/reference/arch.py, run
`advx dump` on the first N (default 1000) test images of the model's dataset (MNIST; for CIFAR-10
models the exact pixels of test images 0-999, dataset cifar10-exact, since the JPEG copy would need
a JPEG decoder on the PyTorch side), and compare
  1. logits:          max |advx - torch|                    <= 1e-4 (absolute)
  2. input gradients: max |advx - torch| / max |torch grad| <= 1e-4 (relative to the largest),
     the gradient being d/dx of the SUM over the batch of cross-entropy with the true labels;
     images where a max-pool window has a near-tie (top two inputs not equal, but within 4x the
     float32 rounding error at that layer, in float64 or in the engine's own numbers) are left out
     of this rule and counted, since there the gradient is discontinuous and rounding decides
     which element gets it;
     For the autoencoders (assets/models/autoencoders/, arch.AUTOENCODERS) the "logits" are the
     784 reconstructed pixels and the gradient is that of the same summed cross-entropy over them
     (advx dump's functional: any scalar exercises every layer's backward); check 3 does not apply.
  3. FGSM eps 0.3 (MNIST) or 8/255 (CIFAR-10):
                      |adv_acc(torch) - adv_acc(advx eval --json)| <= 0.5 percentage points
     (and clean accuracy within the same bound).
Torch runs in float32 (what the engine uses). When a float32 difference is over its bound, the
float64 PyTorch result is the second opinion: the check passes if advx is within the bound of the
float64 answer (the engine is then as right as the float32 reference can tell). Both numbers and
the torch float32-vs-float64 gap (the float32 noise floor) are printed.

Prints one line per check and finally `N passed, N failed`; exits 1 if any check failed.

Usage: /usr/bin/python3 tests/reference/check_torch.py [--advx build/native/advx] [--n 1000] [MODEL.safetensors ...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LOGIT_TOL = 1e-4   # absolute
GRAD_TOL = 1e-4    # relative to max |grad|
FGSM_TOL = 0.5     # percentage points
TIE_FACTOR = 4.0   # a max-pool window whose top two inputs are within 4x float32 rounding is a near-tie
# Per dataset of the model file ("advx.dataset"): the images the check runs on (advx's dataset name)
# and the FGSM budget, the usual one for that dataset.
CHECK_DATA = {"mnist": ("mnist", 0.3), "cifar10": ("cifar10-exact", 8.0 / 255.0)}


class Report:
    """Counts and prints check results, one line each."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, name, detail):
        print("%s  %-28s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def logits_and_grad(model, x, y):
    """Logits, d/dx sum_i CE(logits_i, y_i), and the inputs of every MaxPool2d layer (captured by
    forward hooks, in layer order, as (module, tensor)), all in the dtype of `model` and x."""
    pools = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: pools.append((mod, inp[0].detach())))
             for m in model.modules() if isinstance(m, torch.nn.MaxPool2d)]
    x = x.clone().requires_grad_(True)
    logits = model(x)
    for h in hooks:
        h.remove()
    loss = F.cross_entropy(logits, y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return logits.detach(), grad, pools


def near_tie_images(pools32, pools64, engine_pools=None, factor=TIE_FACTOR):
    """Boolean [N]: images where some max-pool window's two largest inputs differ (in float64),
    but by no more than `factor` times the float32 rounding error seen at that layer in that
    image (max |float32 - float64| over the layer's input, PyTorch's float32 standing in for
    any float32 implementation, the engine's included). pools32/pools64 come from logits_and_grad.

    There the input gradient is discontinuous: which element gets the window's gradient (the
    subgradient choice) is decided by rounding, so two float32 implementations cannot be expected
    to agree to 1e-4. Exact ties (e.g. flat background, where every position equals the bias) are
    not counted: they come out exactly equal in every implementation and, like PyTorch, the engine
    gives the gradient to the first maximum.

    engine_pools (the engine's own max-pool inputs, `advx dump --pool-inputs`, in layer order)
    adds the same test in the engine's numbers: a window counts if, there, some input differs from
    the window's maximum by no more than `factor` times the engine's rounding error (max |advx -
    float64|). Needed for photos: a flat region gives equal patches, so an exact tie in float64
    and in PyTorch's float32, but the engine's products round a column by where it falls in
    Eigen's blocking, so the same tie can come out a few ulps apart (CIFAR-10 test image 883)."""
    flags = None
    for k, ((mod, t32), (_, t64)) in enumerate(zip(pools32, pools64)):
        n = t64.shape[0]
        err = (t32.double() - t64).reshape(n, -1).abs().amax(1)  # per-image float32 rounding level
        win = F.unfold(t64, mod.kernel_size, stride=mod.stride)  # [N, C*k*k, L]
        win = win.reshape(n, t64.shape[1], -1, win.shape[-1])  # [N, C, k*k, L]
        top = win.topk(2, dim=2).values
        gap = top[:, :, 0] - top[:, :, 1]
        near = ((gap > 0) & (gap <= factor * err[:, None, None])).reshape(n, -1).any(1)
        if engine_pools is not None:
            e = engine_pools[k]
            err_e = (e - t64).reshape(n, -1).abs().amax(1)
            we = F.unfold(e, mod.kernel_size, stride=mod.stride).reshape(n, e.shape[1], -1, win.shape[-1])
            top_e = we.max(dim=2, keepdim=True).values
            rival = (we < top_e) & (we >= top_e - factor * err_e[:, None, None, None])
            near = near | rival.reshape(n, -1).any(1)
        flags = near if flags is None else flags | near
    return flags


def fgsm_adv_acc(model, x, y, logits, grad, eps):
    """Adversarial accuracy under untargeted FGSM, attacking only the correctly classified images
    (misclassified ones are left as they are and stay wrong), like `advx eval --attack fgsm`.
    logits and grad are the model's at x (from logits_and_grad). Returns (adv_acc, clean_acc)."""
    correct = logits.argmax(1) == y
    adv = torch.clamp(x + eps * grad.sign(), 0.0, 1.0)
    with torch.no_grad():
        adv_pred = model(adv).argmax(1)
    still_right = correct & (adv_pred == y)
    return still_right.double().mean().item(), correct.double().mean().item()


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p.stdout


_DATA_CACHE = {}


def test_images(dataset, n):
    """The first n test images and labels of advx's `dataset` (mnist or cifar10-exact)."""
    if dataset not in _DATA_CACHE:
        root = ref.data_dir(REPO)
        if dataset == "mnist":
            _DATA_CACHE[dataset] = ref.load_mnist("t10k", root)
        else:
            _DATA_CACHE[dataset] = ref.load_cifar10_exact("test", root)
    x, y = _DATA_CACHE[dataset]
    if n > len(y):
        raise ValueError("--n %d but %s has only %d test images" % (n, dataset, len(y)))
    return x[:n], y[:n]


def check_model(path, advx, n, rep):
    name = os.path.splitext(os.path.basename(path))[0]
    t0 = time.time()
    try:
        m32, arch, meta = ref.load_safetensors_model(path, torch.float32)
        m64, _, _ = ref.load_safetensors_model(path, torch.float64)
    except Exception as e:  # noqa: BLE001 - any load failure is a failed check
        rep.check(False, name + " load", "PyTorch could not load %s: %s" % (path, e))
        return
    rep.check(True, name + " load", "%s (arch %s) loads strict=True" % (path, arch))
    trained_on = meta.get("advx.dataset", "mnist")
    if trained_on not in CHECK_DATA:
        rep.check(False, name + " data", "no reference test data for dataset %r" % trained_on)
        return
    dataset, eps = CHECK_DATA[trained_on]
    x, y = test_images(dataset, n)

    # The engine's numbers.
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "dump.safetensors")
        try:
            run([advx, "dump", "--model", path, "--dataset", dataset, "--n", str(n), "--pool-inputs", "--out", out])
            dumped, _ = ref.read_safetensors(out)
            ev = json.loads(run([advx, "eval", "--model", path, "--dataset", dataset, "--attack", "fgsm", "--eps",
                                 repr(eps), "--n", str(n), "--json"]).strip().splitlines()[-1])
        except Exception as e:  # noqa: BLE001
            rep.check(False, name + " advx", str(e))
            return
    e_logits = torch.from_numpy(dumped["logits"]).double()
    e_grad = torch.from_numpy(dumped["input_grad"]).double()

    # PyTorch float32 and float64 references.
    l32f, g32f, pools32 = logits_and_grad(m32, x, y)
    l64, g64, pools64 = logits_and_grad(m64, x.double(), y)
    l32, g32 = l32f.double(), g32f.double()

    # 1. Logits, absolute.
    d32 = (e_logits - l32).abs().max().item()
    d64 = (e_logits - l64).abs().max().item()
    floor = (l32 - l64).abs().max().item()
    ok = d32 <= LOGIT_TOL or d64 <= LOGIT_TOL
    rep.check(ok, name + " logits",
              "max|advx-torch32| %.3g, max|advx-torch64| %.3g, max|torch32-torch64| %.3g (bound %g abs, max|logit| %.3g)"
              % (d32, d64, floor, LOGIT_TOL, l64.abs().max().item()))

    # 2. Input gradients, relative to the largest gradient entry (over the whole batch). For
    # models with max-pooling, images with a near-tie in a pool window are left out of the
    # pass/fail rule (see near_tie_images) and counted; the numbers over all images are printed.
    scale = g64.abs().max().item()
    engine_pools = [torch.from_numpy(dumped[k]).double()
                    for k in sorted((k for k in dumped if k.startswith("pool_input.")), key=lambda k: int(k.split(".")[1]))]
    if len(engine_pools) != len(pools64):
        rep.check(False, name + " input_grad", "advx dump wrote %d max-pool inputs, the model has %d max-pool layers"
                  % (len(engine_pools), len(pools64)))
        return
    keep = torch.ones(n, dtype=torch.bool) if not pools64 else ~near_tie_images(pools32, pools64, engine_pools)
    n_tie = int((~keep).sum().item())

    def rel(a, b, mask=None):
        d = (a - b) if mask is None else (a - b)[mask]
        return d.abs().max().item() / scale if d.numel() else 0.0

    r32, r64, rfloor = rel(e_grad, g32, keep), rel(e_grad, g64, keep), rel(g32, g64, keep)
    ok = r32 <= GRAD_TOL or r64 <= GRAD_TOL
    # Not part of the pass/fail rule, printed for insight: the worst error relative to each image's
    # own largest gradient entry, which exposes rounding on confidently classified images.
    per_img = lambda a: a.reshape(a.shape[0], -1).abs().max(1).values  # noqa: E731
    s64 = per_img(g64).clamp_min(1e-300)
    w_e = (per_img(e_grad - g64) / s64)[keep].max().item()
    w_t = (per_img(g32 - g64) / s64)[keep].max().item()
    detail = ("rel diff advx-torch32 %.3g, advx-torch64 %.3g, torch32-torch64 %.3g (bound %g rel, max|grad| %.3g); "
              "worst per-image rel diff vs torch64: advx %.3g, torch32 %.3g"
              % (r32, r64, rfloor, GRAD_TOL, scale, w_e, w_t))
    if n_tie:
        detail += ("; %d of %d images with a max-pool near-tie left out (on all images: advx-torch32 %.3g, "
                   "advx-torch64 %.3g, torch32-torch64 %.3g)"
                   % (n_tie, n, rel(e_grad, g32), rel(e_grad, g64), rel(g32, g64)))
    rep.check(ok, name + " input_grad", detail)

    if arch in ref.AUTOENCODERS:
        return  # no classes: no FGSM accuracy to compare

    # 3. FGSM adversarial accuracy, advx eval vs PyTorch float32 (and float64 as second opinion).
    # advx eval is given repr(eps) and parses it as a double: the same number as here.
    # On images the model classifies with softmax p_y within ~1e-7 of 1, PyTorch's float32 gradient
    # is mostly rounding noise (p_y - 1 cancels to 0), so its sign pattern, and with it the FGSM
    # outcome, depends on rounding; float64 is the well-conditioned answer. The engine forms
    # p_y - 1 in double (engine/loss.cpp), so it agrees with float64 PyTorch, not float32.
    t_adv, t_clean = fgsm_adv_acc(m32, x, y, l32f, g32f, eps)
    t64_adv, _ = fgsm_adv_acc(m64, x.double(), y, l64, g64, eps)
    d32 = abs(t_adv - ev["adv_acc"]) * 100.0
    d64 = abs(t64_adv - ev["adv_acc"]) * 100.0
    ok = (d32 <= FGSM_TOL or d64 <= FGSM_TOL) and abs(t_clean - ev["clean_acc"]) * 100.0 <= FGSM_TOL
    rep.check(ok, name + " fgsm eps %.4g" % eps,
              "adv_acc advx %.4f torch32 %.4f torch64 %.4f (|diff| %.2f / %.2f pp, bound %.1f); "
              "clean_acc advx %.4f torch %.4f; %.1f s"
              % (ev["adv_acc"], t_adv, t64_adv, d32, d64, FGSM_TOL, ev["clean_acc"], t_clean, time.time() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--advx", default=os.path.join(REPO, "build", "native", "advx"))
    ap.add_argument("--n", type=int, default=1000, help="test images (first N)")
    ap.add_argument("models", nargs="*", help="model files; default: the shipped assets/models/*.safetensors")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)

    # The shipped models of every architecture, the autoencoders, and the first member of each shipped
    # ensemble (the other members are the same architecture, trained the same way).
    extra = ["autoencoders/dae", "autoencoders/cae", "ensemble/regular_0", "ensemble/subsequence_0"]
    models = args.models or [p for p in (os.path.join(REPO, "assets", "models", a + ".safetensors")
                                         for a in ref.ARCHS + extra) if os.path.exists(p)]
    rep = Report()
    if not models:
        rep.check(False, "models", "no model files given and none in assets/models/")
    advx = os.path.abspath(args.advx)
    if not os.access(advx, os.X_OK):
        rep.check(False, "advx binary", "%s is not an executable (build it first)" % advx)
        models = []
    for path in models:
        try:
            check_model(path, advx, args.n, rep)
        except Exception as e:  # noqa: BLE001 - report, keep going with the next model
            rep.check(False, os.path.basename(path), "error: %r" % e)
    print("%d passed, %d failed" % (rep.passed, rep.failed))
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
