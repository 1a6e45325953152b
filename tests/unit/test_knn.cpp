// k-NN: the GEMM search against brute force (ties by index, independent of threads), the vote and
// its tie rule, the soft k-NN surrogate's gradient and the penultimate features against finite
// differences, the registered defence on the MNIST training set (report: neighbours), errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "engine/defences/defence.h"
#include "engine/error.h"
#include "engine/features.h"
#include "engine/kernels/gemm.h"
#include "engine/knn.h"
#include "engine/loss.h"
#include "engine/models.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

Tensor random_points(int m, int d, std::uint64_t seed) {
  Rng rng(seed);
  Tensor t({m, d});
  for (float& v : t.data) v = rng.uniform();
  return t;
}

Dataset toy_train(int n, std::uint64_t seed) {
  Dataset d;
  d.name = "toy";
  d.images = test::random_images(n, seed);
  for (int i = 0; i < n; ++i) d.labels.push_back(i % 10);
  return d;
}

}  // namespace

TEST_CASE("k-NN search: exact against brute force, ties by index, the same on 1 or 2 threads and both GEMMs", "[knn]") {
  const int m = 2500, d = 37, b = 9, count = 6;  // three chunks, the last one partial
  Tensor pts = random_points(m, d, 1);
  // Duplicates: points 100 and 2400 equal point 7 (an exact tie, broken by the index).
  for (int t = 0; t < d; ++t)
    pts.data[static_cast<size_t>(100 * d + t)] = pts.data[static_cast<size_t>(2400 * d + t)] =
        pts.data[static_cast<size_t>(7 * d + t)];
  Tensor q = random_points(b, d, 2);
  for (int t = 0; t < d; ++t) q.data[static_cast<size_t>(t)] = pts.data[static_cast<size_t>(7 * d + t)] + 1e-3f;
  KnnIndex index(pts.ptr(), m, d);
  std::vector<int> idx(static_cast<size_t>(b * count));
  std::vector<float> d2(idx.size());
  index.search(q.ptr(), b, count, idx.data(), d2.data());
  for (int r = 0; r < b; ++r) {
    std::vector<std::pair<double, int>> all;
    for (int j = 0; j < m; ++j) {
      double s = 0.0;
      for (int t = 0; t < d; ++t) {
        const double e =
            static_cast<double>(q.data[static_cast<size_t>(r * d + t)]) - pts.data[static_cast<size_t>(j * d + t)];
        s += e * e;
      }
      all.emplace_back(s, j);
    }
    std::sort(all.begin(), all.end());
    for (int p = 0; p < count; ++p) {
      REQUIRE(idx[static_cast<size_t>(r * count + p)] == all[static_cast<size_t>(p)].second);
      REQUIRE(d2[static_cast<size_t>(r * count + p)] == Approx(all[static_cast<size_t>(p)].first).epsilon(1e-6));
    }
  }
  REQUIRE(idx[0] == 7);
  REQUIRE(idx[1] == 100);
  REQUIRE(idx[2] == 2400);
  REQUIRE(index.last_flops() == Approx(2.0 * b * m * d));
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  std::vector<int> idx1(idx.size());
  std::vector<float> d21(idx.size());
  index.search(q.ptr(), b, count, idx1.data(), d21.data());
  omp_set_num_threads(threads);
  REQUIRE(idx1 == idx);
  REQUIRE(d21 == d2);
#endif
  const bool own = kernels::use_own_gemm();
  kernels::set_use_own_gemm(!own);
  std::vector<int> idx2(idx.size());
  std::vector<float> d22(idx.size());
  index.search(q.ptr(), b, count, idx2.data(), d22.data());
  kernels::set_use_own_gemm(own);
  REQUIRE(idx2 == idx);
  REQUIRE_THROWS_WITH(index.search(q.ptr(), b, m + 1, idx.data(), d2.data()), Catch::Contains("neighbours of 2500"));
}

TEST_CASE("k-NN classifier: votes, the nearest neighbour breaks ties, neighbours reported", "[knn]") {
  // Four training points in 1x28x28: two of class 3 far away, one of class 5 and one of class 8 near.
  Dataset train;
  train.name = "toy";
  train.images = Tensor({4, 1, 28, 28}, 0.0f);
  train.labels = {3, 3, 5, 8};
  train.images.data[0] = 1.0f, train.images.data[784] = 0.9f;  // classes 3: far from a zero query
  train.images.data[2 * 784 + 5] = 0.2f;                       // class 5: nearest
  train.images.data[3 * 784 + 9] = 0.3f;                       // class 8: second
  const Tensor x({1, 1, 28, 28}, 0.0f);
  KnnConfig c;
  c.surrogate = false;
  c.k = 1;
  KNearestNeighbours k1(train, c);
  CHECK(argmax_rows(k1.logits(x))[0] == 5);
  const std::vector<Neighbour> nb = k1.neighbours(0);
  REQUIRE(nb.size() == 1);
  CHECK(nb[0].index == 2);
  CHECK(nb[0].label == 5);
  CHECK(nb[0].distance == Approx(0.2f));
  c.k = 2;  // one vote for 5, one for 8: the nearest (5) wins
  KNearestNeighbours k2(train, c);
  const Tensor z2 = k2.logits(x);
  CHECK(argmax_rows(z2)[0] == 5);
  CHECK(z2.data[5] == 1.5f);
  CHECK(z2.data[8] == 1.0f);
  // Probabilities are vote shares (the tie's winner keeps its half vote), not a softmax of votes.
  const Tensor p2 = k2.probabilities(x);
  CHECK(p2.data[5] == Approx(1.5 / 2.5));
  CHECK(p2.data[8] == Approx(1.0 / 2.5));
  CHECK(p2.data[3] == 0.0f);
  CHECK(argmax_rows(p2)[0] == 5);
  CHECK(k1.probabilities(x).data[5] == 1.0f);  // 1-NN: certain
  c.k = 4;                                     // two votes for 3 beat the nearer single ones
  KNearestNeighbours k4(train, c);
  CHECK(argmax_rows(k4.logits(x))[0] == 3);
  // Without the surrogate the gradient is the true one: zero.
  Tensor dx;
  k4.input_gradient(z2, dx);
  CHECK(k4.gradient_kind() == GradientKind::Zero);
  CHECK(std::all_of(dx.data.begin(), dx.data.end(), [](float v) { return v == 0.0f; }));
  REQUIRE_THROWS_WITH(KNearestNeighbours(train, KnnConfig{5, 0.1f, true, 64}), Catch::Contains("k must be in 1..4"));
}

TEST_CASE("k-NN surrogate gradient matches finite differences of the soft k-NN it stands for", "[knn][grad]") {
  const Dataset train = toy_train(300, 5);
  KnnConfig c;
  c.k = 3, c.candidates = 20, c.tau = 0.5f;
  KNearestNeighbours knn(train, c);
  const Tensor x = test::random_images(2, 6);
  knn.logits(x);
  // The reference: s_y = log sum_{j in S, y_j = y} w_j with S and T frozen at x (the surrogate's definition).
  std::vector<std::vector<int>> S(2);
  std::vector<double> T(2);
  {
    std::vector<int> idx(2 * 20);
    std::vector<float> d2(idx.size());
    KnnIndex index(train.images.ptr(), 300, 784);
    index.search(x.ptr(), 2, 20, idx.data(), d2.data());
    for (int r = 0; r < 2; ++r) {
      double mean = 0.0;
      for (int j = 0; j < 20; ++j)
        S[static_cast<size_t>(r)].push_back(idx[static_cast<size_t>(r * 20 + j)]),
            mean += d2[static_cast<size_t>(r * 20 + j)];
      T[static_cast<size_t>(r)] = 0.5 * mean / 20.0 + 1e-12;
    }
  }
  Rng rng(2);
  Tensor g({2, 10});
  for (float& v : g.data) v = rng.uniform(-1.0f, 1.0f);
  auto value = [&](const Tensor& xp) {  // sum_r sum_y g_ry s_ry over the classes present
    double total = 0.0;
    for (int r = 0; r < 2; ++r) {
      std::vector<double> w, wc(10, 0.0);
      double z = 0.0;
      for (int j : S[static_cast<size_t>(r)]) {
        double s = 0.0;
        for (int t = 0; t < 784; ++t) {
          const double e = static_cast<double>(xp.data[static_cast<size_t>(r * 784 + t)]) -
                           train.images.data[static_cast<size_t>(j * 784 + t)];
          s += e * e;
        }
        w.push_back(std::exp(-s / T[static_cast<size_t>(r)]));
        z += w.back();
      }
      for (size_t p = 0; p < w.size(); ++p)
        wc[static_cast<size_t>(train.labels[static_cast<size_t>(S[static_cast<size_t>(r)][p])])] += w[p] / z;
      for (int y = 0; y < 10; ++y)
        if (wc[static_cast<size_t>(y)] > 0.0)
          total += g.data[static_cast<size_t>(r * 10 + y)] * std::log(wc[static_cast<size_t>(y)]);
    }
    return total;
  };
  Tensor dx;
  knn.input_gradient(g, dx);
  REQUIRE(dx.shape == x.shape);
  Tensor dir(x.shape);
  for (float& v : dir.data) v = rng.uniform(-1.0f, 1.0f);
  double analytic = 0.0;
  for (size_t j = 0; j < dx.data.size(); ++j) analytic += static_cast<double>(dx.data[j]) * dir.data[j];
  const double h = 1e-4;
  Tensor xp = x, xm = x;
  for (size_t j = 0; j < x.data.size(); ++j) {
    xp.data[j] = static_cast<float>(x.data[j] + h * dir.data[j]);
    xm.data[j] = static_cast<float>(x.data[j] - h * dir.data[j]);
  }
  const double numeric = (value(xp) - value(xm)) / (2.0 * h);
  INFO("analytic " << analytic << " numeric " << numeric);
  CHECK(std::fabs(analytic - numeric) <= 2e-2 * std::max(1.0, std::fabs(numeric)));
  CHECK(knn.gradient_kind() == GradientKind::StraightThrough);
}

TEST_CASE("penultimate features: the layers before the last Linear, their gradient", "[knn][grad]") {
  for (const char* arch : {"small", "cnn", "softmax"}) {
    INFO(arch);
    Sequential m = make_model(arch, 3);
    PenultimateFeatures f(m);
    CHECK(f.dim() == (std::string(arch) == "small" ? 100 : std::string(arch) == "cnn" ? 1024 : 784));
    const Tensor x = test::random_images(2, 4);
    const Tensor phi = f.forward(x);
    REQUIRE(phi.shape == (Shape{2, f.dim()}));
    // The model's logits are its last Linear of phi: z = phi W^T + b, so dL/dx through the model for
    // g = dL/dz equals the features' backward of g W.
    const std::vector<Param> last = m.layers.back()->params();
    const Tensor& w = *last[0].value;  // [10, dim]
    const Tensor& z = m.logits(x);
    Rng rng(5);
    Tensor g(z.shape), dphi({2, f.dim()}, 0.0f), dx_model, dx;
    for (float& v : g.data) v = rng.uniform(-1.0f, 1.0f);
    for (int r = 0; r < 2; ++r)
      for (int k = 0; k < 10; ++k)
        for (int j = 0; j < f.dim(); ++j)
          dphi.data[static_cast<size_t>(r * f.dim() + j)] +=
              g.data[static_cast<size_t>(r * 10 + k)] * w.data[static_cast<size_t>(k * f.dim() + j)];
    for (int r = 0; r < 2; ++r)
      for (int k = 0; k < 10; ++k) {
        double s = last[1].value->data[static_cast<size_t>(k)];
        for (int j = 0; j < f.dim(); ++j)
          s += static_cast<double>(phi.data[static_cast<size_t>(r * f.dim() + j)]) *
               w.data[static_cast<size_t>(k * f.dim() + j)];
        CHECK(z.data[static_cast<size_t>(r * 10 + k)] == Approx(s).margin(1e-4));
      }
    m.input_gradient(g, dx_model);
    f.forward(x);
    f.backward(dphi, dx);
    f.backward(dphi, dx);  // callable twice
    REQUIRE(dx.shape == x.shape);
    for (size_t j = 0; j < dx.data.size(); ++j) REQUIRE(dx.data[j] == Approx(dx_model.data[j]).margin(1e-5));
  }
  // And against finite differences where there is no pooling kink (small: conv, ReLU, linear).
  Sequential m = make_model("small", 3);
  PenultimateFeatures f(m);
  const Tensor x = test::random_images(2, 4);
  Rng rng(6);
  Tensor w({2, f.dim()}), dir(x.shape), dx;
  for (float& v : w.data) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : dir.data) v = rng.uniform(-1.0f, 1.0f);
  f.forward(x);
  f.backward(w, dx);
  double analytic = 0.0;
  for (size_t j = 0; j < dx.data.size(); ++j) analytic += static_cast<double>(dx.data[j]) * dir.data[j];
  auto value = [&](float h) {
    Tensor xp = x;
    for (size_t j = 0; j < xp.data.size(); ++j) xp.data[j] += h * dir.data[j];
    const Tensor& p = f.forward(xp);
    double s = 0.0;
    for (size_t j = 0; j < p.data.size(); ++j) s += static_cast<double>(p.data[j]) * w.data[j];
    return s;
  };
  const double numeric = (value(1e-3f) - value(-1e-3f)) / 2e-3;
  INFO("analytic " << analytic << " numeric " << numeric);
  CHECK(std::fabs(analytic - numeric) <= 2e-2 * std::max(1.0, std::fabs(numeric)));
}

TEST_CASE("knn defence over the 60,000 MNIST training images: a training image is its own neighbour",
          "[knn][shipped]") {
  const DefenceContext ctx = disk_context("");
  const Dataset& train = ctx.data("mnist", "train");
  REQUIRE(train.size() == 60000);
  Sequential base = make_model("small", 1);
  const DefenceSpec& spec = get_defence("knn");
  ParamValues p = defaults(spec.params);
  p.set("neighbours", 3);
  std::unique_ptr<Classifier> d = build_defence(spec, ctx, base, p, true);
  auto* r = dynamic_cast<Reporter*>(d.get());
  REQUIRE(r);
  const DefenceReport rep = r->report(train.images.slice(1234, 1));
  REQUIRE(rep.neighbours.size() == 3);
  CHECK(rep.neighbours[0].index == 1234);
  CHECK(rep.neighbours[0].distance == 0.0);
  CHECK(rep.neighbours[0].label == train.labels[1234]);
  CHECK(rep.neighbours[1].distance <= rep.neighbours[2].distance);
  // Deterministic: the same call, the same logits.
  const Tensor batch = train.images.slice(0, 20);
  const Tensor z1 = d->logits(batch);
  const Tensor z2 = d->logits(batch);
  REQUIRE(z1.data == z2.data);
  Sequential cifar = make_model("cifar_lenet", 1);
  REQUIRE_THROWS_WITH(build_defence(spec, ctx, cifar, p, true), Catch::Contains("use an MNIST model"));
}
