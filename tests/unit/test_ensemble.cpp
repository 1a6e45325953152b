// Ensembles: the voting rules (soft, hard, ties), gradients against finite differences (soft exact,
// hard's true gradient, the surrogate), batched = per sample, the registered defence's report, errors.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/defences/defence.h"
#include "engine/ensemble.h"
#include "engine/error.h"
#include "engine/loss.h"
#include "engine/models.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

// A member with fixed logits per sample (row i of `z` for sample i), whatever the input.
class Fixed : public Classifier {
 public:
  explicit Fixed(Tensor z) : z_(std::move(z)) {}
  std::string name() const override { return "fixed"; }
  const Shape& input_shape() const override { return shape_; }
  int num_classes() const override { return z_.dim(1); }
  const Tensor& logits(const Tensor& x) override {
    out_ = z_.slice(0, x.dim(0));
    return out_;
  }
  void input_gradient(const Tensor&, Tensor& dx) override {
    dx.resize({out_.dim(0), 1, 28, 28});
    dx.fill(0.0f);
  }

 private:
  Tensor z_, out_;
  Shape shape_ = {1, 28, 28};
};

Tensor row(std::vector<float> v) {
  Tensor t({1, static_cast<int>(v.size())});
  std::copy(v.begin(), v.end(), t.data.begin());
  return t;
}

// dL/dx of L = sum_k w_k logits_k, against central differences along a random direction.
void check_direction(Classifier& c, const Tensor& x, double tol) {
  const Tensor& z0 = c.logits(x);
  Rng rng(3);
  Tensor w(z0.shape), dir(x.shape);
  for (float& v : w.data) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : dir.data) v = rng.uniform(-1.0f, 1.0f);
  Tensor dx;
  c.input_gradient(w, dx);
  double analytic = 0.0;
  for (size_t j = 0; j < dx.data.size(); ++j) analytic += static_cast<double>(dx.data[j]) * dir.data[j];
  auto loss = [&](float h) {
    Tensor xp = x;
    for (size_t j = 0; j < xp.data.size(); ++j) xp.data[j] += h * dir.data[j];
    const Tensor& z = c.logits(xp);
    double l = 0.0;
    for (size_t j = 0; j < z.data.size(); ++j) l += static_cast<double>(z.data[j]) * w.data[j];
    return l;
  };
  const float h = 1e-3f;
  const double numeric = (loss(h) - loss(-h)) / (2.0 * h);
  INFO("analytic " << analytic << " numeric " << numeric);
  CHECK(std::fabs(analytic - numeric) <= tol * std::max(1.0, std::fabs(numeric)));
}

}  // namespace

TEST_CASE("ensemble voting: soft = log of the mean probability, hard = majority, ties to the mean probability",
          "[ensemble]") {
  // Three members, three classes. Member predictions: 0, 1, 1 -> hard vote 1. Mean probabilities favour 0.
  Fixed a(row({9.0f, 0.0f, 0.0f})), b(row({0.0f, 0.2f, 0.0f})), c(row({0.1f, 0.2f, 0.0f}));
  const Tensor x = test::random_images(1, 1);
  Ensemble soft({&a, &b, &c}, Vote::Soft), hard({&a, &b, &c}, Vote::Hard);
  const Tensor zs = soft.logits(x);
  Tensor mean({1, 3}, 0.0f);
  for (Classifier* m : std::vector<Classifier*>{&a, &b, &c}) {
    const Tensor p = softmax(m->logits(x));
    for (int k = 0; k < 3; ++k) mean.data[static_cast<size_t>(k)] += p.data[static_cast<size_t>(k)] / 3.0f;
  }
  for (int k = 0; k < 3; ++k)
    CHECK(zs.data[static_cast<size_t>(k)] == Approx(std::log(mean.data[static_cast<size_t>(k)])));
  CHECK(argmax_rows(zs)[0] == 0);
  const Tensor zh = hard.logits(x);
  CHECK(argmax_rows(zh)[0] == 1);
  CHECK(zh.data[1] == Approx(2.0f + 0.5f * mean.data[1]));
  // Shown probabilities: soft = the mean; hard = vote shares (c_k + p̄_k / 2) / (N + 1/2), summing to 1.
  const Tensor ps = soft.probabilities(x), ph = hard.probabilities(x);
  double sum_h = 0.0;
  for (int k = 0; k < 3; ++k) {
    CHECK(ps.data[static_cast<size_t>(k)] == Approx(mean.data[static_cast<size_t>(k)]));
    sum_h += ph.data[static_cast<size_t>(k)];
  }
  CHECK(sum_h == Approx(1.0));
  CHECK(ph.data[1] == Approx((2.0 + 0.5 * mean.data[1]) / 3.5));
  CHECK(argmax_rows(ph)[0] == 1);
  CHECK(hard.member_preds(0)[0] == 0);
  CHECK(hard.member_preds(2)[0] == 1);
  // A tie (one vote each for 0, 1, 2): the larger mean probability wins (class 0, thanks to member a).
  Fixed d(row({0.0f, 0.0f, 3.0f}));
  Ensemble tie({&a, &b, &d}, Vote::Hard);
  CHECK(argmax_rows(tie.logits(x))[0] == 0);
  // Exactly equal counts and means: the lower class index.
  Fixed e(row({1.0f, 0.0f, 0.0f})), f(row({0.0f, 1.0f, 0.0f}));
  Ensemble even(std::vector<Classifier*>{&e, &f}, Vote::Hard);
  CHECK(argmax_rows(even.logits(x))[0] == 0);
  Ensemble even2(std::vector<Classifier*>{&f, &e}, Vote::Hard);
  CHECK(argmax_rows(even2.logits(x))[0] == 0);
  // Soft and hard agree on the probabilities they report; the soft logits are normalised.
  double s = 0.0;
  for (float v : softmax(zs).data) s += v;
  CHECK(s == Approx(1.0));
}

TEST_CASE("ensemble gradients match finite differences, the hard vote's surrogate is the soft vote's backward",
          "[ensemble][grad]") {
  Sequential m1 = make_model("small", 1), m2 = make_model("small", 2), m3 = make_model("fc500", 3);
  const Tensor x = test::random_images(3, 4);
  Ensemble soft({&m1, &m2, &m3}, Vote::Soft);
  check_direction(soft, x, 2e-2);
  // The hard vote's true gradient (its p̄ / 2 term), where no member's vote flips within h.
  Ensemble hard_true({&m1, &m2, &m3}, Vote::Hard, false);
  check_direction(hard_true, x, 2e-2);
  CHECK(hard_true.gradient_kind() == GradientKind::Exact);
  Ensemble hard({&m1, &m2, &m3}, Vote::Hard, true);
  CHECK(hard.gradient_kind() == GradientKind::StraightThrough);
  Tensor g({3, 10});
  Rng rng(1);
  for (float& v : g.data) v = rng.uniform(-1.0f, 1.0f);
  Tensor ds, dh;
  soft.logits(x);
  soft.input_gradient(g, ds);
  hard.logits(x);
  hard.input_gradient(g, dh);
  REQUIRE(ds.data == dh.data);
  // Batched equals per sample.
  const Tensor zb = soft.logits(x);
  for (int i = 0; i < 3; ++i) {
    const Tensor zi = soft.logits(x.slice(i, 1));
    for (int k = 0; k < 10; ++k)
      CHECK(zi.data[static_cast<size_t>(k)] == Approx(zb.data[static_cast<size_t>(i * 10 + k)]).margin(1e-5));
  }
}

TEST_CASE("ensemble: owned members, clear errors", "[ensemble][errors]") {
  std::vector<std::unique_ptr<Classifier>> owned;
  owned.push_back(std::make_unique<Sequential>(make_model("softmax", 1)));
  owned.push_back(std::make_unique<Sequential>(make_model("softmax", 2)));
  std::unique_ptr<Ensemble> e = Ensemble::owning(std::move(owned), Vote::Soft, true, {"one", "two"});
  CHECK(e->name() == "ensemble(soft: one, two)");
  CHECK(e->logits(test::random_images(2, 1)).shape == (Shape{2, 10}));
  Sequential m = make_model("softmax", 1), cifar = make_model("cifar_lenet", 1);
  REQUIRE_THROWS_WITH(Ensemble(std::vector<Classifier*>{}, Vote::Soft), Catch::Contains("at least one member"));
  REQUIRE_THROWS_WITH(Ensemble(std::vector<Classifier*>{&m, &m}, Vote::Soft), Catch::Contains("same object"));
  REQUIRE_THROWS_WITH(Ensemble(std::vector<Classifier*>{&m, &cifar}, Vote::Soft),
                      Catch::Contains("must share the task"));
  REQUIRE_THROWS_WITH(Ensemble({&m}, Vote::Soft, true, {"a", "b"}), Catch::Contains("2 names for 1 members"));
}

TEST_CASE("ensemble defence: the shipped members vote, the report gives every member's vote", "[ensemble][shipped]") {
  const DefenceContext ctx = disk_context("");
  Sequential base = make_model("small", 1);
  const DefenceSpec& spec = get_defence("ensemble");
  ParamValues p = defaults(spec.params);
  REQUIRE(spec.models(p).size() == 3);
  const ParamSpec* members = find_param(spec.params, "members");
  REQUIRE(members);
  REQUIRE(members->choices == std::vector<std::string>{"regular", "subsequence", "adversarial"});
  for (int kind = 0; kind < 3; ++kind) {
    p.set("members", kind);
    std::unique_ptr<Classifier> d = build_defence(spec, ctx, base, p, true);
    auto* r = dynamic_cast<Reporter*>(d.get());
    REQUIRE(r);
    const Tensor x = test::random_images(1, 2);
    const DefenceReport rep = r->report(x);
    REQUIRE(rep.votes.size() == 3);
    for (const DefenceReport::Vote& v : rep.votes) {
      REQUIRE(v.probs.size() == 10);
      double s = 0.0;
      for (float q : v.probs) s += q;
      CHECK(s == Approx(1.0).margin(1e-4));
      CHECK(v.pred == argmax_rows(row(v.probs))[0]);
    }
  }
  Sequential cifar = make_model("cifar_lenet", 1);
  REQUIRE_THROWS_WITH(build_defence(spec, ctx, cifar, p, true), Catch::Contains("use an MNIST model"));
}
