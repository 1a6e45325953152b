// The one-pixel attack (engine/attacks/pixel.cpp): one batched logits() call per generation (a
// counting Classifier, which has no local evaluator; tests/unit/test_local_eval.cpp tests the local
// path), at most P pixels changed with values on the 8-bit grid, seeded, an image's run independent
// of the rest of the batch, the snapshot the playground draws, clear errors; and on the shipped
// cifar_lenet and real CIFAR-10 test images, evolution that finds what the random start did not.
// (The registry test runs it through every attack's invariants as well.)
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "engine/attacks/pixel.h"
#include "engine/data/dataset.h"
#include "engine/error.h"
#include "engine/io/model_io.h"
#include "engine/layers/layers.h"
#include "engine/models.h"
#include "engine/norms.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

// A classifier that counts what is asked of the one it wraps.
class Counting : public Classifier {
 public:
  explicit Counting(Classifier& inner) : inner_(inner) {}
  std::string name() const override { return "counting(" + inner_.name() + ")"; }
  const Shape& input_shape() const override { return inner_.input_shape(); }
  int num_classes() const override { return inner_.num_classes(); }
  const Tensor& logits(const Tensor& x) override {
    rows.push_back(x.dim(0));
    return inner_.logits(x);
  }
  void input_gradient(const Tensor& g, Tensor& dx) override {
    ++gradients;
    inner_.input_gradient(g, dx);
  }
  std::vector<int> rows;  // batch size of every logits() call
  int gradients = 0;

 private:
  Classifier& inner_;
};

Tensor random_rgb(int n, std::uint64_t seed) {
  Rng rng(seed);
  Tensor t({n, 3, 32, 32});
  for (float& v : t.data) v = static_cast<float>(rng.below(256)) / 255.0f;  // 8-bit, as real images
  return t;
}

// Pixels (positions in H x W) where adv and x differ, for sample i of [N, C, H, W].
std::set<int> changed(const Tensor& adv, const Tensor& x, int i) {
  std::set<int> out;
  const int c = x.dim(1), plane = x.dim(2) * x.dim(3);
  const float *a = adv.ptr() + i * x.sample_size(), *b = x.ptr() + i * x.sample_size();
  for (int ch = 0; ch < c; ++ch)
    for (int p = 0; p < plane; ++p)
      if (a[ch * plane + p] != b[ch * plane + p]) out.insert(p);
  return out;
}

}  // namespace

TEST_CASE("pixel: one logits() call per generation for the whole batch, chunked only past max_batch", "[pixel]") {
  Sequential m = make_model("small", 3);
  Counting counted(m);
  const Tensor x = test::random_images(3, 4);
  PixelAttack cfg;
  cfg.pop = 20, cfg.gens = 6, cfg.early_stop = false, cfg.seed = 1;
  const Goal goal{{0, 1, 2}, {}};
  std::unique_ptr<AttackRun> run = start_pixel(counted, cross_entropy_objective(), x, goal, cfg);
  int steps = 0;
  while (!run->step()) {
    ++steps;
    REQUIRE(counted.rows.size() == static_cast<size_t>(steps));  // one call per generation so far
  }
  REQUIRE(counted.rows == std::vector<int>(7, 60));  // the initial population + 6 generations, 3 x 20 rows each
  REQUIRE(counted.gradients == 0);
  REQUIRE(run->result().queries == 7 * 60);
  REQUIRE(run->result().gradient_calls == 0);
  REQUIRE(run->snapshot().queries == 7 * 20);  // sample 0's

  // Past max_batch: consecutive chunks of at most max_batch rows, one per step, the same result.
  Counting chunked(m);
  PixelAttack small_batches = cfg;
  small_batches.max_batch = 25;
  std::unique_ptr<AttackRun> r2 = start_pixel(chunked, cross_entropy_objective(), x, goal, small_batches);
  int chunk_steps = 1;
  double last = r2->progress();
  while (!r2->step()) {
    ++chunk_steps;
    REQUIRE(chunked.rows.size() == static_cast<size_t>(chunk_steps - 1));
    REQUIRE(r2->progress() > last);
    last = r2->progress();
  }
  REQUIRE(chunk_steps == 7 * 3);
  REQUIRE(chunked.rows.size() == 7 * 3);
  for (size_t g = 0; g < 7; ++g)
    REQUIRE(std::vector<int>(chunked.rows.begin() + 3 * g, chunked.rows.begin() + 3 * g + 3) ==
            std::vector<int>{25, 25, 10});
  REQUIRE(r2->result().adv.data == run->result().adv.data);

  // With early stop (the registry's default), still one call per generation: images that stop
  // leave the batch.
  Counting es(m);
  cfg.early_stop = true;
  std::unique_ptr<AttackRun> r3 = start_pixel(es, cross_entropy_objective(), x, goal, cfg);
  int gens = 0;
  while (!r3->step()) ++gens;
  REQUIRE(es.rows.size() == static_cast<size_t>(gens + 1));
  for (size_t g = 1; g < es.rows.size(); ++g) REQUIRE(es.rows[g] <= es.rows[g - 1]);
}

TEST_CASE("pixel: at most P pixels, 8-bit values, seeded, targeted success = pred == target (grey and RGB)",
          "[pixel]") {
  for (const char* arch : {"small", "cifar_lenet"}) {
    INFO(arch);
    Sequential m = make_model(arch, 5);
    const bool rgb = m.input_shape()[0] == 3;
    const Tensor x = rgb ? random_rgb(4, 6) : test::random_images(4, 6);
    const Tensor x_copy = x;
    const std::vector<int> y = m.predict(x), t = {(y[0] + 1) % 10, (y[1] + 3) % 10, (y[2] + 5) % 10, (y[3] + 7) % 10};
    for (int pixels : {1, 3, 5})
      for (const Goal& goal : {Goal{y, {}}, Goal{y, t}}) {
        PixelAttack cfg;
        cfg.pixels = pixels, cfg.pop = 20, cfg.gens = 5, cfg.seed = 11;
        std::unique_ptr<AttackRun> run = start_pixel(m, cross_entropy_objective(), x, goal, cfg);
        while (!run->step()) {
        }
        const AttackResult& r = run->result();
        REQUIRE(x.data == x_copy.data);
        const std::vector<int> pred = m.predict(r.adv);
        REQUIRE(pred == r.pred);
        for (int i = 0; i < 4; ++i) {
          const auto u = static_cast<size_t>(i);
          REQUIRE(changed(r.adv, x, i).size() <= static_cast<size_t>(pixels));
          REQUIRE(perturbation_norms(r.adv, x, i).l0 <= pixels);
          if (goal.targeted())
            REQUIRE(static_cast<bool>(r.success[u]) == (pred[u] == t[u]));
          else
            REQUIRE(static_cast<bool>(r.success[u]) == (pred[u] != y[u]));
        }
        for (size_t j = 0; j < x.data.size(); ++j) {
          const float v = r.adv.data[j];
          REQUIRE(v >= 0.0f);
          REQUIRE(v <= 1.0f);
          if (v != x.data[j]) REQUIRE(std::nearbyint(v * 255.0f) / 255.0f == v);  // a changed value: on the 8-bit grid
        }
        // Same seed, same result; another seed, another search.
        std::unique_ptr<AttackRun> again = start_pixel(m, cross_entropy_objective(), x, goal, cfg);
        while (!again->step()) {
        }
        REQUIRE(again->result().adv.data == r.adv.data);
        cfg.seed = 12;
        std::unique_ptr<AttackRun> other = start_pixel(m, cross_entropy_objective(), x, goal, cfg);
        while (!other->step()) {
        }
        REQUIRE(other->snapshot().candidates != run->snapshot().candidates);
      }
  }
}

TEST_CASE("pixel: an image's run does not depend on the rest of the batch", "[pixel]") {
  Sequential m = make_model("small", 7);
  const Tensor x = test::random_images(3, 8);
  const std::vector<int> y = m.predict(x);
  PixelAttack cfg;
  cfg.pop = 24, cfg.gens = 10, cfg.seed = 3;
  std::unique_ptr<AttackRun> all = start_pixel(m, cross_entropy_objective(), x, Goal{y, {}}, cfg);
  while (!all->step()) {
  }
  std::unique_ptr<AttackRun> first = start_pixel(m, cross_entropy_objective(), x.slice(0, 1), Goal{{y[0]}, {}}, cfg);
  while (!first->step()) {
  }
  const std::int64_t per = x.sample_size();
  REQUIRE(std::equal(first->result().adv.data.begin(), first->result().adv.data.end(), all->result().adv.data.begin()));
  REQUIRE(first->result().pred[0] == all->result().pred[0]);
  REQUIRE(first->snapshot().best_history == all->snapshot().best_history);
  REQUIRE(per == 784);
}

TEST_CASE("pixel: the snapshot shows sample 0's population, its best and its progress", "[pixel]") {
  Sequential m = make_model("cifar_lenet", 9);
  const Tensor x = random_rgb(2, 10);
  const std::vector<int> y = m.predict(x);
  PixelAttack cfg;
  cfg.pixels = 3, cfg.pop = 40, cfg.gens = 12, cfg.early_stop = false, cfg.seed = 4;
  std::unique_ptr<AttackRun> run = start_pixel(m, cross_entropy_objective(), x, Goal{y, {}}, cfg);
  AttackSnapshot s = run->snapshot();
  REQUIRE(s.candidates.empty());
  REQUIRE(s.best == -1);
  REQUIRE(s.iterations == 12);
  int steps = 0;
  while (!run->step()) {
    ++steps;
    s = run->snapshot();
    REQUIRE(s.iteration == steps - 1);
    REQUIRE(s.best_history.size() == static_cast<size_t>(steps));
    REQUIRE(s.queries == steps * 40);
    REQUIRE(s.candidates.size() == 40);
    for (const std::vector<int>& c : s.candidates) {
      REQUIRE(c.size() == 3);
      for (int p : c) REQUIRE((p >= 0 && p < 32 * 32));
    }
    REQUIRE((s.best >= 0 && s.best < 40));
    // Selection never loses the best: the population's best fitness never falls.
    for (size_t g = 1; g < s.best_history.size(); ++g) REQUIRE(s.best_history[g] >= s.best_history[g - 1]);
    REQUIRE(run->progress() == Approx(steps / 13.0));
  }
  s = run->snapshot();
  REQUIRE(s.iteration == 12);
  REQUIRE(s.best_history.size() == 13);
  // The result is the best candidate found: its fitness is the last best_history entry unless a
  // (less fit) successful candidate was preferred.
  const AttackResult& r = run->result();
  if (!r.success[0]) {
    std::vector<float> v;
    cross_entropy_objective().evaluate(r.logits.slice(0, 1), Goal{{y[0]}, {}}, v, nullptr);
    REQUIRE(v[0] == Approx(s.best_history.back()));
  }
}

// The strategy options (rand1 the paper's default, best1, dither, a Latin hypercube start): each
// keeps the budget and the query count, is seeded, and searches differently from the others.
TEST_CASE("pixel: strategies keep the budget, are seeded and differ", "[pixel]") {
  Sequential m = make_model("cifar_lenet", 13);
  const Tensor x = random_rgb(3, 14);
  const std::vector<int> y = m.predict(x);
  const PixelAttack paper;
  REQUIRE(paper.strategy == PixelStrategy::Rand1);  // the defaults are the paper's
  REQUIRE_FALSE(paper.dither);
  REQUIRE(paper.init == PixelInit::Normal);
  struct Setting {
    PixelStrategy strategy;
    bool dither;
    PixelInit init;
  };
  const Setting settings[] = {{PixelStrategy::Rand1, false, PixelInit::Normal},
                              {PixelStrategy::Best1, false, PixelInit::Normal},
                              {PixelStrategy::Best1, true, PixelInit::Normal},
                              {PixelStrategy::Best1, true, PixelInit::Uniform}};
  std::vector<std::vector<std::vector<int>>> populations;
  for (const Setting& st : settings) {
    PixelAttack cfg;
    cfg.pixels = 3, cfg.pop = 20, cfg.gens = 6, cfg.early_stop = false, cfg.seed = 5;
    cfg.strategy = st.strategy, cfg.dither = st.dither, cfg.init = st.init;
    std::unique_ptr<AttackRun> run = start_pixel(m, cross_entropy_objective(), x, Goal{y, {}}, cfg);
    while (!run->step()) {
    }
    const AttackResult& r = run->result();
    REQUIRE(r.queries == 3 * 20 * 7);
    for (int i = 0; i < 3; ++i) REQUIRE(changed(r.adv, x, i).size() <= 3);
    for (size_t j = 0; j < x.data.size(); ++j)
      if (r.adv.data[j] != x.data[j]) REQUIRE(std::nearbyint(r.adv.data[j] * 255.0f) / 255.0f == r.adv.data[j]);
    const AttackSnapshot s = run->snapshot();
    for (size_t g = 1; g < s.best_history.size(); ++g) REQUIRE(s.best_history[g] >= s.best_history[g - 1]);
    std::unique_ptr<AttackRun> again = start_pixel(m, cross_entropy_objective(), x, Goal{y, {}}, cfg);
    while (!again->step()) {
    }
    REQUIRE(again->result().adv.data == r.adv.data);
    REQUIRE(again->snapshot().candidates == s.candidates);
    populations.push_back(s.candidates);
  }
  for (size_t a = 0; a < populations.size(); ++a)
    for (size_t b = a + 1; b < populations.size(); ++b) REQUIRE(populations[a] != populations[b]);
}

// best1 breeds around the fittest candidate: after a few generations of a 1-pixel search the
// population has gathered on far fewer distinct pixels than rand1's, from the same start.
TEST_CASE("pixel: best1 gathers the population around its best, rand1 keeps it spread", "[pixel]") {
  Sequential m = make_model("cifar_lenet", 15);
  const Tensor x = random_rgb(1, 16);
  const std::vector<int> y = m.predict(x);
  auto distinct = [&](PixelStrategy strategy) {
    PixelAttack cfg;
    cfg.pop = 100, cfg.gens = 15, cfg.early_stop = false, cfg.seed = 2, cfg.strategy = strategy;
    std::unique_ptr<AttackRun> run = start_pixel(m, cross_entropy_objective(), x, Goal{y, {}}, cfg);
    while (!run->step()) {
    }
    std::set<int> at;
    for (const std::vector<int>& c : run->snapshot().candidates) at.insert(c[0]);
    return at.size();
  };
  const size_t rand1 = distinct(PixelStrategy::Rand1), best1 = distinct(PixelStrategy::Best1);
  INFO("distinct pixels after 15 generations: rand1 " << rand1 << ", best1 " << best1);
  REQUIRE(best1 < rand1);
}

// The uniform start is a Latin hypercube: with pop = W = H = 32 every column and every row is taken
// by exactly one candidate (one stratum of width 1 each).
TEST_CASE("pixel: the uniform start is a Latin hypercube", "[pixel]") {
  Sequential m = make_model("cifar_lenet", 17);
  const Tensor x = random_rgb(1, 18);
  PixelAttack cfg;
  cfg.pop = 32, cfg.gens = 0, cfg.seed = 9, cfg.init = PixelInit::Uniform;
  std::unique_ptr<AttackRun> run = start_pixel(m, cross_entropy_objective(), x, Goal{m.predict(x), {}}, cfg);
  run->step();
  std::set<int> rows, cols;
  for (const std::vector<int>& c : run->snapshot().candidates) rows.insert(c[0] / 32), cols.insert(c[0] % 32);
  REQUIRE(rows.size() == 32);
  REQUIRE(cols.size() == 32);
}

TEST_CASE("pixel: clear errors", "[pixel][errors]") {
  Sequential m = make_model("small", 1);
  const Tensor x = test::random_images(1, 2);
  PixelAttack cfg;
  cfg.pop = 3;
  REQUIRE_THROWS_WITH(start_pixel(m, cross_entropy_objective(), x, Goal{{0}, {}}, cfg),
                      Catch::Contains("pop must be >= 4"));
  cfg.pop = 10, cfg.pixels = 785;
  REQUIRE_THROWS_WITH(start_pixel(m, cross_entropy_objective(), x, Goal{{0}, {}}, cfg),
                      Catch::Contains("pixels must be in 1..784"));
  cfg.pixels = 1, cfg.mutation = std::nanf("");
  REQUIRE_THROWS_WITH(start_pixel(m, cross_entropy_objective(), x, Goal{{0}, {}}, cfg),
                      Catch::Contains("mutation must be"));
  cfg.mutation = 1.0f, cfg.dither = true;
  REQUIRE_THROWS_WITH(start_pixel(m, cross_entropy_objective(), x, Goal{{0}, {}}, cfg),
                      Catch::Contains("mutation must be < 1 with dither"));
  // A model whose input is not an image.
  Sequential flat("flat", {784}, 10);
  auto lin = std::make_unique<Linear>(784, 10);
  flat.add(std::move(lin));
  Tensor v({1, 784}, 0.5f);
  REQUIRE_THROWS_WITH(start_pixel(flat, cross_entropy_objective(), v, Goal{{0}, {}}, PixelAttack{}),
                      Catch::Contains("changes pixels of images [C, H, W]"));
  // From the registry: the budget is checked against the table.
  ParamValues p = defaults(get_attack("pixel").params);
  p.set("pixels", 0);
  REQUIRE_THROWS_WITH(run_attack(get_attack("pixel"), {m, cross_entropy_objective(), x, Goal{{0}, {}}, p, 0}),
                      Catch::Contains("pixels must be >= 1"));
  p.set("pixels", 1), p.set("strategy", 2);
  REQUIRE_THROWS_WITH(run_attack(get_attack("pixel"), {m, cross_entropy_objective(), x, Goal{{0}, {}}, p, 0}),
                      Catch::Contains("strategy"));
}

// Real numbers: the shipped cifar_lenet on the first correctly classified CIFAR-10 test images
// (exact pixels). Evolution must beat its own random start: after 40 generations the best fitness
// (-log p_label) is higher than the initial population's on every image that was not fooled at the
// start, and at 3 pixels at least one of the 8 images is fooled (the full-size numbers are in
// REPRODUCTIONS.md: 3 pixels fool most of them).
TEST_CASE("pixel: evolution beats the random start on the shipped cifar_lenet", "[pixel][shipped]") {
  Sequential m = load_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/cifar_lenet.safetensors");
  const Dataset d = load_dataset(resolve_data_dir(""), "cifar10-exact", "test").head(20);
  const std::vector<int> pred = m.predict(d.images);
  std::vector<int> keep, labels;
  for (int i = 0; i < d.size() && keep.size() < 8; ++i)
    if (pred[static_cast<size_t>(i)] == d.labels[static_cast<size_t>(i)])
      keep.push_back(i), labels.push_back(d.labels[static_cast<size_t>(i)]);
  REQUIRE(keep.size() == 8);
  Tensor x({8, 3, 32, 32});
  for (size_t k = 0; k < keep.size(); ++k)
    std::copy_n(d.images.ptr() + keep[k] * 3072, 3072, x.ptr() + static_cast<std::int64_t>(k) * 3072);
  PixelAttack cfg;
  cfg.pixels = 3, cfg.pop = 100, cfg.gens = 40, cfg.early_stop = false, cfg.seed = 1;
  int fooled = 0;
  for (int i = 0; i < 8; ++i) {
    std::unique_ptr<AttackRun> run =
        start_pixel(m, cross_entropy_objective(), x.slice(i, 1), Goal{{labels[static_cast<size_t>(i)]}, {}}, cfg);
    run->step();
    const bool at_start = run->result().success[0];
    const double start = run->snapshot().best_history[0];
    while (!run->step()) {
    }
    const AttackSnapshot s = run->snapshot();
    if (!at_start) CHECK(s.best_history.back() > start);
    fooled += run->result().success[0];
    REQUIRE(changed(run->result().adv, x.slice(i, 1), 0).size() <= 3);
  }
  std::printf("[pixel] cifar_lenet, 8 images, 3 px, pop 100, 40 generations: %d fooled\n", fooled);
  CHECK(fooled >= 1);
}
