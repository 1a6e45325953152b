// The exact local evaluation of few-pixel candidates (engine/local_eval.h), which the one-pixel
// attack uses: on every shipped model (and random weights) and P = 1, 3, 5 pixel writes (corners,
// borders, a pixel written twice: the last write wins), the logits equal the full forward pass of
// the materialised candidates within 1e-4 of the largest |logit|; layers that cannot take a local
// change end the local part (the rest runs densely, still exact); other Classifiers materialise;
// and the pixel attack on a bare Sequential uses it with the same query count.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>

#include "engine/attacks/pixel.h"
#include "engine/data/dataset.h"
#include "engine/error.h"
#include "engine/io/model_io.h"
#include "engine/layers/layers.h"
#include "engine/local_eval.h"
#include "engine/models.h"
#include "engine/pipeline.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

// Owns the arrays of a PixelEdits.
struct Edits {
  int rows = 0, writes = 0;
  std::vector<int> base, pixel;
  std::vector<float> value;
  PixelEdits view() const { return {rows, writes, base.data(), pixel.data(), value.data()}; }
};

// `rows` candidates of P writes on `bases` images [c, h, w]: the first 16 at the corners and the
// middles of the borders, every fifth with its last write on its first write's pixel (with P > 1);
// values 0, 1 or a random 8-bit level.
Edits make_edits(int bases, int c, int h, int w, int p, int rows, Rng& rng) {
  const int special[] = {
      0, w - 1, (h - 1) * w, h * w - 1, w / 2, (h - 1) * w + w / 2, (h / 2) * w, (h / 2) * w + w - 1};
  Edits e;
  e.rows = rows, e.writes = p;
  for (int r = 0; r < rows; ++r) {
    e.base.push_back(r % bases);
    for (int q = 0; q < p; ++q) {
      int px = r < 16 ? special[(r + q) % 8] : static_cast<int>(rng.below(static_cast<std::uint64_t>(h * w)));
      if (p > 1 && q == p - 1 && r % 5 == 4) px = e.pixel[static_cast<size_t>(r * p)];
      e.pixel.push_back(px);
      for (int ch = 0; ch < c; ++ch) {
        const std::uint64_t kind = rng.below(4);
        e.value.push_back(kind == 0 ? 0.0f : kind == 1 ? 1.0f : static_cast<float>(rng.below(256)) / 255.0f);
      }
    }
  }
  return e;
}

// The candidates as images: base, then every write in order.
Tensor materialise(const Tensor& base, const Edits& e) {
  Shape s = base.shape;
  s[0] = e.rows;
  Tensor t(s);
  const int c = base.dim(1), plane = base.dim(2) * base.dim(3);
  const std::int64_t per = base.sample_size();
  for (int r = 0; r < e.rows; ++r) {
    float* img = t.ptr() + r * per;
    std::copy_n(base.ptr() + e.base[static_cast<size_t>(r)] * per, per, img);
    for (int q = 0; q < e.writes; ++q) {
      const size_t w = static_cast<size_t>(r * e.writes + q);
      for (int ch = 0; ch < c; ++ch)
        img[ch * plane + e.pixel[w]] = e.value[w * static_cast<size_t>(c) + static_cast<size_t>(ch)];
    }
  }
  return t;
}

// max |a - b| / max |b|.
double relative_error(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape == b.shape);
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a.data[i]) - b.data[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b.data[i])));
  }
  return scale > 0.0 ? worst / scale : worst;
}

constexpr double kTolerance = 1e-4;  // of the largest |logit| of the batch

// The local evaluator of m on `base` against m's full forward pass of the materialised candidates,
// for P = 1, 3, 5; returns the worst relative error seen.
double check_model(Sequential& m, const Tensor& base, int expect_local_layers, std::uint64_t seed) {
  std::unique_ptr<LocalEvaluator> ev = make_local_evaluator(m, base);
  INFO(m.name() << ": " << ev->describe());
  REQUIRE(ev->local_layers() == expect_local_layers);
  REQUIRE(ev->bases() == base.dim(0));
  Rng rng(seed);
  double worst = 0.0;
  for (int p : {1, 3, 5}) {
    INFO("P = " << p);
    const Edits e = make_edits(base.dim(0), base.dim(1), base.dim(2), base.dim(3), p, 48, rng);
    const Tensor local = ev->logits(e.view());  // a copy: m.logits() below is a forward pass
    const Tensor full = m.logits(materialise(base, e));
    const double err = relative_error(local, full);
    REQUIRE(err <= kTolerance);
    worst = std::max(worst, err);
    // Again, after the model ran another forward pass: the evaluator keeps its own base activations.
    REQUIRE(ev->logits(e.view()).data == local.data);
    // Any subset of the rows, in any batch: the same logits (up to the dense part's summation order).
    Edits half = e;
    half.rows = e.rows / 2;
    REQUIRE(relative_error(ev->logits(half.view()), local.slice(0, half.rows)) <= kTolerance);
  }
  return worst;
}

Tensor random_rgb(int n, std::uint64_t seed) {
  Rng rng(seed);
  Tensor t({n, 3, 32, 32});
  for (float& v : t.data) v = static_cast<float>(rng.below(256)) / 255.0f;
  return t;
}

template <class L, class... A>
L& push(Sequential& m, A... args) {
  auto layer = std::make_unique<L>(args...);
  L& ref = *layer;
  m.add(std::move(layer));
  return ref;
}

}  // namespace

TEST_CASE("local evaluation equals the full forward pass: every architecture, random weights", "[local]") {
  struct Case {
    const char* arch;
    int local_layers;  // the layers before the first dense one
  };
  // small: Conv2d ReLU Conv2d ReLU Flatten Linear | ReLU Linear; cifar_lenet and cnn likewise up to
  // their first Linear; fc500 and softmax: Flatten Linear.
  for (const Case& c :
       {Case{"small", 6}, Case{"cnn", 8}, Case{"fc500", 2}, Case{"softmax", 2}, Case{"cifar_lenet", 8}}) {
    Sequential m = make_model(c.arch, 31);
    const Tensor base = m.input_shape()[0] == 3 ? random_rgb(3, 32) : test::random_images(3, 32);
    const double err = check_model(m, base, c.local_layers, 33);
    std::printf("[local] %-11s random weights: max |local - full| / max |logit| = %.2g\n", c.arch, err);
  }
}

TEST_CASE("local evaluation equals the full forward pass: the shipped models on test images", "[local][shipped]") {
  const std::string dir = resolve_data_dir("");
  const Dataset mnist = load_dataset(dir, "mnist", "test").head(3);
  const Dataset cifar = load_dataset(dir, "cifar10-exact", "test").head(3);
  const std::pair<const char*, int> cases[] = {
      {"small", 6}, {"cnn", 8}, {"fc500", 2}, {"softmax", 2}, {"cifar_lenet", 8}};
  for (const auto& c : cases) {
    Sequential m = load_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/" + c.first + ".safetensors");
    const Tensor& base = m.input_shape()[0] == 3 ? cifar.images : mnist.images;
    const double err = check_model(m, base, c.second, 34);
    std::printf("[local] %-11s shipped: max |local - full| / max |logit| = %.2g\n", c.first, err);
  }
}

TEST_CASE("local evaluation: a layer without a local rule ends the local part, the rest runs densely", "[local]") {
  Rng rng(41);
  SECTION("AvgPool2d: dense from there") {
    Sequential m("avgpool", {1, 28, 28}, 10);
    push<Conv2d>(m, 1, 4, 3, 1, 1).init(rng);
    push<ReLU>(m);
    push<AvgPool2d>(m, 2, 2);  // -> 4 x 14 x 14
    push<Conv2d>(m, 4, 4, 3, 1, 1).init(rng);
    push<Flatten>(m);
    push<Linear>(m, 4 * 14 * 14, 10).init(rng);
    const Tensor base = test::random_images(2, 42);
    check_model(m, base, 2, 43);
    REQUIRE_THAT(make_local_evaluator(m, base)->describe(), Catch::Contains("dense: AvgPool2d Conv2d Flatten Linear"));
  }
  SECTION("Sigmoid, Dropout (inference), MaxPool2d with a 3 x 3 window, an elementwise layer after Flatten") {
    Sequential m("elementwise", {3, 32, 32}, 10);
    push<Conv2d>(m, 3, 4, 3, 2, 0).init(rng);  // -> 4 x 15 x 15
    push<Sigmoid>(m);
    push<Dropout>(m, 0.5f, 7);
    push<MaxPool2d>(m, 3, 2);  // -> 4 x 7 x 7
    push<Flatten>(m);
    push<Sigmoid>(m);
    push<Linear>(m, 4 * 7 * 7, 12).init(rng);
    push<ReLU>(m);
    push<Linear>(m, 12, 10).init(rng);
    check_model(m, random_rgb(2, 44), 7, 45);
  }
  SECTION("no dense part; a stride that leaves the last rows and columns unread") {
    Sequential m("uncovered", {1, 28, 28}, 2 * 9 * 9);
    push<Conv2d>(m, 1, 2, 2, 3, 0).init(rng);  // -> 2 x 9 x 9: rows and columns 26, 27 reach no output
    push<ReLU>(m);
    push<Flatten>(m);
    const Tensor base = test::random_images(2, 46);
    check_model(m, base, 3, 47);
    REQUIRE_THAT(make_local_evaluator(m, base)->describe(), Catch::Contains("dense: (none)"));
  }
  SECTION("a first layer without a local rule: the materialising evaluator") {
    Sequential m("avgfirst", {1, 28, 28}, 10);
    push<AvgPool2d>(m, 2, 2);
    push<Flatten>(m);
    push<Linear>(m, 14 * 14, 10).init(rng);
    REQUIRE(m.local_evaluator(test::random_images(1, 48)) == nullptr);
    check_model(m, test::random_images(2, 48), 0, 49);
  }
}

TEST_CASE("local evaluation: other classifiers materialise the candidates, bad edits are errors", "[local][errors]") {
  Sequential m = make_model("small", 51);
  Pipeline p(m);  // no transforms: the same logits, no local evaluator
  const Tensor base = test::random_images(2, 52);
  REQUIRE(p.local_evaluator(base) == nullptr);
  std::unique_ptr<LocalEvaluator> ev = make_local_evaluator(p, base);
  REQUIRE(ev->local_layers() == 0);
  Rng rng(53);
  const Edits e = make_edits(2, 1, 28, 28, 3, 20, rng);
  const Tensor via_pipeline = ev->logits(e.view());
  REQUIRE(via_pipeline.data == m.logits(materialise(base, e)).data);  // materialised: the same bits
  REQUIRE(ev->logits(PixelEdits{}).shape == Shape{0, 10});

  std::unique_ptr<LocalEvaluator> local = make_local_evaluator(m, base);
  REQUIRE(local->local_layers() == 6);
  for (LocalEvaluator* v : {local.get(), ev.get()}) {
    Edits bad = e;
    bad.pixel[3] = 784;
    REQUIRE_THROWS_WITH(v->logits(bad.view()), Catch::Contains("pixel 784 is outside the image (0..783)"));
    bad = e;
    bad.base[1] = 2;
    REQUIRE_THROWS_WITH(v->logits(bad.view()), Catch::Contains("starts from base image 2; there are 2"));
    bad = e;
    bad.value[0] = std::nanf("");
    REQUIRE_THROWS_WITH(v->logits(bad.view()), Catch::Contains("not finite"));
  }
  Tensor wrong({1, 3, 32, 32});
  REQUIRE_THROWS_WITH(make_local_evaluator(m, wrong), Catch::Contains("expects [N, 1, 28, 28]"));
}

// The attack's side: a run on the bare Sequential evaluates locally (the attack's own logits of its
// result agree with a forward pass of it) and spends the queries a run through logits() spends.
TEST_CASE("pixel attack: local on a bare Sequential, the same queries as through logits()", "[local][pixel]") {
  for (const char* arch : {"small", "cifar_lenet"}) {
    INFO(arch);
    Sequential m = make_model(arch, 61);
    const Tensor x = m.input_shape()[0] == 3 ? random_rgb(2, 62) : test::random_images(2, 62);
    const std::vector<int> y = m.predict(x);
    Pipeline through(m);
    PixelAttack cfg;
    cfg.pixels = 3, cfg.pop = 30, cfg.gens = 8, cfg.early_stop = false, cfg.seed = 3;
    std::unique_ptr<AttackRun> local = start_pixel(m, cross_entropy_objective(), x, Goal{y, {}}, cfg);
    std::unique_ptr<AttackRun> dense = start_pixel(through, cross_entropy_objective(), x, Goal{y, {}}, cfg);
    while (!local->step()) {
    }
    while (!dense->step()) {
    }
    const AttackResult &a = local->result(), &b = dense->result();
    REQUIRE(a.queries == 2 * 30 * 9);
    REQUIRE(b.queries == a.queries);
    REQUIRE(local->snapshot().queries == dense->snapshot().queries);
    const Tensor full = m.logits(a.adv);
    REQUIRE(relative_error(a.logits, full) <= kTolerance);
    REQUIRE(m.predict(a.adv) == a.pred);
  }
}
