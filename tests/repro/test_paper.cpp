// Paper numbers on the shipped, really trained models, on the MNIST test set; and the accuracy of
// the shipped CIFAR-10 model.
// Size: clean accuracies always on all 10,000 test images; the attacks on all 10,000 by default,
// or on the first ADVX_REPRO_N (scripts/test uses 2,000 for CI; REPRODUCTIONS.md has the full-size
// numbers and says which size each one used).
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "engine/attacks/attack.h"
#include "engine/data/dataset.h"
#include "engine/defences/defence.h"
#include "engine/eval/evaluate.h"
#include "engine/io/model_io.h"

using namespace advx;

namespace {

// All 10,000 MNIST test images.
const Dataset& mnist_test() {
  static const Dataset d = load_dataset(resolve_data_dir(""), "mnist", "test");
  return d;
}

// The first ADVX_REPRO_N test images (all 10,000 when unset) for the attack reproductions.
Dataset repro_set() {
  const char* env = std::getenv("ADVX_REPRO_N");
  return mnist_test().head(env ? std::atoi(env) : mnist_test().size());
}

Sequential shipped(const std::string& name) {
  return load_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/" + name + ".safetensors");
}

EvalResult run(const std::string& model, const std::optional<LinfAttack>& atk) {
  Sequential m = shipped(model);
  // Clean accuracy always on the full test set (cheap); attacks on the reproduction set.
  const EvalResult r = evaluate(m, atk ? repro_set() : mnist_test(), atk, -1);
  std::printf("[repro] %-8s n=%d eps=%.2f steps=%d: clean %.4f adv %.4f success %.4f linf_max %.4f (%.1f s)\n",
              model.c_str(), r.n, atk ? static_cast<double>(atk->eps) : 0.0, atk ? atk->steps : 0, r.clean_acc,
              r.adv_acc, r.success_rate, r.linf_max, r.seconds);
  return r;
}

LinfAttack fgsm_cfg(float eps) {
  LinfAttack c;
  c.eps = eps, c.steps = 1, c.step_size = eps;
  return c;
}

}  // namespace

TEST_CASE("shipped models meet their test accuracies", "[repro]") {
  CHECK(run("softmax", std::nullopt).clean_acc >= 0.915);
  CHECK(run("fc500", std::nullopt).clean_acc >= 0.98);
  CHECK(run("cnn", std::nullopt).clean_acc >= 0.99);
  CHECK(run("small", std::nullopt).clean_acc >= 0.985);
}

// CIFAR-10: the shipped cifar_lenet on the exact pixels of test images 0-999 (cifar10-exact; the
// full test set exists only JPEG-compressed). assets/models/README.md has the accuracy measured
// after training; the bound is a little below it.
TEST_CASE("shipped models: cifar_lenet meets its CIFAR-10 test accuracy", "[repro]") {
  Sequential m = shipped("cifar_lenet");
  const Dataset exact = load_dataset(resolve_data_dir(""), "cifar10-exact", "test");
  const EvalResult r = evaluate(m, exact, std::nullopt, -1);
  std::printf("[repro] %-8s n=%d (cifar10-exact test 0-999): clean %.4f (%.1f s)\n", "cifar_lenet", r.n, r.clean_acc,
              r.seconds);
  CHECK(r.n == 1000);
  CHECK(r.clean_acc >= 0.64);  // measured 0.6530
}

// Goodfellow, Shlens, Szegedy 2015 (arXiv:1412.6572), section 4: a softmax regression on MNIST
// under FGSM eps = 0.25 has 99.9% error. We require >= 98%.
TEST_CASE("Goodfellow 2015: softmax under FGSM eps 0.25 has >= 98% error", "[repro]") {
  const EvalResult r = run("softmax", fgsm_cfg(0.25f));
  CHECK(1.0 - r.adv_acc >= 0.98);
  CHECK(r.linf_max <= 0.25 + 1e-6);
}

// Madry et al. 2018 (arXiv:1706.06083), MNIST, naturally trained CNN: FGSM eps 0.3 leaves few
// images right (we require <= 20%), PGD-40 with step 0.01 and a random start leaves <= 2%.
TEST_CASE("Madry 2018: naturally trained cnn under FGSM and PGD-40 at eps 0.3", "[repro]") {
  CHECK(run("cnn", fgsm_cfg(0.3f)).adv_acc <= 0.20);
  LinfAttack pgd;
  pgd.eps = 0.3f, pgd.steps = 40, pgd.step_size = 0.01f, pgd.random_start = true, pgd.early_stop = true, pgd.seed = 1;
  const EvalResult r = run("cnn", pgd);
  CHECK(r.adv_acc <= 0.02);
  CHECK(r.linf_max <= 0.3 + 1e-6);
}

// Binary threshold (t = 0.5) in front of the naturally trained models, PGD-40 (step 0.01, random
// start) at eps 0.1, 0.2, 0.3: the oblivious attacker (crafted on the bare model) and the adaptive
// one (BPDA through the threshold, Athalye et al. 2018). Input discretisation is a strong baseline
// on MNIST (Panda et al. 2019): the defended accuracy stays high even under BPDA, and the adaptive
// attacker is at least as strong as the oblivious one (within 1 point: on a few images the
// oblivious adversarial happens to land better). The masked attacker (true gradient, zero) changes
// nothing at all. Size: the first ADVX_REPRO_DEFENCE_N test images (default 1000; scripts/test uses
// 300; REPRODUCTIONS.md has all 10,000).
TEST_CASE("Threshold defence: clean, oblivious and adaptive (BPDA) accuracy under PGD-40", "[repro]") {
  const char* env = std::getenv("ADVX_REPRO_DEFENCE_N");
  const Dataset d = mnist_test().head(env ? std::atoi(env) : 1000);
  const DefenceSpec& spec = get_defence("threshold");
  ParamValues t;
  t.set("threshold", 0.5);
  for (const char* name : {"small", "cnn"}) {
    Sequential m = shipped(name);
    std::unique_ptr<Classifier> defended = build_defence(spec, disk_context(""), m, t, true);
    const double clean = evaluate(*defended, d, EvalConfig{}).clean_acc;
    CHECK(clean >= 0.97);
    for (float eps : {0.1f, 0.2f, 0.3f}) {
      ParamValues p = defaults(get_attack("pgd").params);
      p.set("eps", eps), p.set("steps", 40), p.set("step_size", 0.01);
      EvalConfig cfg;
      cfg.attack = registered_attack(get_attack("pgd"), p, 1);
      const EvalResult obl = evaluate(*defended, d, cfg, &m);
      const EvalResult ada = evaluate(*defended, d, cfg);
      std::printf("[repro] threshold(0.5) > %-5s n=%d eps=%.1f: clean %.4f oblivious %.4f adaptive(BPDA) %.4f (%.1f s)\n",
                  name, d.size(), static_cast<double>(eps), clean, obl.adv_acc, ada.adv_acc, obl.seconds + ada.seconds);
      CHECK(ada.adv_acc <= obl.adv_acc + 0.01);
      CHECK(ada.linf_max <= eps + 1e-6);
      if (eps <= 0.1f) CHECK(ada.adv_acc >= 0.85);  // a strong baseline at small eps
    }
    // Through the true gradient the attack cannot move: BIM (no random start) ends where it began,
    // so the masked number is the clean one. (PGD's random start alone flips ~1% of the images.)
    ParamValues p = defaults(get_attack("bim").params);
    p.set("eps", 0.3), p.set("steps", 10);
    EvalConfig cfg;
    cfg.attack = registered_attack(get_attack("bim"), p, 1);
    std::unique_ptr<Classifier> masked = build_defence(spec, disk_context(""), m, t, false);
    const EvalResult r = evaluate(*masked, d.head(200), cfg);
    CHECK(r.adv_acc == Approx(r.clean_acc));
  }
}
