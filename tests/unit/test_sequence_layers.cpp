// Sequence layers (engine/layers/sequence.h) and SequenceModel: finite differences for the input
// and every parameter (the approach of test_gradients.cpp's check_layer, with lengths), padding
// that has no effect, batched equals one-by-one, backward twice, error messages.
//
// Scalar test loss: L = sum_i r_i * y_i with a fixed random r, so dL/dy = r; central differences
// (L(v + h) - L(v - h)) / 2h in float32, accumulated in double. Every entry of the input and of
// every parameter is checked (the layers here are small). Batches mix lengths: 1, the full T and
// in between, with padding positions holding garbage (huge values, or NaN where a test says so).
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <memory>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "engine/sequence_model.h"
#include "helpers.h"

using namespace advx;

namespace {

Tensor random_tensor(const Shape& s, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(s);
  for (float& v : t.data) v = rng.uniform(lo, hi);
  return t;
}

double dot(const Tensor& a, const Tensor& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.data.size(); ++i) s += static_cast<double>(a.data[i]) * b.data[i];
  return s;
}

bool is_padding(const std::vector<int>& lengths, int t, std::size_t flat, int e) {
  const int i = static_cast<int>(flat / static_cast<std::size_t>(t * e));
  const int s = static_cast<int>(flat / static_cast<std::size_t>(e)) % t;
  return s >= lengths[static_cast<size_t>(i)];
}

// Inputs [N, T, E] with values in [-1, 1] at valid positions and `pad` at padding positions.
Tensor sequence_input(int n, int t, int e, const std::vector<int>& lengths, Rng& rng, float pad) {
  Tensor x = random_tensor({n, t, e}, rng);
  for (std::size_t k = 0; k < x.data.size(); ++k)
    if (is_padding(lengths, t, k, e)) x.data[k] = pad;
  return x;
}

// Checks every entry of `v` (a value the loss depends on) against `analytic`; entries at padding
// positions (skip(i) true) must have an analytic gradient of exactly 0 and are not perturbed (NaN
// may sit there). The bound is check_layer's: |numeric - analytic| <= tol * scale + 1e-3 |numeric|,
// scale = the largest |analytic| entry (measured worst over this file: 1.4e-4 * scale).
template <class LossFn, class SkipFn>
void check_entries(FloatVec& v, const FloatVec& analytic, LossFn loss_at, SkipFn skip, const std::string& what,
                   float h = 1e-2f, double tol = 2e-3) {
  REQUIRE(v.size() == analytic.size());
  double scale = 1e-3;
  for (float g : analytic) scale = std::max(scale, static_cast<double>(std::fabs(g)));
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (skip(i)) {
      INFO(what << "[" << i << "] is a padding position");
      REQUIRE(analytic[i] == 0.0f);
      continue;
    }
    const float old = v[i];
    v[i] = old + h;
    const double lp = loss_at();
    v[i] = old - h;
    const double lm = loss_at();
    v[i] = old;
    const double numeric = (lp - lm) / (2.0 * static_cast<double>(h));
    INFO(what << "[" << i << "]: analytic " << analytic[i] << " numeric " << numeric);
    CHECK(std::fabs(numeric - analytic[i]) <= tol * scale + 1e-3 * std::fabs(numeric));
  }
}

// Finite differences for a recurrent layer: L = <r, layer(x, lengths)>, input and every parameter.
void check_recurrent(Recurrent& layer, Tensor x, const std::vector<int>& lengths, Rng& rng) {
  Tensor y;
  layer.forward(x, lengths, y);
  const Tensor r = random_tensor(y.shape, rng);
  for (Param& p : layer.params()) p.grad->fill(0.0f);
  Tensor dx;
  layer.backward(x, y, r, &dx, true);
  auto loss_at = [&]() {
    Tensor yy;
    layer.forward(x, lengths, yy);
    return dot(r, yy);
  };
  const int t = x.dim(1), e = x.dim(2);
  check_entries(
      x.data, dx.data, loss_at, [&](std::size_t i) { return is_padding(lengths, t, i, e); }, layer.kind() + " input");
  for (Param& p : layer.params())
    check_entries(
        p.value->data, p.grad->data, loss_at, [](std::size_t) { return false; }, layer.kind() + " " + p.name);
}

std::unique_ptr<Recurrent> make_layer(const std::string& kind, int e, int h, Recurrent::Output out, Rng& rng) {
  std::unique_ptr<Recurrent> l;
  if (kind == "LSTM")
    l = std::make_unique<LSTM>(e, h, out);
  else
    l = std::make_unique<GRU>(e, h, out);
  l->init(rng);
  return l;
}

// A token batch: ids in [1, vocab) at valid positions, `pad` (any value) at padding positions.
Tokens random_tokens(int n, int t, int vocab, const std::vector<int>& lengths, Rng& rng, std::int32_t pad = 0) {
  Tokens tk;
  tk.n = n, tk.t = t, tk.lengths = lengths;
  tk.ids.assign(static_cast<size_t>(n * t), pad);
  for (int i = 0; i < n; ++i)
    for (int s = 0; s < lengths[static_cast<size_t>(i)]; ++s)
      tk.ids[static_cast<size_t>(i * t + s)] =
          static_cast<std::int32_t>(1 + rng.below(static_cast<std::uint64_t>(vocab - 1)));
  return tk;
}

// Summed cross-entropy in double (cross_entropy returns float, whose rounding would dominate the
// finite differences of small gradients).
double ce_sum(const Tensor& logits, const std::vector<int>& labels) {
  double total = 0.0;
  const int k = logits.dim(1);
  for (int i = 0; i < logits.dim(0); ++i) {
    const float* z = logits.ptr() + static_cast<std::int64_t>(i) * k;
    double m = z[0], s = 0.0;
    for (int j = 1; j < k; ++j) m = std::max(m, static_cast<double>(z[j]));
    for (int j = 0; j < k; ++j) s += std::exp(z[j] - m);
    total += m + std::log(s) - z[labels[static_cast<size_t>(i)]];
  }
  return total;
}

const std::vector<int> kLengths = {5, 1, 3, 5, 2};  // T = 5: full, 1, in between, a tie, 2

}  // namespace

TEST_CASE("Embedding: weight gradient is the scatter-add of dL/dy, and matches finite differences", "[seq][grad]") {
  Rng rng(101);
  Embedding emb(7, 3);
  emb.init(rng);
  Tokens tk = random_tokens(5, 5, 7, kLengths, rng, /*pad=*/12345);  // padding ids out of range: never read
  tk.ids[0] = tk.ids[2] = 4;                                         // a repeated id
  Tensor y;
  emb.forward(tk, y);
  REQUIRE(y.shape == Shape{5, 5, 3});
  const Tensor r = random_tensor(y.shape, rng);
  emb.weight_grad.fill(0.0f);
  emb.backward(tk, r, true);
  Tensor expect({7, 3});
  for (int i = 0; i < 5; ++i)
    for (int s = 0; s < 5; ++s)
      for (int k = 0; k < 3; ++k) {
        const float v = y.data[static_cast<size_t>((i * 5 + s) * 3 + k)];
        if (s >= kLengths[static_cast<size_t>(i)]) {
          REQUIRE(v == 0.0f);  // padding positions are zero
          continue;
        }
        REQUIRE(v == emb.weight.data[static_cast<size_t>(tk.at(i, s) * 3 + k)]);
        expect.data[static_cast<size_t>(tk.at(i, s) * 3 + k)] += r.data[static_cast<size_t>((i * 5 + s) * 3 + k)];
      }
  for (size_t k = 0; k < expect.data.size(); ++k)
    REQUIRE(emb.weight_grad.data[k] == Approx(expect.data[k]).margin(1e-6));
  auto loss_at = [&]() {
    Tensor yy;
    emb.forward(tk, yy);
    return dot(r, yy);
  };
  check_entries(
      emb.weight.data, emb.weight_grad.data, loss_at, [](std::size_t) { return false; }, "Embedding weight");
}

TEST_CASE("LSTM and GRU: input and every parameter gradient match finite differences, mixed lengths", "[seq][grad]") {
  for (const char* kind : {"LSTM", "GRU"})
    for (auto out : {Recurrent::Output::Last, Recurrent::Output::All}) {
      DYNAMIC_SECTION(kind << (out == Recurrent::Output::Last ? " last state" : " all states")) {
        Rng rng(102);
        auto layer = make_layer(kind, 3, 4, out, rng);
        // Weights at twice PyTorch's init range, so gates are not all near 0.5 (saturation and
        // curvature both exercised).
        for (Param& p : layer->params())
          for (float& w : p.value->data) w *= 2.0f;
        check_recurrent(*layer, sequence_input(5, 5, 3, kLengths, rng, 1e6f), kLengths, rng);
      }
    }
}

TEST_CASE("LSTM and GRU: a batch of full-length sequences (no padding) and of length-1 sequences", "[seq][grad]") {
  for (const char* kind : {"LSTM", "GRU"}) {
    Rng rng(103);
    auto layer = make_layer(kind, 2, 3, Recurrent::Output::Last, rng);
    const std::vector<int> full = {4, 4, 4}, ones = {1, 1, 1};
    check_recurrent(*layer, sequence_input(3, 4, 2, full, rng, 0.0f), full, rng);
    check_recurrent(*layer, sequence_input(3, 4, 2, ones, rng, 7.0f), ones, rng);
  }
}

TEST_CASE("LSTM/GRU forward equals the PyTorch cell equations written out in double", "[seq]") {
  // One sample, direct transcription of torch.nn.LSTM / torch.nn.GRU's documented equations.
  const int e = 3, hs = 2, t = 4;
  for (const char* kind : {"LSTM", "GRU"}) {
    Rng rng(104);
    auto layer = make_layer(kind, e, hs, Recurrent::Output::All, rng);
    const Tensor x = random_tensor({1, t, e}, rng, -2.0f, 2.0f);
    Tensor y;
    layer->forward(x, {t}, y);
    const int g = layer->gates;
    auto w_ih = [&](int row, int col) {
      return static_cast<double>(layer->weight_ih.data[static_cast<size_t>(row * e + col)]);
    };
    auto w_hh = [&](int row, int col) {
      return static_cast<double>(layer->weight_hh.data[static_cast<size_t>(row * hs + col)]);
    };
    auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
    std::vector<double> h(hs, 0.0), c(hs, 0.0);
    for (int s = 0; s < t; ++s) {
      std::vector<double> ax(static_cast<size_t>(g * hs)), ah(static_cast<size_t>(g * hs));
      for (int row = 0; row < g * hs; ++row) {
        ax[static_cast<size_t>(row)] = layer->bias_ih.data[static_cast<size_t>(row)];
        ah[static_cast<size_t>(row)] = layer->bias_hh.data[static_cast<size_t>(row)];
        for (int k = 0; k < e; ++k)
          ax[static_cast<size_t>(row)] += w_ih(row, k) * x.data[static_cast<size_t>(s * e + k)];
        for (int k = 0; k < hs; ++k) ah[static_cast<size_t>(row)] += w_hh(row, k) * h[static_cast<size_t>(k)];
      }
      std::vector<double> hn(hs);
      for (int j = 0; j < hs; ++j) {
        auto a = [&](int gate) {
          return ax[static_cast<size_t>(gate * hs + j)] + ah[static_cast<size_t>(gate * hs + j)];
        };
        if (g == 4) {  // (i, f, g, o)
          const double ig = sig(a(0)), fg = sig(a(1)), gg = std::tanh(a(2)), og = sig(a(3));
          c[static_cast<size_t>(j)] = fg * c[static_cast<size_t>(j)] + ig * gg;
          hn[static_cast<size_t>(j)] = og * std::tanh(c[static_cast<size_t>(j)]);
        } else {  // (r, z, n), n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
          const double r = sig(a(0)), z = sig(a(1));
          const double n = std::tanh(ax[static_cast<size_t>(2 * hs + j)] + r * ah[static_cast<size_t>(2 * hs + j)]);
          hn[static_cast<size_t>(j)] = (1.0 - z) * n + z * h[static_cast<size_t>(j)];
        }
      }
      h = hn;
      for (int j = 0; j < hs; ++j)
        CHECK(y.data[static_cast<size_t>(s * hs + j)] == Approx(h[static_cast<size_t>(j)]).margin(1e-6));
    }
  }
}

TEST_CASE("Padding has no effect: changed padded inputs (even NaN) change no output and no gradient", "[seq]") {
  for (const char* kind : {"LSTM", "GRU"})
    for (auto out : {Recurrent::Output::Last, Recurrent::Output::All}) {
      Rng rng(105);
      auto layer = make_layer(kind, 3, 4, out, rng);
      Rng xr(7);
      const Tensor x1 = sequence_input(5, 5, 3, kLengths, xr, 0.0f);
      Tensor x2 = x1;
      Rng pr(8);
      for (std::size_t k = 0; k < x2.data.size(); ++k)
        if (is_padding(kLengths, 5, k, 3))
          x2.data[k] = (k % 3 == 0) ? std::numeric_limits<float>::quiet_NaN() : pr.uniform(-50, 50);
      auto run = [&](const Tensor& x) {
        Tensor y, dx;
        layer->forward(x, kLengths, y);
        Rng rr(9);
        const Tensor r = random_tensor(y.shape, rr);
        for (Param& p : layer->params()) p.grad->fill(0.0f);
        layer->backward(x, y, r, &dx, true);
        std::vector<FloatVec> all = {y.data, dx.data};
        for (Param& p : layer->params()) all.push_back(p.grad->data);
        return all;
      };
      const auto a = run(x1), b = run(x2);
      INFO(kind);
      for (size_t k = 0; k < a.size(); ++k) REQUIRE(a[k] == b[k]);  // bitwise
    }
  // The whole model: padded token ids (any value, also outside the vocabulary) change nothing.
  for (RnnType type : {RnnType::LSTM, RnnType::GRU}) {
    SequenceModel m(type, 11, 4, 5, 2);
    Rng rng(106);
    m.init(rng);
    Rng tr(10);
    const Tokens t1 = random_tokens(5, 5, 11, kLengths, tr, 0);
    Tokens t2 = t1;
    for (int i = 0; i < 5; ++i)
      for (int s = kLengths[static_cast<size_t>(i)]; s < 5; ++s) t2.ids[static_cast<size_t>(i * 5 + s)] = 1000 + s;
    const std::vector<int> labels = {0, 1, 1, 0, 1};
    auto run = [&](const Tokens& tk) {
      Tensor demb, dlogits;
      const Tensor logits = m.forward(tk);
      cross_entropy(logits, labels, Reduction::Sum, &dlogits);
      m.zero_grad();
      m.backward(dlogits, &demb, true);
      std::vector<FloatVec> all = {logits.data, demb.data};
      for (Param& p : m.params()) all.push_back(p.grad->data);
      return all;
    };
    const auto a = run(t1), b = run(t2);
    for (size_t k = 0; k < a.size(); ++k) REQUIRE(a[k] == b[k]);
  }
}

TEST_CASE("LSTM/GRU: a batch equals its samples one by one (trimmed to their own length)", "[seq]") {
  // 140 samples, input 16, hidden 80: the first steps' products and the input projection are over
  // kRecurrentParallelWork (2^21 multiply-adds; GRU step 0: 140 x 240 x 80 = 2.7M), so their row
  // blocks run on several threads; the later, shorter steps on one.
  for (const char* kind : {"LSTM", "GRU"})
    for (auto out : {Recurrent::Output::Last, Recurrent::Output::All}) {
      Rng rng(107);
      const int n = 140, t = 9, e = 16, hs = 80;
      auto layer = make_layer(kind, e, hs, out, rng);
      std::vector<int> lengths(n);
      for (int i = 0; i < n; ++i) lengths[static_cast<size_t>(i)] = 1 + static_cast<int>(rng.below(t));
      lengths[3] = t;
      const Tensor x = sequence_input(n, t, e, lengths, rng, 3.0f);
      Tensor y, dx;
      layer->forward(x, lengths, y);
      const Tensor r = random_tensor(y.shape, rng);
      for (Param& p : layer->params()) p.grad->fill(0.0f);
      layer->backward(x, y, r, &dx, true);
      std::vector<Tensor> batch_grads;
      for (Param& p : layer->params()) batch_grads.push_back(*p.grad);
      std::vector<Tensor> sum_grads;
      for (Param& p : layer->params()) sum_grads.emplace_back(p.grad->shape);
      for (int i = 0; i < n; ++i) {
        const int len = lengths[static_cast<size_t>(i)];
        Tensor xi({1, len, e}), yi, dxi;
        std::copy_n(x.ptr() + static_cast<std::int64_t>(i) * t * e, len * e, xi.ptr());
        layer->forward(xi, {len}, yi);
        Tensor ri(yi.shape);
        if (out == Recurrent::Output::Last)
          std::copy_n(r.ptr() + static_cast<std::int64_t>(i) * hs, hs, ri.ptr());
        else
          std::copy_n(r.ptr() + static_cast<std::int64_t>(i) * t * hs, len * hs, ri.ptr());
        for (Param& p : layer->params()) p.grad->fill(0.0f);
        layer->backward(xi, yi, ri, &dxi, true);
        const std::int64_t ystride = out == Recurrent::Output::Last ? hs : static_cast<std::int64_t>(t) * hs;
        for (std::int64_t k = 0; k < yi.size(); ++k)
          REQUIRE(yi.data[static_cast<size_t>(k)] == Approx(y.data[static_cast<size_t>(i * ystride + k)]).margin(1e-5));
        for (std::int64_t k = 0; k < dxi.size(); ++k)
          REQUIRE(dxi.data[static_cast<size_t>(k)] ==
                  Approx(dx.data[static_cast<size_t>(static_cast<std::int64_t>(i) * t * e + k)]).margin(1e-5));
        const auto ps = layer->params();
        for (size_t q = 0; q < ps.size(); ++q) sum_grads[q].mat() += ps[q].grad->mat();
      }
      for (size_t q = 0; q < sum_grads.size(); ++q)
        for (std::int64_t k = 0; k < sum_grads[q].size(); ++k)
          REQUIRE(sum_grads[q].data[static_cast<size_t>(k)] ==
                  Approx(batch_grads[q].data[static_cast<size_t>(k)]).margin(1e-4));
    }
}

TEST_CASE("LSTM/GRU/SequenceModel: backward twice after one forward gives identical gradients", "[seq]") {
  for (RnnType type : {RnnType::LSTM, RnnType::GRU}) {
    SequenceModel m(type, 13, 5, 6, 3);
    Rng rng(108);
    m.init(rng);
    const Tokens tk = random_tokens(5, 5, 13, kLengths, rng);
    const Tensor& logits = m.forward(tk);
    const Tensor g = random_tensor(logits.shape, rng);
    Tensor d1, d2;
    m.zero_grad();
    m.backward(g, &d1, true);
    std::vector<FloatVec> first;
    for (Param& p : m.params()) first.push_back(p.grad->data);
    m.zero_grad();
    m.backward(g, &d2, true);
    REQUIRE(d1.shape == Shape{5, 5, 5});
    REQUIRE(d1.data == d2.data);
    const auto ps = m.params();
    for (size_t q = 0; q < ps.size(); ++q) REQUIRE(ps[q].grad->data == first[q]);
    // Accumulation: a third backward without zero_grad doubles the parameter gradients.
    m.backward(g, nullptr, true);
    for (size_t q = 0; q < ps.size(); ++q)
      for (size_t k = 0; k < first[q].size(); ++k)
        REQUIRE(ps[q].grad->data[k] == Approx(2.0 * first[q][k]).margin(1e-6));
  }
}

TEST_CASE("SequenceModel: dL/d(embedded) and every parameter gradient match finite differences", "[seq][grad]") {
  for (RnnType type : {RnnType::LSTM, RnnType::GRU}) {
    INFO((type == RnnType::LSTM ? "LSTM" : "GRU"));
    SequenceModel m(type, 9, 4, 5, 3);
    Rng rng(109);
    m.init(rng);
    const Tokens tk = random_tokens(5, 5, 9, kLengths, rng);
    const std::vector<int> labels = {0, 2, 1, 1, 0};
    // dL/de for L = summed cross-entropy, through forward_embedded on the embedded batch.
    Tensor demb;
    m.loss_embedded_gradient(tk, labels, demb);
    Tensor e = m.embedded();
    REQUIRE(demb.shape == e.shape);
    auto loss_e = [&]() { return ce_sum(m.forward_embedded(e, tk.lengths), labels); };
    check_entries(
        e.data, demb.data, loss_e, [&](std::size_t i) { return is_padding(tk.lengths, tk.t, i, 4); },
        "SequenceModel d_embedded");
    // Every parameter, the embedding included, through forward(tokens).
    Tensor dlogits;
    cross_entropy(m.forward(tk), labels, Reduction::Sum, &dlogits);
    m.zero_grad();
    m.backward(dlogits, nullptr, true);
    auto loss_p = [&]() { return ce_sum(m.forward(tk), labels); };
    for (Param& p : m.params())
      check_entries(
          p.value->data, p.grad->data, loss_p, [](std::size_t) { return false; }, "SequenceModel " + p.name);
  }
}

TEST_CASE("SequenceModel: PyTorch parameter names and shapes, save and load round-trip", "[seq][io]") {
  SequenceModel m(RnnType::GRU, 20, 6, 7, 2);
  Rng rng(110);
  m.init(rng);
  std::vector<std::string> names;
  for (const Param& p : m.params()) names.push_back(p.name + shape_str(p.value->shape));
  REQUIRE(names == std::vector<std::string>{"embedding.weight[20, 6]", "rnn.weight_ih_l0[21, 6]",
                                            "rnn.weight_hh_l0[21, 7]", "rnn.bias_ih_l0[21]", "rnn.bias_hh_l0[21]",
                                            "fc.weight[2, 7]", "fc.bias[2]"});
  SequenceModel l(RnnType::LSTM, 20, 6, 7, 2);
  REQUIRE(l.params()[1].value->shape == Shape{28, 6});
  // Through the Layer interface a recurrent layer sits in a Sequential (nn.Sequential names; every
  // sample full length unless set_lengths() precedes the forward).
  Sequential seq("gru-test", {5, 6}, 2);
  seq.add(std::make_unique<GRU>(6, 7));
  seq.add(std::make_unique<Linear>(7, 2));
  std::vector<std::string> seq_names;
  for (const Param& p : seq.params()) seq_names.push_back(p.name);
  REQUIRE(seq_names == std::vector<std::string>{"0.weight_ih_l0", "0.weight_hh_l0", "0.bias_ih_l0", "0.bias_hh_l0",
                                                "1.weight", "1.bias"});
  REQUIRE(seq.forward(Tensor({3, 5, 6}, 0.5f)).shape == Shape{3, 2});
  const std::string path = test::temp_path("seq_model.safetensors");
  save_sequence_model(m, path, {{"advx.dataset", "test"}});
  std::map<std::string, std::string> meta;
  SequenceModel back = load_sequence_model(path, &meta);
  REQUIRE(back.arch() == "seq-gru");
  REQUIRE(meta.at("advx.dataset") == "test");
  const auto a = m.params(), b = back.params();
  for (size_t q = 0; q < a.size(); ++q) REQUIRE(a[q].value->data == b[q].value->data);
  const Tokens tk = random_tokens(5, 5, 20, kLengths, rng);
  const Tensor la = m.forward(tk);
  REQUIRE(back.forward(tk).data == la.data);
}

TEST_CASE("Sequence layers: clear errors for bad lengths, ids, shapes and call order", "[seq][errors]") {
  Rng rng(111);
  LSTM lstm(3, 4);
  lstm.init(rng);
  Tensor x = random_tensor({2, 5, 3}, rng), y, dx;
  REQUIRE_THROWS_WITH(lstm.backward(x, y, y, &dx, false), Catch::Contains("before forward"));
  REQUIRE_THROWS_WITH(lstm.forward(x, {5, 0}, y), Catch::Contains("length 0") && Catch::Contains("[1, 5]"));
  REQUIRE_THROWS_WITH(lstm.forward(x, {5, 6}, y), Catch::Contains("length 6"));
  REQUIRE_THROWS_WITH(lstm.forward(x, {5}, y), Catch::Contains("1 lengths for a batch of 2"));
  REQUIRE_THROWS_WITH(lstm.forward(random_tensor({2, 5, 4}, rng), {5, 5}, y), Catch::Contains("expected [N, T, 3]"));
  lstm.forward(x, {5, 2}, y);
  REQUIRE_THROWS_WITH(lstm.backward(x, y, Tensor({2, 5}), &dx, false), Catch::Contains("expected [2, 4]"));
  // set_lengths applies to the next forward only; without it every sample is the full T long.
  Tensor y_short, y_full, y_again;
  lstm.set_lengths({2, 2});
  lstm.forward(x, y_short, false);
  REQUIRE(lstm.lengths() == std::vector<int>{2, 2});
  lstm.forward(x, y_full, false);
  REQUIRE(lstm.lengths() == std::vector<int>{5, 5});
  lstm.forward(x, {2, 2}, y_again);
  REQUIRE(y_again.data == y_short.data);
  REQUIRE(y_full.data != y_short.data);

  Embedding emb(5, 2);
  Tokens tk;
  tk.n = 1, tk.t = 3, tk.ids = {1, 5, 0}, tk.lengths = {2};
  REQUIRE_THROWS_WITH(emb.forward(tk, y),
                      Catch::Contains("token id 5") && Catch::Contains("position 1") && Catch::Contains("[0, 5)"));
  tk.ids = {1, 2};
  REQUIRE_THROWS_WITH(emb.forward(tk, y), Catch::Contains("ids must be n * t"));
  SequenceModel m(RnnType::LSTM, 5, 2, 3, 2);
  Tensor g({1, 2});
  REQUIRE_THROWS_WITH(m.backward(g, nullptr, true), Catch::Contains("before forward"));
  Tensor bad({1, 3, 2});
  bad.data[1] = std::numeric_limits<float>::infinity();
  REQUIRE_THROWS_WITH(m.forward_embedded(bad, {3}), Catch::Contains("not finite"));
  const std::string path = test::temp_path("not_a_seq_model.safetensors");
  TensorFile f;
  f.metadata["advx.arch"] = "cnn";
  f.tensors["x"] = Tensor({1});
  safetensors_save(f, path);
  REQUIRE_THROWS_WITH(load_sequence_model(path), Catch::Contains("not a sequence model") && Catch::Contains("'cnn'"));
}
