// The detector framework: thresholds from clean validation data only, ROC-AUC, the reject class of the
// adaptive attacker (objectives and the DetectorView against finite differences, attacks routed
// through it), the detecting defences' score gradients, the MMD test, and the evaluation's
// detection numbers.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/attacks/attack.h"
#include "engine/defences/defence.h"
#include "engine/defences/squeezers.h"
#include "engine/detect/detector.h"
#include "engine/detect/kde.h"
#include "engine/detect/mmd.h"
#include "engine/error.h"
#include "engine/eval/evaluate.h"
#include "engine/io/model_io.h"
#include "engine/loss.h"
#include "engine/models.h"
#include "engine/objective.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

double dot(const Tensor& a, const Tensor& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.data.size(); ++i) s += static_cast<double>(a.data[i]) * b.data[i];
  return s;
}

Dataset random_set(int n, std::uint64_t seed) {
  Dataset d;
  d.name = "random";
  d.images = test::random_images(n, seed);
  for (int i = 0; i < n; ++i) d.labels.push_back(i % 10);
  return d;
}

// A context that serves only what a test hands it, and records every request: the calibration API
// must ask for the validation split and nothing else.
struct SpyContext {
  Dataset validation = random_set(300, 101), train = random_set(200, 102);
  Sequential ae = make_model("ae_conv", 103);
  std::vector<std::string> asked;
  DefenceContext context() {
    DefenceContext c;
    c.model = [this](const std::string& name) -> Sequential& {
      asked.push_back("model " + name);
      return ae;
    };
    c.data = [this](const std::string& name, const std::string& split) -> const Dataset& {
      asked.push_back(name + "/" + split);
      if (split == "validation") return validation;
      if (split == "train") return train;
      throw Error("a detector asked for the " + split + " split");
    };
    return c;
  }
};

std::unique_ptr<Classifier> build(const std::string& name, SpyContext& spy, Classifier& base,
                                  const std::map<std::string, double>& set = {}, bool bpda = true) {
  const DefenceSpec& spec = get_defence(name);
  ParamValues p = defaults(spec.params);
  p.set("val_n", 200);
  if (spec.name == "kde") p.set("kde_n", 200);
  for (const auto& [k, v] : set) p.set(k, v);
  return build_defence(spec, spy.context(), base, p, bpda);
}

// The directional derivative of <r, c(x)> along the input gradient against central differences (as
// the whole-model check in test_gradients.cpp: ReLU kinks crossed by the step stay small next to it).
void check_classifier_gradient(Classifier& c, const Tensor& x0, std::uint64_t seed) {
  Tensor x = x0;
  const Tensor z = c.logits(x);
  Rng rng(seed);
  Tensor r(z.shape);
  for (float& v : r.data) v = rng.uniform(-1.0f, 1.0f);
  Tensor dx, dx2;
  c.input_gradient(r, dx);
  c.input_gradient(r, dx2);
  REQUIRE(dx.data == dx2.data);  // backward twice after one forward
  const double norm = std::sqrt(dot(dx, dx));
  REQUIRE(norm > 0.0);
  Tensor v = dx;
  for (float& e : v.data) e = static_cast<float>(e / norm);
  const double h = 1e-3;
  Tensor xp = x, xm = x;
  for (std::size_t i = 0; i < x.data.size(); ++i) {
    xp.data[i] += static_cast<float>(h) * v.data[i];
    xm.data[i] -= static_cast<float>(h) * v.data[i];
  }
  const double lp = dot(r, c.logits(xp)), lm = dot(r, c.logits(xm));
  INFO(c.name() << ": analytic " << norm << " numeric " << (lp - lm) / (2 * h));
  CHECK(dot(dx, v) == Approx((lp - lm) / (2 * h)).epsilon(3e-2).margin(1e-3));
}

}  // namespace

TEST_CASE("validation and held-out splits: the odd and the even test images", "[detect]") {
  Dataset d = random_set(7, 1);
  const Dataset v = validation_split(d), h = held_out_split(d);
  REQUIRE(v.size() == 3);
  REQUIRE(h.size() == 4);
  REQUIRE(v.labels == std::vector<int>{1, 3, 5});
  REQUIRE(h.labels == std::vector<int>{0, 2, 4, 6});
  REQUIRE(v.images.slice(1, 1).data == d.images.slice(3, 1).data);
  REQUIRE(h.images.slice(3, 1).data == d.images.slice(6, 1).data);
}

TEST_CASE("threshold at a false-positive rate, and ROC-AUC", "[detect]") {
  std::vector<float> s;
  for (int i = 1; i <= 100; ++i) s.push_back(static_cast<float>(i));
  CHECK(threshold_at_fpr(s, 0.05) == 95.0);
  CHECK(fraction_above(s, threshold_at_fpr(s, 0.05)) == Approx(0.05));
  CHECK(fraction_above(s, threshold_at_fpr(s, 0.012)) <= 0.012);
  CHECK(threshold_at_fpr(s, 0.0) == 100.0);
  CHECK(threshold_at_fpr({3.0f, 3.0f, 3.0f}, 0.5) == 3.0);  // ties: nothing above, rate 0 <= 0.5
  REQUIRE_THROWS_WITH(threshold_at_fpr({}, 0.05), Catch::Contains("needs clean validation scores"));
  REQUIRE_THROWS_WITH(threshold_at_fpr(s, 1.0), Catch::Contains("must be in [0, 1)"));
  CHECK(roc_auc({1, 2, 3}, {4, 5}) == 1.0);
  CHECK(roc_auc({4, 5}, {1, 2, 3}) == 0.0);
  CHECK(roc_auc({1, 1}, {1, 1}) == 0.5);
  // clean {1, 2, 3}, adv {2, 4}: pairs (adv > clean) 1 + 3, ties 1 (2 vs 2): (4 + 0.5) / 6
  CHECK(roc_auc({1, 2, 3}, {2, 4}) == Approx(4.5 / 6.0));
  CHECK(std::isnan(roc_auc({}, {1})));
}

TEST_CASE("objectives with a reject class match finite differences and want neither label nor reject",
          "[detect][grad]") {
  Rng rng(2);
  Tensor z({4, 11});
  for (float& v : z.data) v = rng.uniform(-3.0f, 3.0f);
  Goal g{{0, 3, 7, 9}, {}};
  g.reject = 10;
  const MarginObjective margin;
  for (const Objective* o : {&cross_entropy_objective(), static_cast<const Objective*>(&margin)}) {
    std::vector<float> v, vp, vm;
    Tensor grad;
    o->evaluate(z, g, v, &grad);
    for (std::size_t j = 0; j < z.data.size(); ++j) {
      const float old = z.data[j];
      z.data[j] = old + 1e-2f;
      o->evaluate(z, g, vp, nullptr);
      z.data[j] = old - 1e-2f;
      o->evaluate(z, g, vm, nullptr);
      z.data[j] = old;
      const std::size_t i = j / 11;
      INFO(o->name() << " dv/dz[" << j << "]");
      CHECK(grad.data[j] == Approx((vp[i] - vm[i]) / 2e-2).margin(2e-3));
    }
  }
  // Cross-entropy with a reject class is -log(p_y + p_r).
  std::vector<float> v;
  cross_entropy_objective().evaluate(z, g, v, nullptr);
  const Tensor p = softmax(z);
  for (int i = 0; i < 4; ++i)
    CHECK(v[static_cast<std::size_t>(i)] ==
          Approx(-std::log(p.data[static_cast<std::size_t>(i * 11 + g.labels[static_cast<std::size_t>(i)])] +
                           p.data[static_cast<std::size_t>(i * 11 + 10)]))
              .epsilon(1e-4));
  CHECK(attack_succeeded(10, 3, -1, 10) == false);  // the reject class is no success
  CHECK(attack_succeeded(4, 3, -1, 10) == true);
  CHECK(attack_succeeded(4, 3, 4, 10) == true);
}

TEST_CASE("detector thresholds come from the clean validation split only", "[detect]") {
  Sequential m = make_model("small", 7);
  SpyContext spy;
  for (const char* name : {"squeeze_detect", "kde"}) {
    INFO(name);
    spy.asked.clear();
    std::unique_ptr<Classifier> c = build(name, spy, m);
    auto* d = dynamic_cast<DetectorDefence*>(c.get());
    REQUIRE(d);
    for (const std::string& a : spy.asked) CHECK((a == "mnist/validation" || a == "mnist/train"));
    REQUIRE(std::count(spy.asked.begin(), spy.asked.end(), "mnist/validation") == 1);
    // The threshold is the 95% quantile of the scores of the first 200 validation images, exactly
    // (scored in the calibration's batches: a batch of another size may round differently).
    std::vector<float> s;
    d->scores(spy.validation.images.slice(0, 200), s, d->calibration_batch());
    CHECK(d->calibration().threshold == threshold_at_fpr(s, 0.05));
    CHECK(d->calibration().validation_fpr <= 0.05);
    CHECK(d->calibration().n == 200);
    CHECK(d->calibration().source == "mnist validation split (odd test images 1, 3, ..., 399)");
    // Attacking and evaluating never move it.
    const double before = d->calibration().threshold;
    ParamValues pgd = defaults(get_attack("pgd").params);
    pgd.set("eps", 0.3), pgd.set("steps", 3);
    EvalConfig cfg;
    cfg.attack = registered_attack(get_attack("pgd"), pgd, 1);
    evaluate(*d, random_set(20, 9), cfg);
    CHECK(d->calibration().threshold == before);
  }
  // Bad requests, said plainly.
  REQUIRE_THROWS_WITH(build("squeeze_detect", spy, m, {{"val_n", 1000}}), Catch::Contains("validation split has 300"));
  REQUIRE_THROWS_WITH(build("squeeze_detect", spy, m, {{"fpr", 0.9}}), Catch::Contains("fpr must be"));
  DefenceContext none;
  ParamValues p = defaults(get_defence("squeeze_detect").params);
  REQUIRE_THROWS_WITH(build_defence(get_defence("squeeze_detect"), none, m, p, true),
                      Catch::Contains("needs clean validation data"));
}

TEST_CASE(
    "the adaptive view: reject class K exactly when flagged, gradients of every detector match finite "
    "differences",
    "[detect][grad]") {
  Sequential m = make_model("small", 11);
  SpyContext spy;
  const Tensor x = test::random_images(3, 12);
  // Smooth settings (blur: an exact backward), the autoencoder detector, the density.
  std::vector<std::unique_ptr<Classifier>> dets;
  dets.push_back(build("squeeze_detect", spy, m, {{"bits", 0}, {"median", 0}, {"blur", 1.0}, {"attacker", 0}}));
  // The joint attacker's view (He et al. 2017): every squeezed branch in its first K logits.
  dets.push_back(build("squeeze_detect", spy, m, {{"bits", 0}, {"median", 0}, {"blur", 1.0}, {"attacker", 1}}));
  dets.push_back(build("autoencoder", spy, m, {{"ae_detect", 1}}));
  dets.push_back(build("autoencoder", spy, m, {{"ae_detect", 2}}));
  dets.push_back(build("kde", spy, m));
  for (auto& c : dets) {
    auto& d = dynamic_cast<DetectorDefence&>(*c);
    INFO(d.name());
    DetectorView view(d, 1.0f);
    REQUIRE(view.num_classes() == 11);
    const Tensor z = view.logits(x);
    std::vector<float> s;
    std::vector<char> flagged;
    d.flags(x, s, flagged);
    for (int i = 0; i < 3; ++i) {
      const int top = argmax_rows(z.slice(i, 1))[0];
      CHECK((top == 10) == static_cast<bool>(flagged[static_cast<std::size_t>(i)]));
    }
    check_classifier_gradient(d, x, 13);     // the logits' part
    check_classifier_gradient(view, x, 14);  // logits and score together
  }
}

TEST_CASE("an attack on a detecting model goes through the reject class and reports the model's classes", "[detect]") {
  Sequential m = make_model("small", 21);
  SpyContext spy;
  std::unique_ptr<Classifier> c = build("squeeze_detect", spy, m, {{"blur", 1.0}});
  const Tensor x = test::random_images(4, 22);
  const std::vector<int> y = m.predict(x);
  ParamValues p = defaults(get_attack("pgd").params);
  p.set("eps", 0.2), p.set("steps", 5);
  const AttackInput in{*c, cross_entropy_objective(), x, Goal{y, {}}, p, 3};
  const AttackResult r = run_attack(get_attack("pgd"), in);
  REQUIRE(r.logits.shape == Shape{4, 10});
  REQUIRE(r.pred == c->predict(r.adv));
  for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(static_cast<bool>(r.success[i]) == (r.pred[i] != y[i]));
  REQUIRE(run_attack(get_attack("pgd"), in).adv.data == r.adv.data);  // seeded
  // The attacker's weight on the detector is the defence's parameter reject_weight, and it matters.
  REQUIRE(dynamic_cast<DetectorDefence&>(*c).attack_weight() == 1.0f);
  std::unique_ptr<Classifier> heavy = build("squeeze_detect", spy, m, {{"blur", 1.0}, {"reject_weight", 50.0}});
  REQUIRE(dynamic_cast<DetectorDefence&>(*heavy).attack_weight() == 50.0f);
  const AttackInput in_heavy{*heavy, cross_entropy_objective(), x, Goal{y, {}}, p, 3};
  REQUIRE(run_attack(get_attack("pgd"), in_heavy).adv.data != r.adv.data);
  REQUIRE_THROWS_WITH(build("squeeze_detect", spy, m, {{"reject_weight", 0.0}}), Catch::Contains("reject_weight"));
  // A goal with a reject class out of range is refused.
  Goal bad{y, {}};
  bad.reject = 10;
  ParamValues f;
  f.set("eps", 0.1);
  REQUIRE_THROWS_WITH(run_attack(get_attack("fgsm"), {m, cross_entropy_objective(), x, bad, f, 0}),
                      Catch::Contains("reject class 10 is out of range"));
}

TEST_CASE("squeeze_detect's joint attacker: its view is the branches' mean log-probability, predictions stay f(x)'s",
          "[detect]") {
  Sequential m = make_model("small", 31);
  SpyContext spy;
  const Tensor x = test::random_images(4, 32);
  std::unique_ptr<Classifier> reject =
      build("squeeze_detect", spy, m, {{"bits", 0}, {"median", 1}, {"blur", 1.0}, {"attacker", 0}});
  std::unique_ptr<Classifier> joint =
      build("squeeze_detect", spy, m, {{"bits", 0}, {"median", 1}, {"blur", 1.0}, {"attacker", 1}});
  auto& dj = dynamic_cast<DetectorDefence&>(*joint);
  // The defended model and its flags do not depend on the attacker's view.
  REQUIRE(joint->logits(x).data == reject->logits(x).data);
  // zbar = (log p(x) + log p(median 2x2(x)) + log p(blur(x))) / 3, by hand through the squeezers.
  DetectorView view(dj, 1.0f);
  const Tensor zv = view.logits(x);
  std::vector<Tensor> branches{x, Tensor(), Tensor()};
  median_squeezer(2, true)->forward(x, branches[1]);
  blur_squeezer(1.0f)->forward(x, branches[2]);
  Tensor mean({4, 10});
  for (const Tensor& b : branches) {
    const Tensor p = softmax(m.logits(b));
    for (std::size_t i = 0; i < p.data.size(); ++i) mean.data[i] += std::log(p.data[i]) / 3.0f;
  }
  for (int i = 0; i < 4; ++i)
    for (int c = 0; c < 10; ++c)
      CHECK(zv.data[static_cast<std::size_t>(i * 11 + c)] ==
            Approx(mean.data[static_cast<std::size_t>(i * 10 + c)]).margin(1e-4));
  // An attack through it is reported in the model's own classes, and differs from the reject one's.
  const std::vector<int> y = m.predict(x);
  ParamValues p = defaults(get_attack("pgd").params);
  p.set("eps", 0.2), p.set("steps", 5);
  const AttackResult rj = run_attack(get_attack("pgd"), {*joint, cross_entropy_objective(), x, Goal{y, {}}, p, 3});
  const AttackResult rr = run_attack(get_attack("pgd"), {*reject, cross_entropy_objective(), x, Goal{y, {}}, p, 3});
  REQUIRE(rj.pred == joint->predict(rj.adv));
  REQUIRE(rj.logits.data == joint->logits(rj.adv).data);
  REQUIRE(rj.adv.data != rr.adv.data);
}

TEST_CASE("kernel density: score and its gradient in the features", "[detect][grad]") {
  Rng rng(31);
  Tensor f({60, 5});
  std::vector<int> y(60);
  for (int i = 0; i < 60; ++i) y[static_cast<std::size_t>(i)] = i % 3;
  for (float& v : f.data) v = rng.uniform(-1.0f, 1.0f);
  const KernelDensity kd(f, y, 3, 0.5);
  std::vector<float> phi = {0.1f, -0.3f, 0.5f, 0.2f, 0.0f}, g(5);
  const double s = kd.score(phi.data(), 1, g.data());
  // By hand: -log(1/20 sum exp(-|phi - f_i|^2 / sigma^2)) over class 1.
  double sum = 0.0;
  for (int i = 1; i < 60; i += 3) {
    double d2 = 0.0;
    for (int j = 0; j < 5; ++j)
      d2 += std::pow(phi[static_cast<std::size_t>(j)] - f.data[static_cast<std::size_t>(i * 5 + j)], 2.0);
    sum += std::exp(-d2 / kd.sigma2());
  }
  CHECK(s == Approx(-std::log(sum / 20.0)).epsilon(1e-5));
  for (int j = 0; j < 5; ++j) {
    std::vector<float> a = phi, b = phi;
    a[static_cast<std::size_t>(j)] += 1e-3f, b[static_cast<std::size_t>(j)] -= 1e-3f;
    CHECK(g[static_cast<std::size_t>(j)] ==
          Approx((kd.score(a.data(), 1, nullptr) - kd.score(b.data(), 1, nullptr)) / 2e-3).margin(2e-3));
  }
  REQUIRE_THROWS_WITH(KernelDensity(f, std::vector<int>(60, 0), 3), Catch::Contains("fewer than 2"));
}

TEST_CASE("MMD test: calibrated on one distribution, rejects a shifted one, seeded, clear errors", "[detect]") {
  // Two samples of one distribution: p-values spread over (0, 1]; over 40 pairs about 5% below 0.05.
  int rejected = 0;
  for (int t = 0; t < 40; ++t) {
    const MmdResult r = mmd_test(test::random_images(20, 100 + t), test::random_images(20, 200 + t), 200, t);
    CHECK(r.p_value > 0.0);
    CHECK(r.p_value <= 1.0);
    rejected += r.p_value < 0.05;
  }
  CHECK(rejected <= 8);  // binomial(40, 0.05): P(> 8) < 1e-3
  Tensor shifted = test::random_images(20, 7);
  for (float& v : shifted.data) v = std::min(1.0f, v + 0.2f);
  const MmdResult r = mmd_test(shifted, test::random_images(20, 8), 500, 1);
  CHECK(r.p_value < 0.01);
  CHECK(r.mmd2 > 0.0);
  CHECK(r.sigma > 0.0);
  CHECK(mmd_test(shifted, test::random_images(20, 8), 500, 1).p_value == r.p_value);
  REQUIRE_THROWS_WITH(mmd_test(shifted.slice(0, 1), shifted, 10, 0), Catch::Contains("at least 2"));
  Tensor nan = shifted;
  nan.data[3] = std::nanf("");
  REQUIRE_THROWS_WITH(mmd_test(nan, shifted, 10, 0), Catch::Contains("NaN"));
  REQUIRE_THROWS_WITH(mmd_test(shifted, Tensor({4, 3}), 10, 0), Catch::Contains("same per-sample shape"));
}

TEST_CASE("MMD rates: rejected below alpha, median and max of the p-values", "[detect]") {
  MmdRates r;
  CHECK(r.rejected(0.05) == 0.0);
  CHECK(r.median() == 0.0);
  r.p = {0.5, 0.01, 0.04, 0.05, 0.9};
  CHECK(r.rejected(0.05) == Approx(0.4));  // 0.01 and 0.04; p = alpha is not rejected
  CHECK(r.median() == 0.05);
  CHECK(r.max() == 0.9);
  REQUIRE_THROWS_WITH(r.rejected(0.0), Catch::Contains("alpha must be in (0, 1)"));
}

TEST_CASE("evaluation of a detecting defence: fpr on clean images, detection among successful adversarials",
          "[detect][shipped]") {
  Sequential m = load_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/small.safetensors");
  ParamValues p = defaults(get_defence("squeeze_detect").params);
  p.set("val_n", 500);
  std::unique_ptr<Classifier> d = build_defence(get_defence("squeeze_detect"), disk_context(""), m, p, true);
  const Dataset test = held_out_split(load_dataset(resolve_data_dir(""), "mnist", "test")).head(200);
  ParamValues f;
  f.set("eps", 0.3);
  EvalConfig cfg;
  cfg.attack = registered_attack(get_attack("fgsm"), f, 0);
  const EvalResult r = evaluate(*d, test, cfg, &m);  // the oblivious attacker
  const EvalDetection& e = r.detection;
  REQUIRE(e.on);
  REQUIRE(e.clean_scores.size() == 200);
  REQUIRE(e.adv_scores.size() == static_cast<std::size_t>(r.attacked));
  CHECK(e.fpr == fraction_above(e.clean_scores, e.threshold));
  CHECK(e.fpr <= 0.10);
  long ok = 0, caught = 0;
  for (std::size_t i = 0; i < e.adv_scores.size(); ++i)
    if (e.adv_successful[i]) ++ok, caught += e.adv_scores[i] > e.threshold;
  CHECK(e.successful == ok);
  CHECK(e.detect_rate == Approx(static_cast<double>(caught) / static_cast<double>(ok)));
  CHECK(e.detect_rate >= 0.8);  // Xu et al.: about 98% on FGSM at eps 0.3
  CHECK(e.roc_auc >= 0.9);
  CHECK(e.undetected_success == Approx(static_cast<double>(ok - caught) / r.attacked));
  CHECK(r.clean_acc == evaluate(m, test, EvalConfig{}).clean_acc);          // detection never changes a prediction
  CHECK(evaluate(*d, test, cfg, &m).detection.adv_scores == e.adv_scores);  // deterministic
}
