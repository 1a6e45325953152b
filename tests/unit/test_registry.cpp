// Every registered attack (engine/attacks/list.inc) keeps the attack invariants, so a new attack is
// tested by being registered: its norm's budget, pixels in [0, 1], the caller's input untouched,
// reproducible from its seed, reported predictions and success flags true to the model, targeted
// success = pred == target, a reject class never counted as success (a detector's, engine/objective.h),
// queries and gradients counted, resumable runs equal one-shot runs, bad input rejected. Plus the consistency of the
// tables that generate the CLI, URL and UI.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <utility>

#include "engine/attacks/attack.h"
#include "engine/defences/defence.h"
#include "engine/error.h"
#include "engine/models.h"
#include "engine/norms.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

// The attack's defaults with a budget that lets it act (the budget parameter's default, or 0.2),
// and long searches made short: the invariants do not depend on their length, and 12 runs of the
// one-pixel attack's 400 x 101 evaluations would take a minute.
ParamValues test_params(const AttackSpec& a) {
  ParamValues p = defaults(a.params);
  if (a.norm == Norm::Linf) p.set(a.budget, 0.2);
  if (a.norm == Norm::L0) p.set(a.budget, 3);
  for (const auto& [key, value] : {std::pair<const char*, double>{"pop", 16}, {"gens", 5}})
    if (find_param(a.params, key)) p.set(key, value);
  return p;
}

void check_budget(const AttackSpec& a, const ParamValues& p, const Tensor& x, const AttackResult& r) {
  REQUIRE(r.adv.shape == x.shape);
  for (float v : r.adv.data) {
    REQUIRE(v >= 0.0f);
    REQUIRE(v <= 1.0f);
  }
  for (int i = 0; i < x.dim(0); ++i) {
    const Norms n = perturbation_norms(r.adv, x, i);
    switch (a.norm) {
      case Norm::Linf:
        REQUIRE(n.linf <= p.number(a.budget) + 1e-6);
        break;
      case Norm::L2:
        REQUIRE(n.l2 <= p.number(a.budget) + 1e-5);
        break;
      case Norm::L0:
        REQUIRE(n.l0 <= static_cast<std::int64_t>(p.number(a.budget)));
        break;
      case Norm::Patch: {
        // A square of area A = size * H * W, at any angle: the unit squares around the pixel centres
        // it holds are disjoint and lie in the square grown by 1/2 on every side, whose area is
        // A + 2 sqrt(A) (|cos| + |sin|) + 1 <= A + 2 sqrt(2 A) + 1; and those centres span at most
        // sqrt(2 A) along each axis (the rotated square's bounding box).
        const int h = x.dim(2), w = x.dim(3);
        const double area = p.number(a.budget) * h * w;
        REQUIRE(static_cast<double>(n.l0) <= area + 2.0 * std::sqrt(2.0 * area) + 1.0);
        int i0 = h, i1 = -1, j0 = w, j1 = -1;
        for (int c = 0; c < x.dim(1); ++c)
          for (int q = 0; q < h * w; ++q) {
            const std::int64_t k = (static_cast<std::int64_t>(i) * x.dim(1) + c) * h * w + q;
            if (r.adv.data[static_cast<size_t>(k)] == x.data[static_cast<size_t>(k)]) continue;
            i0 = std::min(i0, q / w), i1 = std::max(i1, q / w), j0 = std::min(j0, q % w), j1 = std::max(j1, q % w);
          }
        if (i1 >= 0) {
          REQUIRE(i1 - i0 <= std::sqrt(2.0 * area) + 1e-9);
          REQUIRE(j1 - j0 <= std::sqrt(2.0 * area) + 1e-9);
        }
        break;
      }
    }
  }
}

}  // namespace

TEST_CASE("every registered attack keeps the invariants (random models, untargeted and targeted)", "[registry]") {
  REQUIRE(!attacks().empty());
  for (const AttackSpec& a : attacks()) {
    INFO("attack " << a.name);
    for (const char* arch : {"softmax", "small"}) {
      Sequential m = make_model(arch, 21);
      const Tensor x = test::random_images(5, 22);
      const Tensor x_copy = x;
      const std::vector<int> y = {0, 1, 2, 3, 4}, t = {9, 9, 0, 0, 1};
      const ParamValues p = test_params(a);
      Goal with_reject{y, {}};
      with_reject.reject = 9;
      for (const Goal& goal : {Goal{y, {}}, Goal{y, t}, with_reject}) {
        const AttackInput in{m, cross_entropy_objective(), x, goal, p, 7};
        const AttackResult r = run_attack(a, in);
        check_budget(a, p, x, r);
        REQUIRE(x.data == x_copy.data);                     // the caller's input is untouched
        REQUIRE(run_attack(a, in).adv.data == r.adv.data);  // same seed, same result
        const std::vector<int> pred = m.predict(r.adv);
        REQUIRE(pred == r.pred);
        for (size_t i = 0; i < y.size(); ++i) {
          REQUIRE(static_cast<bool>(r.success[i]) == goal.succeeded(i, pred[i]));
          if (pred[i] == goal.reject) REQUIRE(!r.success[i]);
        }
        if (goal.targeted())
          for (size_t i = 0; i < y.size(); ++i) REQUIRE(static_cast<bool>(r.success[i]) == (pred[i] == t[i]));
        REQUIRE(r.queries >= x.dim(0));
        if (a.gradient)
          REQUIRE(r.gradient_calls > 0);
        else
          REQUIRE(r.gradient_calls == 0);
        // Resumable: stepping by hand gives the same result, progress rises to 1.
        std::unique_ptr<AttackRun> run = start_attack(a, in);
        double last = -1.0;
        while (!run->step()) {
          REQUIRE(run->progress() >= last);
          last = run->progress();
        }
        REQUIRE(run->done());
        REQUIRE(run->progress() == 1.0);
        REQUIRE(run->result().adv.data == r.adv.data);
      }
    }
  }
}

TEST_CASE("every registered attack keeps its budget and [0, 1] with every switch on", "[registry]") {
  // The Bool parameters (early stop, an unclipped random start, ...) all on at once.
  for (const AttackSpec& a : attacks()) {
    ParamValues p = test_params(a);
    bool any = false;
    for (const ParamSpec& s : a.params)
      if (s.type == ParamType::Bool) p.set(s.key, 1.0), any = true;
    if (!any) continue;
    INFO("attack " << a.name);
    Sequential m = make_model("small", 21);
    const Tensor x = test::random_images(5, 22);
    const AttackInput in{m, cross_entropy_objective(), x, Goal{{0, 1, 2, 3, 4}, {}}, p, 7};
    const AttackResult r = run_attack(a, in);
    check_budget(a, p, x, r);
    REQUIRE(run_attack(a, in).adv.data == r.adv.data);
    REQUIRE(m.predict(r.adv) == r.pred);
  }
}

TEST_CASE("every registered attack rejects bad input with clear messages", "[registry][errors]") {
  Sequential m = make_model("softmax", 1);
  const Tensor x = test::random_images(2, 3);
  for (const AttackSpec& a : attacks()) {
    INFO("attack " << a.name);
    const ParamValues p = test_params(a);
    Tensor nan = x;
    nan.data[5] = std::nanf("");
    REQUIRE_THROWS_WITH(run_attack(a, {m, cross_entropy_objective(), nan, Goal{{0, 1}, {}}, p, 0}),
                        Catch::Contains("NaN"));
    Tensor big = x;
    big.data[7] = 2.0f;
    REQUIRE_THROWS_WITH(run_attack(a, {m, cross_entropy_objective(), big, Goal{{0, 1}, {}}, p, 0}),
                        Catch::Contains("outside [0, 1]"));
    REQUIRE_THROWS_WITH(run_attack(a, {m, cross_entropy_objective(), x, Goal{{0, 10}, {}}, p, 0}),
                        Catch::Contains("out of range"));
    REQUIRE_THROWS_WITH(run_attack(a, {m, cross_entropy_objective(), x, Goal{{0, 1}, {3, -1}}, p, 0}),
                        Catch::Contains("out of range"));
    for (const ParamSpec& s : a.params) {
      if (s.type == ParamType::Bool) continue;
      ParamValues bad = p;
      bad.set(s.key, s.max + 1.0);
      REQUIRE_THROWS_WITH(run_attack(a, {m, cross_entropy_objective(), x, Goal{{0, 1}, {}}, bad, 0}),
                          Catch::Contains(s.key + " must be"));
    }
  }
}

TEST_CASE("the tables: unique names and keys, shared keys mean the same, no clash with state keys", "[registry]") {
  const std::set<std::string> reserved = {"model", "attack", "target", "seed",       "defence", "adaptive",
                                          "bpda",  "test",   "img",    "preprocess", "brush",   "hide"};
  const std::set<char> ui_keys = {'C', 'R', 'E', 'T', 'A', 'P'};  // the playground's other shortcuts
  std::set<std::string> names;
  std::set<char> letters;
  std::map<std::string, const ParamSpec*> keys;
  auto check_table = [&](const std::vector<ParamSpec>& table) {
    for (const ParamSpec& p : table) {
      INFO("parameter " << p.key);
      REQUIRE(!p.key.empty());
      REQUIRE(p.key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") == std::string::npos);
      REQUIRE(!reserved.count(p.key));
      REQUIRE(!p.help.empty());
      REQUIRE(p.min <= p.def);
      REQUIRE(p.def <= p.max);
      if (keys.count(p.key)) {  // the same key in two tables: one value in the URL and the UI
        const ParamSpec& q = *keys[p.key];
        REQUIRE(q.type == p.type);
        REQUIRE(q.min == p.min);
        REQUIRE(q.max == p.max);
        REQUIRE(q.def == p.def);
      }
      keys[p.key] = &p;
    }
  };
  for (const AttackSpec& a : attacks()) {
    INFO("attack " << a.name);
    REQUIRE(names.insert(a.name).second);
    REQUIRE(!reserved.count(a.name));
    REQUIRE((a.budget.empty() || find_param(a.params, a.budget)));
    REQUIRE(a.start);
    if (a.key) {
      REQUIRE(letters.insert(a.key).second);
      REQUIRE(!ui_keys.count(a.key));
    }
    check_table(a.params);
  }
  for (const DefenceSpec& d : defences()) {
    INFO("defence " << d.name);
    REQUIRE(names.insert(d.name).second);
    REQUIRE(d.name != "none");
    REQUIRE((d.build || d.start));  // in one call, or in steps
    check_table(d.params);
  }
  REQUIRE_THROWS_WITH(get_attack("nope"), Catch::Contains("known: fgsm"));
  REQUIRE_THROWS_WITH(get_defence("nope"), Catch::Contains("known: threshold"));
}

TEST_CASE("noise: random signs at +-eps, seeded, clipped, no gradient", "[registry]") {
  Sequential m = make_model("softmax", 2);
  const Tensor x = test::random_images(3, 4);
  ParamValues p;
  p.set("eps", 0.1);
  const AttackResult r = run_attack(get_attack("noise"), {m, cross_entropy_objective(), x, Goal{{0, 1, 2}, {}}, p, 9});
  int up = 0, down = 0;
  for (size_t i = 0; i < x.data.size(); ++i) {
    const float d = r.adv.data[i] - x.data[i];
    const float expect_up = std::min(1.0f, x.data[i] + 0.1f), expect_down = std::max(0.0f, x.data[i] - 0.1f);
    REQUIRE((r.adv.data[i] == expect_up || r.adv.data[i] == expect_down));
    up += d > 0, down += d < 0;
  }
  // Fair coin: about half each (2352 values; 6 sigma is ~145).
  CHECK(std::abs(up - down) < 300);
  ParamValues q = p;
  const AttackResult other =
      run_attack(get_attack("noise"), {m, cross_entropy_objective(), x, Goal{{0, 1, 2}, {}}, q, 10});
  REQUIRE(other.adv.data != r.adv.data);
}
