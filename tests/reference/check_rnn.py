"""Checks advx's sequence layers (Embedding, LSTM, GRU, SequenceModel) against PyTorch.

Input: the safetensors file written by the hidden Catch2 test "[.rnn-reference]"
(tests/unit/test_rnn_reference.cpp): per case ("lstm", "gru") the weights with PyTorch names, a
token batch with mixed lengths (1 to T), and the engine's float32 results. This script rebuilds
the model in PyTorch in float64,

    embedding = nn.Embedding(V, E); rnn = nn.LSTM / nn.GRU(E, H, batch_first=True); fc = nn.Linear(H, C)
    h_n = rnn(pack_padded_sequence(embedding(ids), lengths, batch_first=True, enforce_sorted=False))[1]
    logits = fc(h_n[0])

loads the engine's weights with load_state_dict(strict=True) (names and shapes must match
exactly) and compares, each as max |advx - torch| / max |torch| (relative to the largest entry):
  1. logits;
  2. every parameter gradient of L = sum_i CE(logits_i, y_i);
  3. dL/d(embedded input) [N, T, E] (the attacks' gradient; 0 at padding positions);
  4. the recurrent layer alone: every hidden state (pad_packed_sequence, zeros at padding) and the
     input gradient of <r, states>;
  5. each shipped model (assets/models/sequence/*.safetensors): loads strict=True, its vocabulary
     metadata has one line per embedding row, and its logits on the first 32 test samples of its
     dataset (ids from the dump) equal the engine's.
Bound: 1e-4 (float32 engine against a float64 reference). Prints one line per check and
`N passed, N failed`; exits 1 if any check failed.

Usage: /usr/bin/python3 tests/reference/check_rnn.py DUMP.safetensors
"""
import os
import sys

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch as ref  # noqa: E402  (read_safetensors)

REL_TOL = 1e-4


class SeqClassifier(nn.Module):
    """The module engine/sequence_model.h mirrors: parameter names embedding.*, rnn.*, fc.*."""

    def __init__(self, rnn, vocab, embed_dim, hidden, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed_dim)
        self.rnn = (nn.LSTM if rnn == "lstm" else nn.GRU)(embed_dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward_embedded(self, emb, lengths):
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.rnn(packed)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        return self.fc(h_n[0])


def rel_err(ours, theirs):
    ours = torch.as_tensor(ours, dtype=torch.float64)
    scale = theirs.abs().max().item()
    diff = (ours - theirs).abs().max().item()
    return diff / scale if scale > 0 else diff, diff


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ours, theirs):
        if tuple(ours.shape) != tuple(theirs.shape):
            self.result(False, name, "shape %s vs torch %s" % (tuple(ours.shape), tuple(theirs.shape)))
            return
        rel, diff = rel_err(ours, theirs)
        self.result(rel <= REL_TOL, name, "rel %.2e (max |diff| %.2e, max |torch| %.2e, bound %.0e)"
                    % (rel, diff, theirs.abs().max().item(), REL_TOL))

    def result(self, ok, name, detail):
        print("%s  %-32s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def check_case(case, t, rep):
    p = case + "."
    w = {k[len(p):]: torch.from_numpy(v) for k, v in t.items()
         if k.startswith(p) and not k.startswith(p + "grad.") and k[len(p):].split(".")[0] in ("embedding", "rnn", "fc")}
    vocab, embed_dim = w["embedding.weight"].shape
    gates = 4 if case == "lstm" else 3
    hidden = w["rnn.weight_hh_l0"].shape[1]
    classes = w["fc.weight"].shape[0]
    model = SeqClassifier(case, vocab, embed_dim, hidden, classes)
    model.load_state_dict(w, strict=True)  # names and shapes exactly PyTorch's
    assert w["rnn.weight_ih_l0"].shape[0] == gates * hidden
    model = model.double()

    ids = torch.from_numpy(t[p + "ids"]).long()
    lengths = torch.from_numpy(t[p + "lengths"]).long()
    labels = torch.from_numpy(t[p + "labels"]).long()
    emb = model.embedding(ids)  # looks up padding positions too; pack_padded_sequence never reads them
    emb.retain_grad()
    logits = model.forward_embedded(emb, lengths)
    loss = nn.functional.cross_entropy(logits, labels, reduction="sum")
    model.zero_grad()
    loss.backward()
    rep.check(case + " logits", torch.from_numpy(t[p + "logits"]), logits.detach())
    for name, param in model.named_parameters():
        rep.check(case + " grad " + name, torch.from_numpy(t[p + "grad." + name]), param.grad)
    rep.check(case + " d_embedded", torch.from_numpy(t[p + "d_embedded"]), emb.grad)
    pad = torch.arange(ids.shape[1])[None, :] >= lengths[:, None]
    zero_at_pad = bool((torch.from_numpy(t[p + "d_embedded"])[pad] == 0).all())
    rep.result(zero_at_pad, case + " d_embedded padding", "exactly 0 at every padding position" if zero_at_pad
               else "nonzero at a padding position")

    # The recurrent layer alone, every hidden state.
    x = emb.detach().clone().requires_grad_(True)
    out, _ = model.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    states, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
    r = torch.from_numpy(t[p + "states_r"]).double()
    (states * r).sum().backward()
    rep.check(case + " all states", torch.from_numpy(t[p + "states"]), states.detach())
    rep.check(case + " all states dL/dx", torch.from_numpy(t[p + "states_dx"]), x.grad)


def check_shipped(name, t, rep, repo):
    path = os.path.join(repo, "assets", "models", "sequence", name + ".safetensors")
    w, meta = ref.read_safetensors(path)
    rnn = {"seq-lstm": "lstm", "seq-gru": "gru"}[meta["advx.arch"]]
    vocab, embed_dim = w["embedding.weight"].shape
    model = SeqClassifier(rnn, vocab, embed_dim, w["rnn.weight_hh_l0"].shape[1], w["fc.weight"].shape[0])
    model.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=True)
    model = model.double().eval()
    words = meta.get("advx.vocab", "").split("\n")
    rep.result(len(words) == vocab and words[:2] == ["<pad>", "<unk>"], name + " vocabulary",
               "%d tokens in metadata for %d embedding rows" % (len(words), vocab))
    p = "shipped." + name + "."
    ids = torch.from_numpy(t[p + "ids"]).long()
    lengths = torch.from_numpy(t[p + "lengths"]).long()
    with torch.no_grad():
        logits = model.forward_embedded(model.embedding(ids), lengths)
    rep.check(name + " logits (32 test samples)", torch.from_numpy(t[p + "logits"]), logits)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    torch.set_num_threads(2)
    tensors, meta = ref.read_safetensors(sys.argv[1])
    rep = Report()
    for case in meta.get("cases", "").split(","):
        try:
            check_case(case, tensors, rep)
        except Exception as e:  # noqa: BLE001 - report, go on with the next case
            rep.result(False, case, "error: %r" % e)
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    for name in filter(None, meta.get("shipped", "").split(",")):
        try:
            check_shipped(name, tensors, rep, repo)
        except Exception as e:  # noqa: BLE001
            rep.result(False, name, "error: %r" % e)
    print("%d passed, %d failed" % (rep.passed, rep.failed))
    return 1 if rep.failed or rep.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
