// Writes what tests/reference/check_rnn.py compares against PyTorch: for an LSTM and a GRU
// SequenceModel, the weights (PyTorch names), a token batch with mixed lengths, and the engine's
// logits, parameter gradients and dL/d(embedded) of the summed cross-entropy; plus the recurrent
// layer alone with every hidden state (Output::All) and its input gradient for L = <r, states>.
//
// Hidden from the normal run ([.] tag); tests/reference/run.sh runs it:
//   ADVX_RNN_DUMP=/tmp/rnn.safetensors build/native/advx_tests "[.rnn-reference]"
// safetensors holds F32 only here: ids, lengths and labels are stored as floats (exact below 2^24).
//
// Tensor names: "<case>.<param>" (weights), "<case>.grad.<param>", "<case>.ids" [N, T],
// "<case>.lengths" [N], "<case>.labels" [N], "<case>.logits" [N, C], "<case>.d_embedded"
// [N, T, E], "<case>.states" [N, T, H], "<case>.states_r" [N, T, H], "<case>.states_dx" [N, T, E];
// metadata "cases" = "lstm,gru".
//
// Also, for each shipped sequence model (assets/models/sequence/<name>.safetensors): the engine's
// logits on the first 32 test samples of its dataset, "shipped.<name>.ids" / ".lengths" /
// ".logits"; metadata "shipped" = the names. check_rnn.py loads those files into PyTorch itself.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "engine/data/dataset.h"
#include "engine/data/sequences.h"
#include "engine/io/file.h"
#include "engine/io/safetensors.h"
#include "engine/loss.h"
#include "engine/sequence_model.h"

using namespace advx;

TEST_CASE("Dump sequence models, inputs, outputs and gradients for the PyTorch cross-check", "[.rnn-reference]") {
  const char* env = std::getenv("ADVX_RNN_DUMP");
  const std::string path = env && *env ? env : "/tmp/advx_rnn_reference.safetensors";
  const int vocab = 50, e = 8, hs = 16, classes = 3, n = 7, t = 12;
  const std::vector<int> lengths = {12, 1, 5, 12, 3, 8, 2};
  TensorFile f;
  f.metadata["cases"] = "lstm,gru";
  for (RnnType type : {RnnType::LSTM, RnnType::GRU}) {
    const std::string c = type == RnnType::LSTM ? "lstm" : "gru";
    SequenceModel m(type, vocab, e, hs, classes);
    Rng rng(type == RnnType::LSTM ? 201 : 202);
    m.init(rng);
    // Recurrent weights at 3x PyTorch's init range: saturated and non-saturated gates both occur.
    for (Param& p : m.rnn->params())
      for (float& w : p.value->data) w *= 3.0f;
    Tokens tk;
    tk.n = n, tk.t = t, tk.lengths = lengths;
    tk.ids.assign(static_cast<size_t>(n * t), 0);
    for (int i = 0; i < n; ++i)
      for (int s = 0; s < lengths[static_cast<size_t>(i)]; ++s)
        tk.ids[static_cast<size_t>(i * t + s)] = static_cast<std::int32_t>(rng.below(vocab));
    std::vector<int> labels(static_cast<size_t>(n));
    for (int& y : labels) y = static_cast<int>(rng.below(classes));

    Tensor dlogits, demb;
    const Tensor logits = m.forward(tk);
    cross_entropy(logits, labels, Reduction::Sum, &dlogits);
    m.zero_grad();
    m.backward(dlogits, &demb, true);
    for (const Param& p : m.params()) {
      f.tensors[c + "." + p.name] = *p.value;
      f.tensors[c + ".grad." + p.name] = *p.grad;
    }
    Tensor ids({n, t}), len({n}), lab({n});
    for (size_t k = 0; k < tk.ids.size(); ++k) ids.data[k] = static_cast<float>(tk.ids[k]);
    for (int i = 0; i < n; ++i) {
      len.data[static_cast<size_t>(i)] = static_cast<float>(lengths[static_cast<size_t>(i)]);
      lab.data[static_cast<size_t>(i)] = static_cast<float>(labels[static_cast<size_t>(i)]);
    }
    f.tensors[c + ".ids"] = ids;
    f.tensors[c + ".lengths"] = len;
    f.tensors[c + ".labels"] = lab;
    f.tensors[c + ".logits"] = logits;
    f.tensors[c + ".d_embedded"] = demb;

    // The recurrent layer alone, every hidden state, on the same embedded batch.
    std::unique_ptr<Recurrent> all;
    if (type == RnnType::LSTM)
      all = std::make_unique<LSTM>(e, hs, Recurrent::Output::All);
    else
      all = std::make_unique<GRU>(e, hs, Recurrent::Output::All);
    const auto src = m.rnn->params(), dst = all->params();
    for (size_t q = 0; q < src.size(); ++q) *dst[q].value = *src[q].value;
    const Tensor emb = m.embedded();
    Tensor states, dx;
    all->forward(emb, lengths, states);
    Tensor r(states.shape);
    for (float& v : r.data) v = rng.uniform(-1.0f, 1.0f);
    all->backward(emb, states, r, &dx, false);
    f.tensors[c + ".states"] = states;
    f.tensors[c + ".states_r"] = r;
    f.tensors[c + ".states_dx"] = dx;
  }

  std::string shipped;
  for (const char* name : {"sms_lstm", "api_lstm"}) {
    const std::string file = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/" + name + ".safetensors";
    if (!file_exists(file)) continue;
    std::map<std::string, std::string> meta;
    SequenceModel m = load_sequence_model(file, &meta);
    const SequenceDataset d = load_sequence_dataset(resolve_data_dir(""), meta.at("advx.dataset"));
    REQUIRE(d.vocab_size() == m.vocab);
    const Tokens tk = make_batch(d.test, 0, 32);
    const Tensor logits = m.forward(tk);
    Tensor ids({tk.n, tk.t}), len({tk.n});
    for (size_t k = 0; k < tk.ids.size(); ++k) ids.data[k] = static_cast<float>(tk.ids[k]);
    for (int i = 0; i < tk.n; ++i)
      len.data[static_cast<size_t>(i)] = static_cast<float>(tk.lengths[static_cast<size_t>(i)]);
    const std::string p = std::string("shipped.") + name;
    f.tensors[p + ".ids"] = ids;
    f.tensors[p + ".lengths"] = len;
    f.tensors[p + ".logits"] = logits;
    shipped += (shipped.empty() ? "" : ",") + std::string(name);
  }
  f.metadata["shipped"] = shipped;
  safetensors_save(f, path);
  SUCCEED("wrote " << path);
}
