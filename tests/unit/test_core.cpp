// The core: Objectives and Pipelines against finite differences, BPDA, the threshold defence, the
// parameter tables' parsing, norms, and the resumable Evaluation (batches, transfer).
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/attacks/attack.h"
#include "engine/defences/defence.h"
#include "engine/error.h"
#include "engine/eval/evaluate.h"
#include "engine/loss.h"
#include "engine/models.h"
#include "engine/norms.h"
#include "engine/objective.h"
#include "engine/pipeline.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

Tensor random_logits(int n, int k, std::uint64_t seed) {
  Rng rng(seed);
  Tensor z({n, k});
  for (float& v : z.data) v = rng.uniform(-3.0f, 3.0f);
  return z;
}

// dv_i/dz by central differences (each sample's value depends only on its own row).
void check_objective(const Objective& o, const Goal& goal) {
  Tensor z = random_logits(4, 10, 5);
  std::vector<float> v;
  Tensor g;
  o.evaluate(z, goal, v, &g);
  REQUIRE(g.shape == z.shape);
  const float h = 1e-2f;
  for (size_t j = 0; j < z.data.size(); ++j) {
    const int i = static_cast<int>(j / 10);
    const float old = z.data[j];
    std::vector<float> vp, vm;
    z.data[j] = old + h;
    o.evaluate(z, goal, vp, nullptr);
    z.data[j] = old - h;
    o.evaluate(z, goal, vm, nullptr);
    z.data[j] = old;
    const double numeric = (static_cast<double>(vp[static_cast<size_t>(i)]) - vm[static_cast<size_t>(i)]) / (2.0 * h);
    INFO(o.name() << " dv/dz[" << j << "]: analytic " << g.data[j] << " numeric " << numeric);
    CHECK(std::fabs(numeric - g.data[j]) <= 2e-3);
  }
}

// A smooth test transform with an exact backward: y = a * x + b * x^2 (shape kept).
class QuadTransform : public Transform {
 public:
  std::string name() const override { return "quad"; }
  void forward(const Tensor& x, Tensor& y) override {
    y.resize(x.shape);
    for (size_t i = 0; i < x.data.size(); ++i) y.data[i] = 0.5f * x.data[i] + 0.4f * x.data[i] * x.data[i];
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor& dx) override {
    dx.resize(x.shape);
    for (size_t i = 0; i < x.data.size(); ++i) dx.data[i] = dy.data[i] * (0.5f + 0.8f * x.data[i]);
  }
  GradientKind gradient_kind() const override { return GradientKind::Exact; }
};

}  // namespace

TEST_CASE("objectives match finite differences", "[core][grad]") {
  const Goal untargeted{{0, 3, 7, 9}, {}}, targeted{{0, 3, 7, 9}, {1, 1, 2, 0}};
  CrossEntropyObjective ce;
  MarginObjective margin;
  for (const Goal& g : {untargeted, targeted}) {
    check_objective(ce, g);
    check_objective(margin, g);
    WeightedSumObjective sum;
    sum.add(0.7f, std::make_shared<CrossEntropyObjective>());
    sum.add(-0.2f, std::make_shared<MarginObjective>());
    check_objective(sum, g);
  }
}

TEST_CASE("cross-entropy objective: the loss the attacks always climbed", "[core]") {
  const Tensor z = random_logits(3, 10, 8);
  std::vector<float> v, ref;
  Tensor g, gref;
  cross_entropy_objective().evaluate(z, Goal{{1, 2, 3}, {}}, v, &g);
  cross_entropy(z, {1, 2, 3}, Reduction::Sum, &gref, &ref);
  REQUIRE(v == ref);
  REQUIRE(g.data == gref.data);
  cross_entropy_objective().evaluate(z, Goal{{1, 2, 3}, {4, 5, 6}}, v, &g);  // targeted: minus the target's
  cross_entropy(z, {4, 5, 6}, Reduction::Sum, &gref, &ref);
  for (size_t i = 0; i < v.size(); ++i) REQUIRE(v[i] == -ref[i]);
  for (size_t i = 0; i < g.data.size(); ++i) REQUIRE(g.data[i] == -gref.data[i]);
}

TEST_CASE("margin objective: capped at kappa, zero gradient beyond", "[core]") {
  Tensor z({1, 3});
  z.data = {5.0f, 1.0f, 0.0f};
  std::vector<float> v;
  Tensor g;
  MarginObjective(2.0f).evaluate(z, Goal{{1}, {}}, v, &g);  // best other class 0: 5 - 1 = 4 > kappa
  REQUIRE(v[0] == 2.0f);
  REQUIRE(g.data == std::vector<float, Eigen::aligned_allocator<float>>{0.0f, 0.0f, 0.0f});
  MarginObjective().evaluate(z, Goal{{0}, {}}, v, &g);  // 1 - 5
  REQUIRE(v[0] == -4.0f);
  REQUIRE(g.data[0] == -1.0f);
  REQUIRE(g.data[1] == 1.0f);
}

TEST_CASE("a Pipeline without transforms is the bare model, bit for bit (attacks included)", "[core]") {
  Sequential m = make_model("small", 3);
  Pipeline p(m);
  const Tensor x = test::random_images(4, 5);
  const std::vector<int> y = {1, 2, 3, 4};
  const Tensor zm = m.logits(x);
  REQUIRE(p.logits(x).data == zm.data);
  for (const char* name : {"fgsm", "pgd"}) {
    ParamValues params = defaults(get_attack(name).params);
    params.set("eps", 0.2);
    const AttackResult a = run_attack(get_attack(name), {m, cross_entropy_objective(), x, Goal{y, {}}, params, 4});
    const AttackResult b = run_attack(get_attack(name), {p, cross_entropy_objective(), x, Goal{y, {}}, params, 4});
    REQUIRE(a.adv.data == b.adv.data);
    REQUIRE(a.pred == b.pred);
    REQUIRE(a.logits.data == b.logits.data);
  }
}

TEST_CASE("Pipeline input gradients match finite differences", "[core][grad]") {
  Sequential m = make_model("fc500", 6);
  Pipeline p(m);
  p.add(std::make_unique<QuadTransform>());
  p.add(std::make_unique<QuadTransform>());
  Tensor x = test::random_images(2, 7);
  const Tensor& z = p.logits(x);
  Rng rng(8);
  Tensor r(z.shape);
  for (float& v : r.data) v = rng.uniform(-1.0f, 1.0f);
  Tensor dx;
  p.input_gradient(r, dx);
  Tensor dx2;
  p.input_gradient(r, dx2);  // callable again: same result
  REQUIRE(dx.data == dx2.data);
  auto loss = [&]() {
    const Tensor& zz = p.logits(x);
    double s = 0.0;
    for (size_t i = 0; i < zz.data.size(); ++i) s += static_cast<double>(r.data[i]) * zz.data[i];
    return s;
  };
  double scale = 1e-3;
  for (float g : dx.data) scale = std::max(scale, static_cast<double>(std::fabs(g)));
  const float h = 1e-2f;
  for (size_t i = 0; i < x.data.size(); i += 37) {
    const float old = x.data[i];
    x.data[i] = old + h;
    const double lp = loss();
    x.data[i] = old - h;
    const double lm = loss();
    x.data[i] = old;
    const double numeric = (lp - lm) / (2.0 * h);
    INFO("dL/dx[" << i << "]: analytic " << dx.data[i] << " numeric " << numeric);
    CHECK(std::fabs(numeric - dx.data[i]) <= 3e-3 * scale + 1e-3 * std::fabs(numeric));
  }
}

TEST_CASE("threshold defence: forward binarises, BPDA backward is the identity, the true one is zero", "[core]") {
  Sequential m = make_model("small", 9);
  const DefenceSpec& spec = get_defence("threshold");
  ParamValues p;
  p.set("threshold", 0.5);
  std::unique_ptr<Classifier> bpda = build_defence(spec, disk_context(""), m, p, true);
  std::unique_ptr<Classifier> masked = build_defence(spec, disk_context(""), m, p, false);
  REQUIRE(bpda->gradient_kind() == GradientKind::StraightThrough);
  REQUIRE(masked->gradient_kind() == GradientKind::Zero);
  REQUIRE(bpda->name() == "threshold(0.5) > small");
  const Tensor x = test::random_images(3, 10);
  Tensor bin = x;
  for (float& v : bin.data) v = v >= 0.5f ? 1.0f : 0.0f;
  const Tensor z = bpda->logits(x);
  REQUIRE(z.data == m.logits(bin).data);  // the defended model is the model on the binarised input
  REQUIRE(masked->logits(x).data == z.data);
  Rng rng(11);
  Tensor g(z.shape);
  for (float& v : g.data) v = rng.uniform(-1.0f, 1.0f);
  Tensor dx_bpda, dx_model, dx_masked;
  bpda->logits(x);
  bpda->input_gradient(g, dx_bpda);
  m.logits(bin);
  m.input_gradient(g, dx_model);
  REQUIRE(dx_bpda.data == dx_model.data);  // identity backward: the model's gradient at the binarised input
  masked->logits(x);
  masked->input_gradient(g, dx_masked);
  for (float v : dx_masked.data) REQUIRE(v == 0.0f);
  p.set("threshold", 1.5);
  REQUIRE_THROWS_WITH(build_defence(spec, disk_context(""), m, p, true), Catch::Contains("threshold must be"));
}

TEST_CASE("parameter values: parsing and messages for every front end", "[core][errors]") {
  const ParamSpec eps = float_param("eps", 0.0, 1.0, 0.1, "budget");
  REQUIRE(parse_value(eps, "0.3", "--eps") == Approx(0.3));
  REQUIRE(parse_value(eps, "1e-1", "--eps") == Approx(0.1));
  for (const char* bad : {"abc", "0x10", "inf", "-inf", "nan", "1e999", "", "0.3x", " 0.3"})
    REQUIRE_THROWS_WITH(parse_value(eps, bad, "--eps"), Catch::Contains("--eps must be a number in [0, 1]"));
  REQUIRE_THROWS_WITH(parse_value(eps, "-0.1", "--eps"), Catch::Contains("--eps must be >= 0 and <= 1, got -0.1"));
  const ParamSpec steps = int_param("steps", 1, 1000, 10, "steps");
  REQUIRE(parse_value(steps, "40", "steps") == 40.0);
  REQUIRE_THROWS_WITH(parse_value(steps, "2.5", "steps"), Catch::Contains("steps must be an integer in [1, 1000]"));
  REQUIRE_THROWS_WITH(parse_value(steps, "0", "steps"), Catch::Contains("steps must be >= 1"));
  const ParamSpec flag = bool_param("early_stop", false, "stop");
  REQUIRE(parse_value(flag, "true", "x") == 1.0);
  REQUIRE(parse_value(flag, "0", "x") == 0.0);
  REQUIRE_THROWS_WITH(parse_value(flag, "maybe", "early_stop"), Catch::Contains("early_stop must be 0 or 1"));
  const ParamSpec kind = choice_param("loss", {"ce", "margin"}, 0, "loss");
  REQUIRE(parse_value(kind, "margin", "loss") == 1.0);
  REQUIRE(format_value(kind, 1.0) == "margin");
  REQUIRE_THROWS_WITH(parse_value(kind, "l2", "loss"), Catch::Contains("one of ce, margin"));
  REQUIRE(cli_name("step_size") == "step-size");
}

TEST_CASE("perturbation norms: L-inf, L2, and L0 in pixels (any channel)", "[core]") {
  Tensor x({1, 3, 2, 2}), a({1, 3, 2, 2});
  a.data[0] = 0.5f;   // pixel 0, red
  a.data[4] = -0.3f;  // pixel 0, green
  a.data[11] = 0.4f;  // pixel 3, blue
  const Norms n = perturbation_norms(a, x, 0);
  REQUIRE(n.linf == Approx(0.5));
  REQUIRE(n.l2 == Approx(std::sqrt(0.25 + 0.09 + 0.16)));
  REQUIRE(n.l0 == 2);
  REQUIRE(perturbation_norms(a, x, 0, 0.45f).l0 == 1);
}

TEST_CASE("Evaluation: resumable in any batch size, transfer scores on the target model", "[core][eval]") {
  Sequential m = make_model("small", 12), other = make_model("softmax", 13);
  Dataset d;
  d.images = test::random_images(37, 14);
  const std::vector<int> pred = m.predict(d.images);
  d.labels = pred;  // so every image is correctly classified and attacked
  for (size_t i = 0; i < 5; ++i) d.labels[i] = (pred[i] + 1) % 10;  // ... but these five
  EvalConfig cfg;
  ParamValues p = defaults(get_attack("bim").params);
  p.set("eps", 0.1);
  cfg.attack = registered_attack(get_attack("bim"), p, 3);
  cfg.batch = 256;
  const EvalResult all = evaluate(m, d, cfg);
  REQUIRE(all.n == 37);
  REQUIRE(all.attacked == 32);
  REQUIRE(all.clean_acc == Approx(32.0 / 37));
  REQUIRE(all.queries == 32 * 11);
  REQUIRE(all.gradient_calls == 32 * 10);
  REQUIRE(all.queries_mean == Approx(11.0));
  cfg.batch = 5;
  Evaluation e(m, d, cfg);
  // One step is one unit of the attack (BIM-10: its 10 gradient steps, then its final evaluation):
  // the first batch (the five mislabelled images: nothing to attack) is one step, the 7 others 11
  // each; no step does more than one unit, and progress grows with every step.
  int steps = 1;
  double last = e.progress();
  while (!e.step()) {
    ++steps;
    REQUIRE(e.progress() > last);
    last = e.progress();
  }
  REQUIRE(steps == 1 + 7 * 11);
  const EvalResult sliced = e.result();
  REQUIRE(sliced.adv.data == all.adv.data);
  REQUIRE(sliced.adv_acc == all.adv_acc);
  REQUIRE(sliced.linf_max <= 0.1 + 1e-6);
  // Transfer: crafted on `other`, scored on m: the same adversarials as attacking `other`, then m's
  // predictions on them.
  const EvalResult transfer = evaluate(m, d, cfg, &other);
  int ok = 0;
  const std::vector<int> on_m = m.predict(transfer.adv);
  for (int i = 0; i < 37; ++i) ok += on_m[static_cast<size_t>(i)] == d.labels[static_cast<size_t>(i)];
  REQUIRE(transfer.adv_acc == Approx(static_cast<double>(ok) / 37));
  Tensor xa = d.images.slice(5, 32);
  const AttackResult direct = run_attack(
      get_attack("bim"),
      {other, cross_entropy_objective(), xa, Goal{std::vector<int>(d.labels.begin() + 5, d.labels.end()), {}}, p, 3});
  REQUIRE(std::equal(direct.adv.data.begin(), direct.adv.data.end(), transfer.adv.data.begin() + 5 * 784));
  Sequential cifar_like = make_model("softmax", 1);
  REQUIRE_NOTHROW(evaluate(m, d, cfg, &cifar_like));
}
