// Optimiser update rules and reproducible training.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/models.h"
#include "engine/optim.h"
#include "engine/train/train.h"
#include "helpers.h"

using namespace advx;

TEST_CASE("SGD (momentum, Nesterov) and Adam with weight decay give torch.optim's weights", "[train]") {
  // Expected: torch 1.13 (Debian python3-torch), torch.optim.SGD(lr 0.1, momentum 0.9, nesterov,
  // weight_decay 0.01) / SGD(lr 0.1, momentum 0.9, weight_decay 0.01) / Adam(lr 0.1, weight_decay
  // 0.01) from w = (1, -2, 0.5), three steps with the gradients below.
  const float grads[3][3] = {{0.3f, -0.1f, 0.0f}, {-0.2f, 0.4f, 0.1f}, {0.05f, 0.0f, -0.3f}};
  auto run = [&](Optimizer& opt) {
    Tensor w({3}), g({3});
    w.data = {1.0f, -2.0f, 0.5f};
    const std::vector<Param> params = {{"w", &w, &g}};
    for (const auto& gr : grads) {
      g.data.assign(gr, gr + 3);
      opt.step(params);
    }
    return w.data;
  };
  SGD nesterov(0.1f, 0.9f, true), heavy_ball(0.1f, 0.9f);
  Adam adam(0.1f);
  nesterov.weight_decay = heavy_ball.weight_decay = adam.weight_decay = 0.01f;
  const std::vector<std::vector<float>> want = {{0.933731437f, -2.05789828f, 0.525918543f},
                                                {0.946188748f, -2.03768754f, 0.50820744f},
                                                {0.858084381f, -1.98700917f, 0.362903535f}};
  Optimizer* opts[3] = {&nesterov, &heavy_ball, &adam};
  for (int k = 0; k < 3; ++k) {
    const auto got = run(*opts[k]);
    for (int j = 0; j < 3; ++j)
      CHECK(got[static_cast<size_t>(j)] == Approx(want[static_cast<size_t>(k)][static_cast<size_t>(j)]).epsilon(1e-5));
  }
}

TEST_CASE("Adam follows torch.optim.Adam's update rule (bias-corrected), on one thread or several", "[train]") {
  // 300k parameters: large enough that the update is split over threads.
  const int n = 300000;
  Tensor w({n}), g({n});
  Rng rng(7);
  for (float& x : w.data) x = rng.uniform(-1.0f, 1.0f);
  std::vector<double> w64(w.data.begin(), w.data.end()), m64(n, 0.0), v64(n, 0.0);
  Adam opt(0.01f);
  const std::vector<Param> params = {{"w", &w, &g}};
  for (int t = 1; t <= 3; ++t) {
    for (int j = 0; j < n; ++j) g.data[static_cast<size_t>(j)] = rng.uniform(-2.0f, 2.0f) * (j % 5 == 0 ? 0.0f : 1.0f);
    opt.step(params);
    const double c1 = 1.0 - std::pow(0.9, t), c2 = 1.0 - std::pow(0.999, t);
    for (int j = 0; j < n; ++j) {
      const double gj = g.data[static_cast<size_t>(j)];
      m64[j] = 0.9 * m64[j] + 0.1 * gj;
      v64[j] = 0.999 * v64[j] + 0.001 * gj * gj;
      w64[j] -= 0.01 * (m64[j] / c1) / (std::sqrt(v64[j] / c2) + 1e-8);
    }
  }
  double worst = 0.0;
  for (int j = 0; j < n; ++j) worst = std::max(worst, std::fabs(w64[j] - w.data[static_cast<size_t>(j)]));
  INFO("max |w_advx - w_float64| after 3 steps: " << worst);
  CHECK(worst < 1e-5);
}

TEST_CASE("training gives the same weights bit for bit whatever the heap layout", "[train]") {
  // Tensors are allocated aligned (engine/tensor.h): Eigen's vector loops then split every
  // product the same way. With plain malloc alignment the summation order, and so the trained
  // weights, depended on what had been allocated before (`advx train` from another folder ended
  // at another accuracy).
  Dataset d;
  d.name = "random";
  d.images = test::random_images(192, 3);
  for (int i = 0; i < 192; ++i) d.labels.push_back(i % 10);
  TrainConfig cfg;
  cfg.batch = 64;
  std::vector<float> first;
  std::vector<std::unique_ptr<std::vector<float>>> junk;  // shifts where later allocations land
  for (int shift = 0; shift < 6; ++shift) {
    junk.push_back(std::make_unique<std::vector<float>>(static_cast<size_t>(1 + 3 * shift)));
    Sequential m = make_model("small", 5);
    for (const Param& p : m.params())
      REQUIRE(reinterpret_cast<std::uintptr_t>(p.value->ptr()) % EIGEN_MAX_ALIGN_BYTES == 0);
    train(m, d, cfg, nullptr);
    std::vector<float> w;
    for (const Param& p : m.params()) w.insert(w.end(), p.value->data.begin(), p.value->data.end());
    if (shift == 0)
      first = w;
    else
      REQUIRE(w == first);
  }
}

TEST_CASE("crop_flip: random crop of the zero-padded image, then a left-right flip", "[train]") {
  const int c = 3, h = 5, w = 7, pad = 2;
  Rng rng(11);
  std::vector<float> src(static_cast<size_t>(c * h * w)), dst(src.size());
  for (float& v : src) v = rng.uniform(0.1f, 1.0f);  // never 0, so padding is told apart
  // Reference: build the padded image, take the crop at (oy, ox), then flip.
  auto expect = [&](const CropFlip& t, int ch, int y, int x) {
    const int hp = h + 2 * pad, wp = w + 2 * pad;
    std::vector<float> padded(static_cast<size_t>(hp * wp), 0.0f);
    for (int yy = 0; yy < h; ++yy)
      for (int xx = 0; xx < w; ++xx)
        padded[static_cast<size_t>((yy + pad) * wp + xx + pad)] = src[static_cast<size_t>((ch * h + yy) * w + xx)];
    const int xc = t.flip ? w - 1 - x : x;
    return padded[static_cast<size_t>((y + t.oy) * wp + xc + t.ox)];
  };
  for (int oy = 0; oy <= 2 * pad; ++oy)
    for (int ox = 0; ox <= 2 * pad; ++ox)
      for (bool flip : {false, true}) {
        const CropFlip t{oy, ox, flip};
        crop_flip(src.data(), dst.data(), c, h, w, pad, t);
        for (int ch = 0; ch < c; ++ch)
          for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) REQUIRE(dst[static_cast<size_t>((ch * h + y) * w + x)] == expect(t, ch, y, x));
      }
  crop_flip(src.data(), dst.data(), c, h, w, pad, CropFlip{pad, pad, false});
  CHECK(dst == src);  // the centre crop without flip is the image itself
}

TEST_CASE("draw_crop_flip: the same draws on every platform, every offset reachable", "[train]") {
  // mt19937_64's output is fixed by the C++ standard and Rng::below is integer arithmetic, so these
  // values are the same natively and in WebAssembly.
  Rng rng(1);
  std::vector<int> seen;
  for (int i = 0; i < 4; ++i) {
    const CropFlip t = draw_crop_flip(rng, 4);
    seen.insert(seen.end(), {t.oy, t.ox, t.flip ? 1 : 0});
  }
  Rng again(1);
  for (int i = 0; i < 4; ++i) {
    const CropFlip t = draw_crop_flip(again, 4);
    CHECK(std::vector<int>{t.oy, t.ox, t.flip ? 1 : 0} ==
          std::vector<int>(seen.begin() + 3 * i, seen.begin() + 3 * i + 3));
  }
  INFO("first draws for seed 1");
  CHECK(seen == std::vector<int>{5, 6, 0, 0, 0, 1, 2, 0, 0, 4, 2, 1});
  std::vector<int> hits(9, 0), flips(2, 0);
  Rng r(2);
  for (int i = 0; i < 9000; ++i) {
    const CropFlip t = draw_crop_flip(r, 4);
    REQUIRE((t.oy >= 0 && t.oy <= 8 && t.ox >= 0 && t.ox <= 8));
    ++hits[static_cast<size_t>(t.oy)];
    ++flips[t.flip ? 1 : 0];
  }
  for (int k : hits) CHECK(k > 800);
  CHECK(flips[1] > 4200);
  CHECK(flips[0] > 4200);
}

TEST_CASE("training with augmentation is reproducible, differs from plain training, checks its padding", "[train]") {
  Dataset d;
  d.name = "random";
  Rng rng(4);
  d.images = Tensor({96, 3, 32, 32});
  for (float& v : d.images.data) v = rng.uniform();
  for (int i = 0; i < 96; ++i) d.labels.push_back(i % 10);
  TrainConfig cfg;
  cfg.batch = 32;
  cfg.epochs = 2;
  cfg.augment = true;
  auto weights = [&](const TrainConfig& c) {
    Sequential m = make_model("cifar_lenet", 5);
    train(m, d, c, nullptr);
    std::vector<float> w;
    for (const Param& p : m.params()) w.insert(w.end(), p.value->data.begin(), p.value->data.end());
    return w;
  };
  const std::vector<float> a = weights(cfg), b = weights(cfg);
  CHECK(a == b);
  TrainConfig plain = cfg;
  plain.augment = false;
  CHECK(weights(plain) != a);
  TrainConfig bad = cfg;
  bad.augment_pad = -1;
  Sequential m = make_model("cifar_lenet", 5);
  REQUIRE_THROWS_WITH(train(m, d, bad, nullptr), Catch::Contains("padding of 0-64 pixels"));
}
