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
