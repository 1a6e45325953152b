"""Wong, Rice, Kolter 2020 ("Fast is better than free", arXiv:2001.03994), MNIST recipe, written again
in PyTorch as a by-hand cross-check of REPRODUCTIONS.md's "Adversarial training" section (not part of
`make test`): the `small` architecture (their mnist_net) with PyTorch's default initialisation, FGSM
from a uniform start in the eps-ball (eps 0.3; the start is not clipped to [0, 1] before the gradient),
one step of alpha = 0.375, projection to the ball and to [0, 1], adversarials only; Adam, batch 100,
10 epochs, learning rate set every batch on one triangle 0 -> 0.005 (at epoch 4) -> 0. After each
epoch it prints PGD-10 accuracy on training images 0-999 (what `advx train --overfit-check` watches).

Writes the weights as safetensors with the engine's names, so `advx eval` attacks the model exactly
as it attacks its own (same PGD-50 x 10, same images).

Usage: /usr/bin/python3 tests/reference/fgsm_rs_torch.py SEED OUT.safetensors [--f64-logit-grad]

--f64-logit-grad: the training attack's cross-entropy on the logits cast to float64, so its gradient
with respect to the logits is what advx computes (softmax - onehot in double; engine/loss.cpp). In
float32, a confident prediction's p_y rounds to 1 and the true class's component of that gradient
to 0: the FGSM direction then only raises the other classes' logits.
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch as ref  # noqa: E402

EPS, ALPHA, LR_MAX, EPOCHS, BATCH = 0.3, 0.375, 5e-3, 10, 100


def write_safetensors(path, model, meta):
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, t in sorted(model.state_dict().items()):
        raw = t.detach().float().contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def pgd_accuracy(model, x, y, steps=10, step=0.075):
    delta = (torch.rand_like(x) * 2 - 1) * EPS
    delta = torch.max(torch.min(delta, 1 - x), -x)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(x + delta), y)
        g, = torch.autograd.grad(loss, delta)
        delta = (delta.detach() + step * g.sign()).clamp(-EPS, EPS)
        delta = torch.max(torch.min(delta, 1 - x), -x)
    with torch.no_grad():
        return (model(x + delta).argmax(1) == y).float().mean().item()


def main():
    seed, out = int(sys.argv[1]), sys.argv[2]
    f64 = "--f64-logit-grad" in sys.argv
    torch.manual_seed(seed)
    np.random.seed(seed)
    root = ref.data_dir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    x, y = ref.load_mnist("train", root)
    model = ref.make_model("small")
    opt = torch.optim.Adam(model.parameters(), lr=LR_MAX)
    batches = len(x) // BATCH
    check_x, check_y = x[:1000], y[:1000]
    t0 = time.time()
    for epoch in range(EPOCHS):
        order = torch.randperm(len(x))
        loss_sum, correct = 0.0, 0
        for i in range(batches):
            t = epoch + (i + 1) / batches
            lr = float(np.interp(t, [0, EPOCHS * 2 // 5, EPOCHS], [0, LR_MAX, 0]))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = order[i * BATCH:(i + 1) * BATCH]
            xb, yb = x[idx], y[idx]
            delta = (torch.rand_like(xb) * 2 - 1) * EPS
            delta.requires_grad_(True)
            z = model(xb + delta)
            g, = torch.autograd.grad(F.cross_entropy(z.double() if f64 else z, yb), delta)
            delta = (delta.detach() + ALPHA * g.sign()).clamp(-EPS, EPS)
            delta = torch.max(torch.min(delta, 1 - xb), -xb)
            out = model((xb + delta).clamp(0, 1))
            loss = F.cross_entropy(out, yb)
            loss_sum += loss.item() * len(yb)
            correct += (out.argmax(1) == yb).sum().item()
            opt.zero_grad()
            loss.backward()
            opt.step()
        robust = pgd_accuracy(model, check_x, check_y)
        print("epoch %d: loss %.4f, train acc %.4f (adversarial), train-batch PGD-10 accuracy %.3f (%.0f s)" %
              (epoch + 1, loss_sum / (batches * BATCH), correct / (batches * BATCH), robust, time.time() - t0),
              flush=True)
    write_safetensors(out, model, {"advx.arch": "small", "advx.dataset": "mnist", "format": "pt",
                                   "advx.recipe": "tests/reference/fgsm_rs_torch.py %d%s" %
                                   (seed, " --f64-logit-grad" if f64 else "")})


if __name__ == "__main__":
    main()
