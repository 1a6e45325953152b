// The adversarial patch (Brown et al. 2017, arXiv:1712.09665): the patch application operator
// (exact copies, only covered pixels change, [0, 1], gradients w.r.t. the patch and the image
// against finite differences under random placements), the EOT loss through a model, the trainer
// (seeded, resumable, clipped, the loss falls), the registered attack's runs as the playground sees
// them, and the fixed-patch crafter of `advx patch eval`.
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "engine/attacks/attack.h"
#include "engine/attacks/patch_trainer.h"
#include "engine/error.h"
#include "engine/eval/evaluate.h"
#include "engine/models.h"
#include "engine/patch.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

Tensor uniform(const Shape& s, std::uint64_t seed, float lo = 0.0f, float hi = 1.0f) {
  Rng rng(seed);
  Tensor t(s);
  for (float& v : t.data) v = rng.uniform(lo, hi);
  return t;
}

// sum_j r_j y_j: a loss with dL/dy = r.
double dot(const Tensor& r, const Tensor& y) {
  double s = 0.0;
  for (size_t i = 0; i < y.data.size(); ++i) s += static_cast<double>(r.data[i]) * y.data[i];
  return s;
}

}  // namespace

TEST_CASE("patch operator: an aligned placement at scale 1 copies the patch, elsewhere the image is untouched",
          "[patch]") {
  const Tensor x = uniform({1, 3, 20, 24}, 1), p = uniform({3, 5, 5}, 2);
  PatchApplier a;
  // Patch pixel (a, b) centres on image pixel (7 + a, 3 + b): centre (7 + 2, 3 + 2), side 5.
  a.place({PatchPlacement{9.0, 5.0, 5.0, 0.0}}, 3, 20, 24, 5);
  Tensor y;
  a.forward(p, x, y);
  REQUIRE(a.covered(0).size() == 25);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 20; ++i)
      for (int j = 0; j < 24; ++j) {
        const auto k = static_cast<size_t>((c * 20 + i) * 24 + j);
        const bool in = i >= 7 && i < 12 && j >= 3 && j < 8;
        REQUIRE(y.data[k] == (in ? p.data[static_cast<size_t>((c * 5 + i - 7) * 5 + j - 3)] : x.data[k]));
      }
  // A quarter turn on the same centre: y(7 + a, 3 + b) = P(4 - b, a) (up to cos(pi/2) ~ 6e-17).
  a.place({PatchPlacement{9.0, 5.0, 5.0, std::acos(-1.0) / 2.0}}, 3, 20, 24, 5);
  a.forward(p, x, y);
  for (int c = 0; c < 3; ++c)
    for (int i = 7; i < 12; ++i)
      for (int j = 3; j < 8; ++j)
        REQUIRE(y.data[static_cast<size_t>((c * 20 + i) * 24 + j)] ==
                Approx(p.data[static_cast<size_t>((c * 5 + 4 - (j - 3)) * 5 + i - 7)]).margin(1e-6));
}

TEST_CASE("patch operator: random placements change only covered pixels, stay in [0, 1], cover the area", "[patch]") {
  const Tensor p = uniform({1, 8, 8}, 3);
  Rng rng(4);
  const PatchEot eot{0.12, 45.0, 0.3};
  std::vector<PatchPlacement> where;
  for (int n = 0; n < 200; ++n) where.push_back(sample_placement(rng, eot, 28, 28));
  Tensor x = uniform({200, 1, 28, 28}, 5);
  x.data[0] = 0.0f, x.data[1] = 1.0f;
  PatchApplier a;
  a.place(where, 1, 28, 28, 8);
  Tensor y;
  a.forward(p, x, y);
  for (int n = 0; n < 200; ++n) {
    const std::vector<int> cov = a.covered(n);
    const std::set<int> in(cov.begin(), cov.end());
    const double side = where[static_cast<size_t>(n)].side;
    // Pixel centres in a square of side s: s^2 up to its border, at most 2 sqrt(2) s + 1 either way.
    CHECK(std::fabs(static_cast<double>(cov.size()) - side * side) <= 2.0 * std::sqrt(2.0) * side + 1.0);
    for (int q = 0; q < 784; ++q) {
      const auto k = static_cast<size_t>(n * 784 + q);
      if (!in.count(q)) REQUIRE(y.data[k] == x.data[k]);
      REQUIRE(y.data[k] >= 0.0f);
      REQUIRE(y.data[k] <= 1.0f);
    }
    // Inside the image: the rotated square was placed so that it fits.
    for (int q : cov) REQUIRE((q >= 0 && q < 784));
  }
}

TEST_CASE("patch operator: gradients w.r.t. the patch and the image match finite differences (EOT placements)",
          "[patch][grad]") {
  // Patch values inside [0.1, 0.9] so that a step of h never reaches the [0, 1] clamp.
  Tensor p = uniform({3, 6, 6}, 6, 0.1f, 0.9f), x = uniform({4, 3, 16, 16}, 7);
  Rng rng(8);
  std::vector<PatchPlacement> where;
  for (int n = 0; n < 4; ++n) where.push_back(sample_placement(rng, PatchEot{0.2, 45.0, 0.3}, 16, 16));
  PatchApplier a;
  a.place(where, 3, 16, 16, 6);
  Tensor y;
  a.forward(p, x, y);
  const Tensor r = uniform(y.shape, 9, -1.0f, 1.0f);
  Tensor dx, dp;
  a.backward(r, &dx, &dp);
  auto loss = [&]() {
    Tensor yy;
    a.forward(p, x, yy);
    return dot(r, yy);
  };
  const float h = 1e-2f;
  for (size_t i = 0; i < p.data.size(); ++i) {
    const float old = p.data[i];
    p.data[i] = old + h;
    const double lp = loss();
    p.data[i] = old - h;
    const double lm = loss();
    p.data[i] = old;
    INFO("dL/dP[" << i << "]: analytic " << dp.data[i] << " numeric " << (lp - lm) / (2.0 * h));
    CHECK(std::fabs((lp - lm) / (2.0 * h) - dp.data[i]) <= 1e-3 * (1.0 + std::fabs(dp.data[i])));
  }
  int inside = 0;
  for (size_t i = 0; i < x.data.size(); i += 5) {
    const float old = x.data[i];
    x.data[i] = old + h;
    const double lp = loss();
    x.data[i] = old - h;
    const double lm = loss();
    x.data[i] = old;
    INFO("dL/dx[" << i << "]: analytic " << dx.data[i] << " numeric " << (lp - lm) / (2.0 * h));
    CHECK(std::fabs((lp - lm) / (2.0 * h) - dx.data[i]) <= 1e-3);
    inside += dx.data[i] == 0.0f;
  }
  CHECK(inside > 0);  // some sampled pixels were under the patch (their gradient is zero)
  // backward adds into a patch gradient of the right shape (as layers add their weight gradients).
  Tensor twice = dp;
  a.backward(r, nullptr, &twice);
  for (size_t i = 0; i < dp.data.size(); ++i) REQUIRE(twice.data[i] == Approx(2.0f * dp.data[i]));
  REQUIRE_THROWS_WITH(a.forward(uniform({3, 5, 5}, 1), x, y), Catch::Contains("patch must be [3, 6, 6]"));
  REQUIRE_THROWS_WITH(a.forward(p, uniform({2, 3, 16, 16}, 1), y), Catch::Contains("one image per placement"));
}

TEST_CASE("patch EOT loss: its gradient through a model matches finite differences", "[patch][grad]") {
  for (const char* arch : {"softmax", "small"}) {
    INFO("model " << arch);
    Sequential m = make_model(arch, 10);
    const Tensor x = test::random_images(6, 11);
    Tensor p = uniform({1, 9, 9}, 12, 0.1f, 0.9f);
    Rng rng(13);
    std::vector<PatchPlacement> where;
    for (int n = 0; n < 6; ++n) where.push_back(sample_placement(rng, PatchEot{0.1, 20.0, 0.1}, 28, 28));
    PatchApplier a;
    a.place(where, 1, 28, 28, 9);
    const Goal goal{{0, 1, 2, 3, 4, 5}, {7, 7, 7, 7, 7, 7}};
    PatchLoss loss;
    Tensor g;
    const double l0 = loss.evaluate(m, cross_entropy_objective(), a, p, x, goal, &g);
    REQUIRE(g.shape == p.shape);
    // The loss is the mean target cross-entropy.
    double ce = 0.0;
    for (float v : loss.values()) ce -= v;
    REQUIRE(l0 == Approx(ce / 6));
    // A directional derivative along a random direction, and a few coordinates.
    const Tensor d = uniform(p.shape, 14, -1.0f, 1.0f);
    const float h = 1e-2f;
    Tensor pp = p, pm = p;
    for (size_t i = 0; i < p.data.size(); ++i) pp.data[i] += h * d.data[i], pm.data[i] -= h * d.data[i];
    const double numeric = (loss.evaluate(m, cross_entropy_objective(), a, pp, x, goal, nullptr) -
                            loss.evaluate(m, cross_entropy_objective(), a, pm, x, goal, nullptr)) /
                           (2.0 * h);
    const double analytic = dot(d, g);
    INFO("directional: analytic " << analytic << " numeric " << numeric);
    CHECK(std::fabs(numeric - analytic) <= 2e-3 + 2e-2 * std::fabs(analytic));
    double scale = 1e-4;
    for (float v : g.data) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    for (size_t i = 0; i < p.data.size(); i += 7) {
      Tensor q = p;
      q.data[i] += h;
      const double lp = loss.evaluate(m, cross_entropy_objective(), a, q, x, goal, nullptr);
      q.data[i] -= 2 * h;
      const double lm = loss.evaluate(m, cross_entropy_objective(), a, q, x, goal, nullptr);
      INFO("dL/dP[" << i << "]: analytic " << g.data[i] << " numeric " << (lp - lm) / (2.0 * h));
      CHECK(std::fabs((lp - lm) / (2.0 * h) - g.data[i]) <= 3e-2 * scale);
    }
  }
}

TEST_CASE("patch trainer: seeded, resumable in steps, clipped to [0, 1], and its loss falls", "[patch]") {
  // A softmax regression with its weights scaled up: the logits depend strongly on the pixels, so a
  // patch can move them (a freshly initialised network barely reacts to its input).
  Sequential m = make_model("softmax", 15);
  for (const Param& q : m.params())
    for (float& v : q.value->data) v *= 30.0f;
  const Tensor x = test::random_images(40, 16);
  std::vector<int> labels(40);
  for (int i = 0; i < 40; ++i) labels[static_cast<size_t>(i)] = i % 10;
  PatchTrainConfig cfg;
  cfg.eot.area = 0.15;
  cfg.seed = 17;
  cfg.batch = 16;
  PatchTrainer a(m, cross_entropy_objective(), x, labels, 3, cfg), b(m, cross_entropy_objective(), x, labels, 3, cfg);
  REQUIRE(a.patch().shape == Shape({1, 11, 11}));  // round(sqrt(0.15 * 784)) = round(10.8)
  for (int k = 0; k < 60; ++k) a.step();
  for (int k = 0; k < 60; ++k) {
    b.step();
    REQUIRE(b.history().back().success >= 0.0);  // the numbers of every step, as the playground reads them
  }
  REQUIRE(a.patch().data == b.patch().data);
  REQUIRE(a.steps() == 60);
  REQUIRE(a.gradient_calls() == 60 * 16);
  for (size_t k = 0; k < 60; ++k) REQUIRE(a.history()[k].loss == b.history()[k].loss);
  for (float v : a.patch().data) REQUIRE((v >= 0.0f && v <= 1.0f));
  REQUIRE(a.last_batch().shape == Shape({16, 1, 28, 28}));
  REQUIRE(a.last_placements().size() == 16);
  double first = 0.0, last = 0.0;
  for (size_t k = 0; k < 10; ++k) first += a.history()[k].loss / 10, last += a.history()[50 + k].loss / 10;
  INFO("mean loss of steps 1-10 " << first << ", of steps 51-60 " << last);
  CHECK(last < 0.9 * first);  // measured: 21.7 -> 18.2
  cfg.seed = 18;
  PatchTrainer c(m, cross_entropy_objective(), x, labels, 3, cfg);
  c.step();
  REQUIRE(c.patch().data != a.patch().data);
  // Starting from a given patch; wrong shapes and values are errors.
  PatchTrainer d(m, cross_entropy_objective(), x, labels, 3, cfg, {}, &a.patch());
  REQUIRE(d.patch().data == a.patch().data);
  const Tensor small_patch = uniform({1, 4, 4}, 1);
  REQUIRE_THROWS_WITH(PatchTrainer(m, cross_entropy_objective(), x, labels, 3, cfg, {}, &small_patch),
                      Catch::Contains("starting patch must be [1, 11, 11]"));
  REQUIRE_THROWS_WITH(PatchTrainer(m, cross_entropy_objective(), x, labels, 10, cfg), Catch::Contains("out of range"));
  std::vector<int> all3(40, 3);
  REQUIRE_THROWS_WITH(PatchTrainer(m, cross_entropy_objective(), x, all3, 3, cfg), Catch::Contains("no image"));
  cfg.eot.area = 0.0;
  REQUIRE_THROWS_WITH(PatchTrainer(m, cross_entropy_objective(), x, labels, 3, cfg), Catch::Contains("area"));
}

TEST_CASE("patch attack: one patch per target class, the run shows its trainers and placements", "[patch]") {
  Sequential m = make_model("small", 19);
  const Tensor x = test::random_images(5, 20);
  ParamValues p = defaults(get_attack("patch").params);
  p.set("steps", 4);
  const Goal targeted{{0, 1, 2, 3, 4}, {9, 9, 0, 0, 1}};
  std::unique_ptr<AttackRun> run =
      start_attack(get_attack("patch"), {m, cross_entropy_objective(), x, targeted, p, 21});
  const auto* view = dynamic_cast<const PatchRunView*>(run.get());
  REQUIRE(view);
  REQUIRE(view->trainer_count() == 3);
  REQUIRE(view->trainer(0).target() == 9);
  REQUIRE(view->trainer(1).target() == 0);
  REQUIRE(view->trainer(2).target() == 1);
  REQUIRE(view->sample_trainer() == std::vector<int>{0, 0, 1, 1, 2});
  run->step();
  AttackSnapshot s = run->snapshot();
  REQUIRE(s.iteration == 1);
  REQUIRE(s.iterations == 12);
  REQUIRE(s.best_history.size() == 1);
  REQUIRE(s.candidates.size() == 1);
  REQUIRE(!s.candidates[0].empty());
  while (!run->step()) {
  }
  REQUIRE(view->current_trainer() == 2);
  REQUIRE(view->placements().size() == 5);
  s = run->snapshot();
  REQUIRE(s.iteration == 12);
  // Sample 0's changed pixels are among those its final placement covers.
  const std::vector<int> cov = s.candidates.at(0);
  const std::set<int> in(cov.begin(), cov.end());
  int changed = 0;
  for (int q = 0; q < 784; ++q)
    if (run->result().adv.data[static_cast<size_t>(q)] != x.data[static_cast<size_t>(q)]) {
      REQUIRE(in.count(q));
      ++changed;
    }
  REQUIRE(changed > 0);
  // Untargeted: one patch for the whole batch.
  std::unique_ptr<AttackRun> u =
      start_attack(get_attack("patch"), {m, cross_entropy_objective(), x, Goal{{0, 1, 2, 3, 4}, {}}, p, 21});
  REQUIRE(dynamic_cast<const PatchRunView*>(u.get())->trainer_count() == 1);
  REQUIRE(dynamic_cast<const PatchRunView*>(u.get())->trainer(0).target() == -1);
}

TEST_CASE("patch crafter: the same placements whatever the batch size, a fixed patch moves between models",
          "[patch][eval]") {
  Sequential m = make_model("small", 22), other = make_model("softmax", 23);
  Dataset d;
  d.images = test::random_images(30, 24);
  d.labels = m.predict(d.images);
  const Tensor patch = uniform({1, 9, 9}, 25);
  EvalConfig cfg;
  cfg.attack = patch_crafter(patch, PatchEot{0.1, 20.0, 0.0}, 26);
  cfg.target = 2;
  cfg.batch = 256;
  const EvalResult all = evaluate(m, d, cfg);
  cfg.batch = 7;
  const EvalResult sliced = evaluate(m, d, cfg);  // a fresh copy of the crafter: the same placements
  REQUIRE(sliced.adv.data == all.adv.data);
  REQUIRE(sliced.success_rate == all.success_rate);
  REQUIRE(all.l0_mean > 0.0);
  REQUIRE(all.l0_mean <= 78.4 + 2.0 * std::sqrt(2.0 * 78.4) + 1.0);
  REQUIRE(all.gradient_calls == 0);
  // Scored on another model: its own predictions on the patched images.
  const EvalResult on_other = evaluate(other, d, cfg);
  REQUIRE(on_other.n == 30);
  REQUIRE_THROWS_WITH(patch_crafter(uniform({1, 4, 5}, 1), PatchEot{}, 0), Catch::Contains("square"));
}
