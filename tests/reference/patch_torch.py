"""The adversarial patch of engine/patch.h and engine/attacks/patch_trainer.h written again in
PyTorch, as a by-hand cross-check of REPRODUCTIONS.md's "Adversarial patch" numbers (not part of
`make test`): the same operator (a square patch of side sqrt(size * H * W) image pixels, rotated
and placed inside the image, hard mask, bilinear sampling clamped to the patch's pixel centres), the
same placement distribution (angle uniform in +-20 degrees, side jittered by +-10% in training,
centre uniform where the rotated square fits), Adam (lr 0.05) on the patch pixels with a clip to
[0, 1], batches of 32 training images drawn with replacement from those not of the target class,
the mean target cross-entropy as the loss. Its random numbers are torch's, not advx's, so the two
agree in distribution, not bit for bit.

Usage: /usr/bin/python3 tests/reference/patch_torch.py MODEL SIZE TARGET STEPS [N_TEST]
  e.g. small 0.2 3 500 10000  ->  held-out targeted success, as `advx patch eval --json` reports it
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch as ref  # noqa: E402


def placements(gen, n, size, rotation, jitter, h, w):
    """n placements (cy, cx, side, angle) drawn as engine/patch.cpp's sample_placement does."""
    u = torch.rand(n, 4, generator=gen, dtype=torch.float64)
    angle = (2 * u[:, 0] - 1) * rotation * math.pi / 180
    side = math.sqrt(size * h * w) * (1 + (2 * u[:, 1] - 1) * jitter)
    half = side / 2 * (angle.cos().abs() + angle.sin().abs())

    def centre(v, extent):
        lo, hi = half - 0.5, extent - 0.5 - half
        return torch.where(lo <= hi, lo + v * (hi - lo), torch.full_like(lo, (extent - 1) / 2))

    return centre(u[:, 2], h), centre(u[:, 3], w), side, angle


def apply(patch, x, where):
    """y = (1 - M) x + M B(P): the patch operator of engine/patch.h, differentiable in the patch."""
    n, c, h, w = x.shape
    s = patch.shape[1]
    cy, cx, side, angle = where
    i = torch.arange(h, dtype=torch.float64).view(1, h, 1)
    j = torch.arange(w, dtype=torch.float64).view(1, 1, w)
    dy, dx = i - cy.view(n, 1, 1), j - cx.view(n, 1, 1)
    k = (side / s).view(n, 1, 1)
    cs, sn = angle.cos().view(n, 1, 1), angle.sin().view(n, 1, 1)
    pb = (cs * dx + sn * dy) / k + (s - 1) / 2
    pa = (-sn * dx + cs * dy) / k + (s - 1) / 2
    mask = (pa >= -0.5) & (pa < s - 0.5) & (pb >= -0.5) & (pb < s - 0.5)
    ua, ub = pa.clamp(0, s - 1), pb.clamp(0, s - 1)
    a0, b0 = ua.floor().long().clamp(max=s - 1), ub.floor().long().clamp(max=s - 1)
    a1, b1 = (a0 + 1).clamp(max=s - 1), (b0 + 1).clamp(max=s - 1)
    fa, fb = (ua - a0).float(), (ub - b0).float()
    flat = patch.reshape(c, s * s)

    def tap(a, b):
        return flat[:, (a * s + b).view(-1)].view(c, n, h, w).permute(1, 0, 2, 3)

    sample = (tap(a0, b0) * ((1 - fa) * (1 - fb)).unsqueeze(1) + tap(a0, b1) * ((1 - fa) * fb).unsqueeze(1)
              + tap(a1, b0) * (fa * (1 - fb)).unsqueeze(1) + tap(a1, b1) * (fa * fb).unsqueeze(1))
    m = mask.unsqueeze(1).to(x.dtype)
    return (1 - m) * x + m * sample.clamp(0, 1)


def main():
    model_name, size, target, steps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    n_test = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
    torch.set_num_threads(1)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    model = ref.load_safetensors_model(os.path.join(root, "assets", "models", model_name + ".safetensors"))[0]
    data = ref.data_dir(root)
    xtr, ytr = ref.load_mnist("train", data)
    xte, yte = ref.load_mnist("t10k", data, n_test)
    pool = xtr[ytr != target]
    h, w = 28, 28
    s = max(1, round(math.sqrt(size * h * w)))
    gen = torch.Generator().manual_seed(1)
    patch = torch.rand(1, s, s, generator=gen).requires_grad_(True)
    opt = torch.optim.Adam([patch], lr=0.05)
    for _ in range(steps):
        idx = torch.randint(0, pool.shape[0], (32,), generator=gen)
        y = apply(patch, pool[idx], placements(gen, 32, size, 20.0, 0.1, h, w))
        loss = torch.nn.functional.cross_entropy(model(y), torch.full((32,), target))
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            patch.clamp_(0, 1)
    with torch.no_grad():
        right = (model(xte).argmax(1) == yte) & (yte != target)
        y = apply(patch, xte, placements(torch.Generator().manual_seed(2), xte.shape[0], size, 20.0, 0.0, h, w))
        hit = (model(y).argmax(1) == target) & right
        print("%s size %.2f target %d steps %d: held-out targeted success %.4f of %d attacked"
              % (model_name, size, target, steps, float(hit.sum()) / float(right.sum()), int(right.sum())))


if __name__ == "__main__":
    main()
