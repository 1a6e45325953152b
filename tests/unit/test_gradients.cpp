// Finite-difference checks of every layer's weight and input gradients (as tiny-dnn and dlib do),
// plus whole-model input gradients for every shipped architecture.
//
// Scalar test loss: L = sum_i r_i * y_i with a fixed random r, so dL/dy = r. Central differences
// dL/dv ~ (L(v + h) - L(v - h)) / 2h in float32 are compared with the analytic gradient.
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>

#include "engine/layers/layers.h"
#include "engine/loss.h"
#include "engine/models.h"
#include "tests/unit/helpers.h"

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

// Compares analytic and numeric gradient of L = <r, layer(x)> for x and every parameter.
// Relative error per entry: |a - n| / max(1, |a|, |n|) scaled by the gradient's typical size.
void check_layer(Layer& layer, Tensor x, Rng& rng, float h = 1e-2f, double tol = 2e-3) {
  Tensor y;
  layer.forward(x, y, false);
  const Tensor r = random_tensor(y.shape, rng);
  for (Param& p : layer.params()) p.grad->fill(0.0f);
  Tensor dx;
  layer.backward(x, y, r, &dx, true);
  auto loss_at = [&](void) {
    Tensor yy;
    layer.forward(x, yy, false);
    return dot(r, yy);
  };
  auto check = [&](FloatVec& v, const FloatVec& analytic, const std::string& what) {
    double scale = 1e-3;
    for (float g : analytic) scale = std::max(scale, static_cast<double>(std::fabs(g)));
    // Check at most 60 entries spread over the tensor (full check is slow for conv weights).
    const size_t stride = std::max<size_t>(1, v.size() / 60);
    for (size_t i = 0; i < v.size(); i += stride) {
      const float old = v[i];
      v[i] = old + h;
      const double lp = loss_at();
      v[i] = old - h;
      const double lm = loss_at();
      v[i] = old;
      const double numeric = (lp - lm) / (2.0 * h);
      INFO(layer.kind() << " " << what << "[" << i << "]: analytic " << analytic[i] << " numeric " << numeric);
      CHECK(std::fabs(numeric - analytic[i]) <= tol * scale + 1e-3 * std::fabs(numeric));
    }
  };
  check(x.data, dx.data, "input");
  for (Param& p : layer.params()) check(p.value->data, p.grad->data, p.name);
}

}  // namespace

TEST_CASE("Linear: weight, bias and input gradients match finite differences", "[grad]") {
  Rng rng(1);
  Linear l(7, 5);
  l.init(rng);
  check_layer(l, random_tensor({3, 7}, rng), rng);
}

TEST_CASE("Conv2d: gradients match finite differences (kernel, stride, padding combinations)", "[grad]") {
  Rng rng(2);
  // {kernel, stride, padding}; padding up to kernel - 1 and strides that skip the last columns.
  for (auto cfg : {std::array<int, 3>{5, 1, 2}, std::array<int, 3>{4, 2, 1}, std::array<int, 3>{3, 1, 0},
                   std::array<int, 3>{3, 3, 2}, std::array<int, 3>{2, 2, 0}, std::array<int, 3>{1, 1, 0}}) {
    Conv2d c(3, 4, cfg[0], cfg[1], cfg[2]);
    c.init(rng);
    check_layer(c, random_tensor({2, 3, 9, 8}, rng), rng);
    check_layer(c, random_tensor({2, 3, 7, 9}, rng), rng);  // an odd width (stride 2's even / odd split)
  }
}

TEST_CASE("Conv2d forward equals the direct sum of its definition", "[grad]") {
  Rng rng(21);
  // Width 29: long stride-2 runs from the even / odd split of an odd width, with zero padding around.
  for (auto cfg : {std::array<int, 4>{5, 1, 2, 8}, std::array<int, 4>{4, 2, 1, 8}, std::array<int, 4>{3, 3, 2, 8},
                   std::array<int, 4>{2, 2, 0, 8}, std::array<int, 4>{4, 2, 1, 29}, std::array<int, 4>{3, 2, 0, 29},
                   std::array<int, 4>{5, 1, 2, 29}}) {
    const int k = cfg[0], st = cfg[1], pad = cfg[2], cin = 2, cout = 3, h = 9, w = cfg[3];
    Conv2d c(cin, cout, k, st, pad);
    c.init(rng);
    const Tensor x = random_tensor({2, cin, h, w}, rng);
    Tensor y;
    c.forward(x, y, false);
    const int oh = y.dim(2), ow = y.dim(3);
    REQUIRE(oh == (h + 2 * pad - k) / st + 1);
    REQUIRE(ow == (w + 2 * pad - k) / st + 1);
    // y[n][o][a][b] = bias[o] + sum_{ci,i,j} W[o][ci][i][j] * x[n][ci][a*st - pad + i][b*st - pad + j]
    for (int n = 0; n < 2; ++n)
      for (int o = 0; o < cout; ++o)
        for (int a = 0; a < oh; ++a)
          for (int b = 0; b < ow; ++b) {
            double sum = c.bias.data[o];
            for (int ci = 0; ci < cin; ++ci)
              for (int i = 0; i < k; ++i)
                for (int j = 0; j < k; ++j) {
                  const int iy = a * st - pad + i, ix = b * st - pad + j;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  sum += c.weight.data[((o * cin + ci) * k + i) * k + j] * x.data[((n * cin + ci) * h + iy) * w + ix];
                }
            REQUIRE(y.data[((n * cout + o) * oh + a) * ow + b] == Approx(sum).margin(1e-5));
          }
  }
}

TEST_CASE("MaxPool2d: input gradient matches finite differences away from ties", "[grad]") {
  Rng rng(3);
  MaxPool2d p(2, 2);
  // Distinct values spaced by more than 2h so that no perturbation changes the argmax.
  Tensor x({2, 3, 6, 6});
  std::vector<int> perm(x.data.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
  for (size_t i = perm.size() - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
  for (size_t i = 0; i < perm.size(); ++i) x.data[i] = 0.05f * static_cast<float>(perm[i]);
  check_layer(p, x, rng, 1e-2f);
}

TEST_CASE("ReLU: input gradient matches finite differences away from the kink", "[grad]") {
  Rng rng(4);
  ReLU r;
  Tensor x = random_tensor({4, 10}, rng);
  for (float& v : x.data)
    if (std::fabs(v) < 0.05f) v = 0.3f;
  check_layer(r, x, rng);
}

TEST_CASE("Flatten, Dropout (inference), LogSoftmax: input gradients", "[grad]") {
  Rng rng(5);
  Flatten f;
  check_layer(f, random_tensor({2, 3, 4, 2}, rng), rng);
  Dropout d(0.5f, 9);
  check_layer(d, random_tensor({3, 6}, rng), rng);
  LogSoftmax ls;
  check_layer(ls, random_tensor({3, 10}, rng, -3, 3), rng, 1e-2f);
}

TEST_CASE("Sigmoid, AvgPool2d, Upsample (the autoencoders' layers): input gradients", "[grad]") {
  Rng rng(15);
  Sigmoid sg;
  check_layer(sg, random_tensor({3, 2, 4, 5}, rng, -4, 4), rng);
  AvgPool2d avg(2, 2);
  check_layer(avg, random_tensor({2, 3, 6, 7}, rng), rng);  // 7: the last column is not pooled
  AvgPool2d overlap(3, 1);
  check_layer(overlap, random_tensor({1, 2, 5, 5}, rng), rng);
  Upsample up(2);
  check_layer(up, random_tensor({2, 3, 3, 4}, rng), rng);
  Tensor x({1, 1, 2, 2}), y;
  x.data = {1, 2, 3, 4};
  up.forward(x, y, false);
  CHECK(y.data == FloatVec{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  avg.forward(y, x, false);
  CHECK(x.data == FloatVec{1, 2, 3, 4});
}

TEST_CASE("Sequential backward with a gradient added at a hidden activation matches finite differences", "[grad]") {
  // L = <r, logits> + <q, activation(at)>: the extra term is what a detector on a hidden layer (or a
  // contractive penalty) adds.
  for (const char* arch : {"small", "ae_dense"}) {
    Sequential m = make_model(arch, 16);
    Rng rng(17);
    Tensor x = random_tensor(test::with_batch(2, m.input_shape()), rng, 0.0f, 1.0f);
    const std::size_t at = m.layers.size() - 2;
    const Tensor& z = m.forward(x);
    const Tensor r = random_tensor(z.shape, rng), q = random_tensor(m.activation(at).shape, rng);
    Tensor dx;
    m.backward(r, &dx, false, &q, at);
    auto loss = [&](const Tensor& xx) { return dot(r, m.forward(xx)) + dot(q, m.activation(at)); };
    const double norm = std::sqrt(dot(dx, dx));
    Tensor v = dx, xp = x, xm = x;
    for (float& e : v.data) e = static_cast<float>(e / norm);
    for (size_t i = 0; i < x.data.size(); ++i) xp.data[i] += 1e-2f * v.data[i], xm.data[i] -= 1e-2f * v.data[i];
    INFO(arch);
    CHECK(norm == Approx((loss(xp) - loss(xm)) / 2e-2).epsilon(2e-2));
    REQUIRE_THROWS_WITH(m.backward(r, &dx, false, &r, at), Catch::Contains("must match activation"));
  }
}

TEST_CASE("Dropout in training: backward applies the forward mask", "[grad]") {
  Dropout d(0.5f, 11);
  Rng rng(6);
  Tensor x = random_tensor({4, 50}, rng), y, dx;
  d.forward(x, y, true);
  const Tensor r = random_tensor(y.shape, rng);
  d.backward(x, y, r, &dx, false);
  int zeros = 0;
  for (size_t i = 0; i < x.data.size(); ++i) {
    const float mask = y.data[i] / x.data[i];  // 0 or 2
    CHECK((std::fabs(mask) < 1e-5f || std::fabs(mask - 2.0f) < 1e-4f));
    CHECK(dx.data[i] == Approx(r.data[i] * mask).margin(1e-5));
    zeros += std::fabs(mask) < 1e-5f;
  }
  CHECK(zeros > 50);
  CHECK(zeros < 150);
}

TEST_CASE("cross_entropy gradient matches finite differences", "[grad]") {
  Rng rng(7);
  Tensor z = random_tensor({4, 10}, rng, -3, 3), dz;
  const std::vector<int> y = {1, 0, 9, 4};
  cross_entropy(z, y, Reduction::Mean, &dz);
  for (size_t i = 0; i < z.data.size(); ++i) {
    const float old = z.data[i];
    z.data[i] = old + 1e-2f;
    const double lp = cross_entropy(z, y, Reduction::Mean, nullptr);
    z.data[i] = old - 1e-2f;
    const double lm = cross_entropy(z, y, Reduction::Mean, nullptr);
    z.data[i] = old;
    CHECK(dz.data[i] == Approx((lp - lm) / 2e-2).margin(2e-4));
  }
}

TEST_CASE("cross_entropy gradient stays exact on a confident prediction (p_y rounds to 1 in float)", "[grad]") {
  // z = [25, 0, ..., 0], y = 0: dL/dz_0 = p_0 - 1 = -9 e^-25 / (1 + 9 e^-25), about -1.25e-10; a float
  // subtraction would give 0 and leave the input gradient's sign to rounding noise.
  Tensor z({1, 10}), dz;
  z.data[0] = 25.0f;
  cross_entropy(z, {0}, Reduction::Sum, &dz);
  const double e = 9.0 * std::exp(-25.0);
  CHECK(dz.data[0] == Approx(-e / (1.0 + e)).epsilon(1e-5));
  for (int j = 1; j < 10; ++j) CHECK(dz.data[j] == Approx(std::exp(-25.0) / (1.0 + e)).epsilon(1e-5));
}

TEST_CASE("Every shipped architecture: model input gradient of the loss matches finite differences", "[grad]") {
  for (const ArchInfo& a : architectures()) {
    Sequential m = make_model(a.name, 3);
    Rng rng(8);
    Tensor x = random_tensor(test::with_batch(2, m.input_shape()), rng, 0.0f, 1.0f), dx;
    const std::vector<int> y = {3, 7};
    m.loss_input_gradient(x, y, dx);
    // Directional derivative along v = dx / |dx| (where it is largest, so that float32 rounding and
    // ReLU kinks crossed by the step are small next to it): <dx, v> vs (L(x + hv) - L(x - hv)) / 2h.
    Tensor v = dx;
    const double norm = std::sqrt(dot(dx, dx));
    REQUIRE(norm > 0.0);
    for (float& e : v.data) e = static_cast<float>(e / norm);
    const double h = 1e-2;
    Tensor xp = x, xm = x;
    for (size_t i = 0; i < x.data.size(); ++i) {
      xp.data[i] += static_cast<float>(h) * v.data[i];
      xm.data[i] -= static_cast<float>(h) * v.data[i];
    }
    const double lp = cross_entropy(m.forward(xp), y, Reduction::Sum, nullptr);
    const double lm = cross_entropy(m.forward(xm), y, Reduction::Sum, nullptr);
    INFO(a.name);
    CHECK(dot(dx, v) == Approx((lp - lm) / (2 * h)).epsilon(2e-2).margin(1e-3));
  }
}

TEST_CASE("backward can run many times after one forward and gives the same gradient", "[grad]") {
  Sequential m = make_model("cnn", 4);
  Rng rng(9);
  Tensor x = random_tensor({3, 1, 28, 28}, rng, 0.0f, 1.0f), d1, d2;
  const Tensor& logits = m.forward(x);
  Tensor g = random_tensor(logits.shape, rng);
  m.backward(g, &d1, true);
  m.backward(g, &d2, true);
  REQUIRE(d1.shape == x.shape);
  for (size_t i = 0; i < d1.data.size(); ++i) REQUIRE(d1.data[i] == d2.data[i]);
}

TEST_CASE("batched forward equals per-sample forward", "[grad]") {
  for (const char* arch : {"cnn", "small"}) {
    Sequential m = make_model(arch, 5);
    Rng rng(10);
    Tensor x = random_tensor({5, 1, 28, 28}, rng, 0.0f, 1.0f);
    const Tensor all = m.forward(x);
    for (int i = 0; i < 5; ++i) {
      const Tensor one = m.forward(x.slice(i, 1));
      for (int k = 0; k < 10; ++k)
        CHECK(one.data[static_cast<size_t>(k)] == Approx(all.data[static_cast<size_t>(i * 10 + k)]).margin(1e-5));
    }
  }
}

// A layer with weights on a batch x of n samples gives the same outputs and input gradients as sample
// by sample, and weight gradients equal to the sum of the per-sample ones (for a random dL/dy).
template <class L>
void check_batched_equals_per_sample(L& layer, const Tensor& x, Rng& rng) {
  const int n = x.dim(0);
  Tensor y, dx;
  layer.forward(x, y, false);
  const Tensor r = random_tensor(y.shape, rng);
  layer.weight_grad.fill(0.0f);
  layer.bias_grad.fill(0.0f);
  layer.backward(x, y, r, &dx, true);
  const Tensor wg = layer.weight_grad, bg = layer.bias_grad;
  Tensor sum_wg(wg.shape), sum_bg(bg.shape);
  for (int i = 0; i < n; ++i) {
    Tensor xi = x.slice(i, 1), yi, dxi;
    layer.forward(xi, yi, false);
    layer.weight_grad.fill(0.0f);
    layer.bias_grad.fill(0.0f);
    layer.backward(xi, yi, r.slice(i, 1), &dxi, true);
    for (int64_t k = 0; k < yi.size(); ++k) REQUIRE(yi.data[k] == Approx(y.data[i * yi.size() + k]).margin(1e-5));
    for (int64_t k = 0; k < dxi.size(); ++k) REQUIRE(dxi.data[k] == Approx(dx.data[i * dxi.size() + k]).margin(1e-5));
    sum_wg.mat() += layer.weight_grad.mat();
    sum_bg.mat() += layer.bias_grad.mat();
  }
  for (int64_t k = 0; k < wg.size(); ++k) REQUIRE(sum_wg.data[k] == Approx(wg.data[k]).margin(1e-3));
  for (int64_t k = 0; k < bg.size(); ++k) REQUIRE(sum_bg.data[k] == Approx(bg.data[k]).margin(1e-3));
}

TEST_CASE("Conv2d over many samples (several chunks and threads) equals sample-by-sample", "[grad]") {
  Rng rng(12);
  Conv2d c(2, 5, 4, 2, 1);
  c.init(rng);
  check_batched_equals_per_sample(c, random_tensor({37, 2, 28, 28}, rng), rng);
}

TEST_CASE("Linear over a large batch (row blocks on several threads) equals sample-by-sample", "[grad]") {
  Rng rng(13);
  Linear l(300, 50);
  l.init(rng);
  // 64 x 300 x 50 multiply-adds: above parallel_rows' threshold, so the blocks run on threads.
  check_batched_equals_per_sample(l, random_tensor({64, 300}, rng), rng);
}

TEST_CASE("Conv2d: a training forward's saved columns give the same weight gradient, and only for its input",
          "[grad]") {
  Rng rng(14);
  Conv2d c(3, 5, 3, 2, 1);
  c.init(rng);
  const Tensor x = random_tensor({9, 3, 17, 17}, rng, 0.0f, 1.0f);  // several chunks
  const Tensor x2 = random_tensor({9, 3, 17, 17}, rng, 0.0f, 1.0f);
  Tensor y, dx;
  c.forward(x, y, false);
  const Tensor dy = random_tensor(y.shape, rng);
  // Reference: gradients with the columns recomputed in backward (inference forward).
  auto grads = [&](const Tensor& fwd_x, bool train, const Tensor& bwd_x) {
    c.forward(fwd_x, y, train);
    c.weight_grad.fill(0.0f);
    c.bias_grad.fill(0.0f);
    c.backward(bwd_x, y, dy, &dx, true);
    return std::array<Tensor, 3>{c.weight_grad, c.bias_grad, dx};
  };
  const auto ref = grads(x, false, x), ref2 = grads(x2, false, x2);
  const auto saved = grads(x, true, x);
  for (size_t k = 0; k < 3; ++k) REQUIRE(saved[k].data == ref[k].data);  // same columns, same sums
  // A backward on another input than the training forward's must not use that forward's columns.
  const auto other = grads(x, true, x2);
  REQUIRE(other[0].data == ref2[0].data);
  // Twice in a row (attacks and tests call backward several times after one forward).
  c.forward(x, y, true);
  for (int rep = 0; rep < 2; ++rep) {
    c.weight_grad.fill(0.0f);
    c.backward(x, y, dy, &dx, true);
    REQUIRE(c.weight_grad.data == ref[0].data);
  }
  // The saved columns' padding entries are cleared once per layout: training passes over other batch
  // and image sizes in between (a last, smaller batch; another input size) give the same gradients.
  const Tensor small = random_tensor({4, 3, 11, 11}, rng, 0.0f, 1.0f), one = random_tensor({1, 3, 17, 17}, rng);
  for (const Tensor* in : {&small, &x, &one, &small, &x2, &x}) {
    c.forward(*in, y, false);
    const Tensor dyi = random_tensor(y.shape, rng);
    auto grads_i = [&](bool train) {
      c.forward(*in, y, train);
      c.weight_grad.fill(0.0f);
      c.bias_grad.fill(0.0f);
      c.backward(*in, y, dyi, &dx, true);
      return std::array<Tensor, 4>{y, c.weight_grad, c.bias_grad, dx};
    };
    const auto inference = grads_i(false), training = grads_i(true);
    for (size_t k = 0; k < 4; ++k) REQUIRE(training[k].data == inference[k].data);
  }
}
