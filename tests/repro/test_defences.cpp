// The input-transformation defences and detectors (engine/defences/), each measured three ways
// (clean, oblivious attacker crafted on the bare model, adaptive attacker through the defence) on the
// shipped models and real MNIST test images.
// Size: the first ADVX_REPRO_DEFENCE_N test images (scripts/test uses 300; default 1000); the
// detectors run on the first N even-indexed test images (at most 5000: their thresholds come from
// the odd-indexed ones). PGD-40: step 0.01, random start, early stop (the same success as all 40
// steps, fewer gradient calls), seed 1.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "engine/attacks/attack.h"
#include "engine/data/dataset.h"
#include "engine/defences/defence.h"
#include "engine/detect/detector.h"
#include "engine/detect/mmd.h"
#include "engine/eval/evaluate.h"
#include "engine/io/model_io.h"

using namespace advx;

namespace {

const Dataset& mnist_test() {
  static const Dataset d = load_dataset(resolve_data_dir(""), "mnist", "test");
  return d;
}

int defence_n() {
  const char* env = std::getenv("ADVX_REPRO_DEFENCE_N");
  return env ? std::atoi(env) : 1000;
}

Sequential shipped(const std::string& name) {
  return load_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/" + name + ".safetensors");
}

std::unique_ptr<Classifier> defence(const std::string& name, Classifier& base,
                                    const std::map<std::string, double>& set = {}) {
  const DefenceSpec& spec = get_defence(name);
  ParamValues p = defaults(spec.params);
  for (const auto& [k, v] : set) p.set(k, v);
  return build_defence(spec, disk_context(""), base, p, true);
}

EvalConfig attack(const std::string& name, const std::map<std::string, double>& set) {
  ParamValues p = defaults(get_attack(name).params);
  for (const auto& [k, v] : set) p.set(k, v);
  EvalConfig cfg;
  cfg.attack = registered_attack(get_attack(name), p, 1);
  return cfg;
}

EvalConfig pgd40(double eps) {
  return attack("pgd", {{"eps", eps}, {"steps", 40}, {"step_size", 0.01}, {"early_stop", 1}});
}

struct Three {
  double clean, oblivious, adaptive;
};

// Clean, oblivious and adaptive accuracy of `defended` (around `bare`) under PGD-40 at eps.
Three three_ways(Classifier& defended, Sequential& bare, const Dataset& d, double eps, const char* what) {
  const EvalResult obl = evaluate(defended, d, pgd40(eps), &bare);
  const EvalResult ada = evaluate(defended, d, pgd40(eps));
  std::printf("[repro] %-34s n=%d eps=%.1f: clean %.4f oblivious %.4f adaptive %.4f (%.1f s)\n", what, d.size(), eps,
              obl.clean_acc, obl.adv_acc, ada.adv_acc, obl.seconds + ada.seconds);
  CHECK(ada.linf_max <= eps + 1e-6);
  return {obl.clean_acc, obl.adv_acc, ada.adv_acc};
}

}  // namespace

// Xu, Evans, Qi 2018 (arXiv:1704.01155): squeezing as a reformer. 1-bit + 2x2 median in front of
// `small`. Oblivious: the squeezers wash out much of a perturbation made for the bare model.
// Adaptive (BPDA through both): lower, as Athalye et al. 2018 found for input transformations, but
// on MNIST the 1-bit squeezer still holds most images even at eps 0.3 against this PGD-40 (step 0.01,
// one start): a change below 0.5 cannot move a black or white pixel's squeezed value, as for the
// threshold defence. No bound on the adaptive accuracy is asserted here: the earlier guess (<= 0.5 at
// eps 0.3) was not met, and a stronger adaptive attack (restarts, larger steps) is still to be tried.
TEST_CASE("Feature squeezing: clean, oblivious and adaptive (BPDA) accuracy under PGD-40", "[repro]") {
  const Dataset d = mnist_test().head(defence_n());
  Sequential m = shipped("small");
  std::unique_ptr<Classifier> sq = defence("squeeze", m);
  for (double eps : {0.1, 0.2, 0.3}) {
    const Three r = three_ways(*sq, m, d, eps, "squeeze(1-bit, median 2x2) > small");
    CHECK(r.clean >= 0.97);
    CHECK(r.adaptive < r.oblivious);  // the adaptive attacker is the stronger one
  }
}

// MagNet's reformer (Meng & Chen 2017, arXiv:1705.09064) with both shipped autoencoders: clean
// accuracy within 0.5 points of the bare model's; the autoencoder is differentiable, so the adaptive
// attacker goes straight through it (Carlini & Wagner 2017, arXiv:1711.08478).
TEST_CASE("Autoencoder reformer: clean within 0.5 points, oblivious and adaptive under PGD-40", "[repro]") {
  const Dataset d = mnist_test().head(defence_n());
  Sequential m = shipped("small");
  const double bare = evaluate(m, d, EvalConfig{}).clean_acc;
  for (double ae : {0.0, 1.0}) {
    std::unique_ptr<Classifier> r = defence("autoencoder", m, {{"ae", ae}});
    const std::string what = std::string(ae == 0.0 ? "dae" : "cae") + " reformer > small";
    for (double eps : {0.1, 0.3}) {
      const Three t = three_ways(*r, m, d, eps, what.c_str());
      CHECK(t.clean >= bare - 0.005);
      CHECK(t.adaptive < t.oblivious);
    }
  }
}

// Xu et al.'s MNIST detector (1-bit and 2x2 median, threshold at 5% false positives on clean
// validation images): FGSM eps 0.3 and BIM eps 0.3 (step 0.06, 10 steps) crafted on the bare model.
// Xu et al. report 98.2% detection at 3.98% false positives over their attack mix. Then the adaptive
// attackers, PGD-40 with BPDA through the squeezers: the C&W reject class alone (attacker=reject) and
// with every squeezed branch pushed to the same wrong class (attacker=joint, He et al. 2017, the
// default), at the default weight w = 1 and at w = 0.3. Fewer of their successful adversarials are
// flagged than of the oblivious attacker's; the joint one at w = 0.3 leaves the most images
// misclassified AND unflagged (DEFENCES.md has the full-size PGD-100 table), though at eps 0.3
// against the 1-bit squeezer that stays a minority (a change below 0.5 cannot move a black or white
// pixel's squeezed value).
TEST_CASE("Feature-squeezing detector: Xu et al.'s MNIST setting, then the adaptive attacker", "[repro]") {
  const Dataset d = held_out_split(mnist_test()).head(defence_n());
  for (const char* name : {"small", "cnn"}) {
    Sequential m = shipped(name);
    std::unique_ptr<Classifier> det = defence("squeeze_detect", m);
    for (const auto& [label, cfg] :
         {std::pair<const char*, EvalConfig>{"FGSM 0.3", attack("fgsm", {{"eps", 0.3}})},
          {"BIM 0.3/0.06", attack("bim", {{"eps", 0.3}, {"steps", 10}, {"step_size", 0.06}})}}) {
      const EvalResult r = evaluate(*det, d, cfg, &m);
      const EvalDetection& e = r.detection;
      std::printf("[repro] squeeze_detect > %-5s %-12s n=%d: fpr %.4f detect %.4f (of %d) ROC-AUC %.4f (%.1f s)\n",
                  name, label, d.size(), e.fpr, e.detect_rate, e.successful, e.roc_auc, r.seconds);
      CHECK(e.fpr <= 0.08);
      CHECK(e.detect_rate >= 0.85);
      CHECK(e.roc_auc >= 0.95);
    }
  }
  Sequential m = shipped("small");
  std::unique_ptr<Classifier> det = defence("squeeze_detect", m);
  const EvalResult obl = evaluate(*det, d, pgd40(0.3), &m);
  std::printf("[repro] squeeze_detect > small PGD-40 0.3 n=%d: oblivious detect %.4f undetected-success %.4f\n",
              d.size(), obl.detection.detect_rate, obl.detection.undetected_success);
  std::map<std::string, double> undetected;
  for (const char* attacker : {"reject", "joint"})
    for (double w : {1.0, 0.3}) {
      std::unique_ptr<Classifier> a = defence(
          "squeeze_detect", m, {{"attacker", std::string(attacker) == "joint" ? 1.0 : 0.0}, {"reject_weight", w}});
      const EvalResult ada = evaluate(*a, d, pgd40(0.3));
      std::printf(
          "[repro] squeeze_detect > small PGD-40 0.3 adaptive %-6s w=%.1f: detect %.4f undetected-success %.4f acc "
          "%.4f\n",
          attacker, w, ada.detection.detect_rate, ada.detection.undetected_success, ada.adv_acc);
      CHECK(ada.detection.detect_rate < obl.detection.detect_rate);
      undetected[std::string(attacker) + (w == 1.0 ? " 1" : " 0.3")] = ada.detection.undetected_success;
    }
  CHECK(undetected["joint 1"] > undetected["reject 1"]);
  CHECK(undetected["joint 0.3"] > obl.detection.undetected_success);
}
