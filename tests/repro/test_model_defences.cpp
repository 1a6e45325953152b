// Model-based defences on the shipped models, each three ways (clean, oblivious attacker crafted on
// the bare `small`, adaptive attacker through the defence) with PGD (step 0.01, random start):
// adversarial training (small_fgsmrs, with Wong, Rice, Kolter 2020's PGD-50 x 10 restarts too),
// ensembles (regular and subsequence members, soft and hard votes, one member as the source), k-NN over the 60,000
// training images (pixels and features, k = 1 and 5).
// Size: the first ADVX_REPRO_DEFENCE_N test images (default 1000; scripts/test uses 200), the k-NN's
// adaptive runs on a third of that, PGD-50 x 10 restarts on a quarter; REPRODUCTIONS.md has the numbers and their
// commands.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "engine/attacks/attack.h"
#include "engine/data/dataset.h"
#include "engine/defences/defence.h"
#include "engine/eval/evaluate.h"
#include "engine/io/model_io.h"
#include "engine/knn.h"

using namespace advx;

namespace {

const Dataset& test_set() {
  static const Dataset d = load_dataset(resolve_data_dir(""), "mnist", "test");
  return d;
}

int defence_n() {
  const char* env = std::getenv("ADVX_REPRO_DEFENCE_N");
  return env ? std::atoi(env) : 1000;
}

const DefenceContext& context() {
  static const DefenceContext ctx = disk_context("");
  return ctx;
}

Sequential& bare() {
  static Sequential m = load_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/small.safetensors");
  return m;
}

Crafter pgd(double eps, int steps, int restarts = 1) {
  ParamValues p = defaults(get_attack("pgd").params);
  p.set("eps", eps), p.set("steps", steps), p.set("step_size", 0.01), p.set("restarts", restarts);
  return registered_attack(get_attack("pgd"), p, 1);
}

struct Three {
  double clean = 0.0, oblivious = 0.0, adaptive = 0.0, seconds = 0.0;
};

// Clean, oblivious (crafted on `source`, default the bare small) and adaptive accuracy of `defended`.
Three three_ways(Classifier& defended, const Dataset& d, double eps, int steps, const Dataset* adaptive_set = nullptr,
                 Classifier* source = nullptr) {
  Three t;
  EvalConfig cfg;
  cfg.attack = pgd(eps, steps);
  cfg.keep_adv = false;
  const EvalResult obl = evaluate(defended, d, cfg, source ? source : &bare());
  const EvalResult ada = evaluate(defended, adaptive_set ? *adaptive_set : d, cfg);
  t.clean = obl.clean_acc, t.oblivious = obl.adv_acc, t.adaptive = ada.adv_acc, t.seconds = obl.seconds + ada.seconds;
  CHECK(ada.linf_max <= eps + 1e-6);
  return t;
}

std::unique_ptr<Classifier> defence(const std::string& name, const std::vector<std::pair<std::string, double>>& params,
                                    bool bpda = true) {
  const DefenceSpec& spec = get_defence(name);
  ParamValues p = defaults(spec.params);
  for (const auto& [k, v] : params) p.set(k, v);
  return build_defence(spec, context(), bare(), p, bpda);
}

}  // namespace

// Wong, Rice, Kolter 2020 (arXiv:2001.03994), Table 4 (MNIST, eps 0.3): FGSM from a random start,
// 98.5% clean, 88.77% under PGD-50 with 10 restarts (step 0.01) on their MNIST network. Ours: the
// same recipe on `small`, the same architecture (assets/models/README.md). Clean on all 10,000 test images; PGD-50 x 10
// (500 gradient calls an image) on the first quarter of ADVX_REPRO_DEFENCE_N (REPRODUCTIONS.md has the full-size run).
// The bounds sit below what we measured (98.60% clean; robust 92% on the first 50 images, 84.3% on 1000, 86.95% on
// all 10,000), with room for the sampling spread of 50 images and for a retrained model of another seed (the recipe
// gives 64-84% on 1000 over seeds: REPRODUCTIONS.md): they catch a broken or missing model, not a regression of a
// point.
TEST_CASE("Wong 2020: small_fgsmrs clean and under PGD-50 with 10 restarts at eps 0.3", "[repro]") {
  Sequential& m = context().model("small_fgsmrs");
  const double clean = evaluate(m, test_set(), EvalConfig{}).clean_acc;
  EvalConfig cfg;
  cfg.attack = pgd(0.3, 50, 10);
  cfg.keep_adv = false;
  const EvalResult r = evaluate(m, test_set().head(std::max(50, defence_n() / 4)), cfg);
  std::printf("[repro] small_fgsmrs clean (10k) %.4f; PGD-50 x 10 restarts eps 0.3 step 0.01 n=%d: %.4f (%.1f s)\n",
              clean, r.n, r.adv_acc, r.seconds);
  CHECK(clean >= 0.975);
  CHECK(r.adv_acc >= 0.70);
  CHECK(r.linf_max <= 0.3 + 1e-6);
}

// Adversarial training holds against the adaptive attacker (white-box PGD on the robust model), and
// the oblivious attacker (PGD crafted on the bare small) transfers worse than that.
TEST_CASE("advtrain defence: the robust model holds under the adaptive attacker", "[repro]") {
  const Dataset d = test_set().head(defence_n());
  std::unique_ptr<Classifier> def = defence("advtrain", {});
  for (double eps : {0.1, 0.2, 0.3}) {
    const Three t = three_ways(*def, d, eps, 40);
    std::printf(
        "[repro] advtrain(small_fgsmrs) n=%d eps=%.1f PGD-40: clean %.4f oblivious %.4f adaptive %.4f (%.1f s)\n",
        d.size(), eps, t.clean, t.oblivious, t.adaptive, t.seconds);
    CHECK(t.clean >= 0.97);
    CHECK(t.adaptive <= t.oblivious + 0.01);
    // Measured on the first 2000 test images: 96.10%, 93.55%, 88.60% (DEFENCES.md).
    CHECK(t.adaptive >= (eps <= 0.1 ? 0.90 : eps <= 0.2 ? 0.85 : 0.80));
  }
}

// Naturally trained members make the same mistakes: the adaptive attacker through the ensemble
// leaves almost nothing at eps 0.3, and adversarials crafted on one member transfer. Members
// trained on static FGSM adversarials of other models (Tramer et al. 2018) resist the transferred
// (oblivious) attack far better (62% at n = 300, against 0-1%), not the white-box ones: member 0
// attacked alone leaves their vote at ~1%. Against their hard vote the soft-vote surrogate is the
// weaker white-box attack (24%), so the check takes the stronger of the two.
TEST_CASE("ensemble defence: clean, oblivious, adaptive, and one member as the source", "[repro]") {
  const Dataset d = test_set().head(defence_n());
  const char* kinds[] = {"regular", "subsequence", "adversarial"};
  for (int kind = 0; kind < 3; ++kind)
    for (int vote = 0; vote < 2; ++vote) {
      std::unique_ptr<Classifier> def = defence("ensemble", {{"members", kind}, {"vote", vote}});
      Sequential& member0 = context().model(std::string("ensemble/") + kinds[kind] + "_0");
      const Three t = three_ways(*def, d, 0.3, 40);
      EvalConfig cfg;
      cfg.attack = pgd(0.3, 40);
      cfg.keep_adv = false;
      const EvalResult transfer = evaluate(*def, d, cfg, &member0);
      std::printf(
          "[repro] ensemble(%s, %s) n=%d eps=0.3 PGD-40: clean %.4f oblivious %.4f adaptive %.4f member-0 "
          "transfer %.4f (%.1f s)\n",
          kinds[kind], vote ? "hard" : "soft", d.size(), t.clean, t.oblivious, t.adaptive, transfer.adv_acc,
          t.seconds + transfer.seconds);
      CHECK(t.clean >= 0.97);
      CHECK(std::min(t.adaptive, transfer.adv_acc) <= 0.10);
      CHECK(t.adaptive <= t.oblivious + 0.01);
      CHECK(transfer.adv_acc < t.clean);
      if (kind == 2) CHECK(t.oblivious >= 0.4);
    }
}

// k-NN over the 60,000 training images. In pixel space adversarials made for the network barely
// transfer; the adaptive attacker (soft k-NN surrogate) does better; the true gradient (zero) does
// nothing (BIM, no random start: the masked number is the clean one).
TEST_CASE("knn defence: pixels and features, k = 1 and 5, three ways at eps 0.3", "[repro]") {
  const Dataset d = test_set().head(defence_n());
  const Dataset small = test_set().head(std::max(30, defence_n() / 3));
  struct Setting {
    int k, space;
  };
  for (const Setting s : {Setting{1, 0}, Setting{5, 0}, Setting{5, 1}}) {
    std::unique_ptr<Classifier> def = defence("knn", {{"neighbours", s.k}, {"space", s.space}});
    const Three t = three_ways(*def, d, 0.3, 20, &small);
    std::printf(
        "[repro] knn(k=%d, %s) n=%d (adaptive n=%d) eps=0.3 PGD-20: clean %.4f oblivious %.4f adaptive %.4f "
        "(%.1f s)\n",
        s.k, s.space ? "features" : "pixels", d.size(), small.size(), t.clean, t.oblivious, t.adaptive, t.seconds);
    CHECK(t.clean >= 0.96);
    if (s.space == 0) CHECK(t.oblivious >= 0.5);
    CHECK(t.adaptive <= t.clean);
  }
  std::unique_ptr<Classifier> masked = defence("knn", {{"neighbours", 1}}, false);
  ParamValues p = defaults(get_attack("bim").params);
  p.set("eps", 0.3), p.set("steps", 5);
  EvalConfig cfg;
  cfg.attack = registered_attack(get_attack("bim"), p, 1);
  const EvalResult r = evaluate(*masked, small, cfg);
  CHECK(r.adv_acc == Approx(r.clean_acc));
}

// Milliseconds per query over the 60,000 training images (pixels, 784 values each), one query and
// a batch of 256, with the GEMM rate reached. Printed for REPRODUCTIONS.md; the bound only catches a
// search gone wrong (the browser target is 50 ms for one query).
TEST_CASE("knn: ms per query over 60,000 training images", "[repro]") {
  const Dataset& train = context().data("mnist", "train");
  KnnConfig cfg;
  cfg.k = 5;
  KNearestNeighbours knn(train, cfg);
  for (int b : {1, 256}) {
    const Tensor q = test_set().images.slice(0, b);
    knn.logits(q);  // warm-up
    double best = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      knn.logits(q);
      best = std::min(best, knn.last_search_seconds());
    }
    std::printf("[repro] knn pixels, 60000 x 784, batch %d: %.2f ms per query, %.1f GFLOP/s\n", b, 1e3 * best / b,
                knn.index().last_flops() / best * 1e-9);
    CHECK(1e3 * best / b <= 200.0);
  }
}
