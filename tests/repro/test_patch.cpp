// Brown, Mané, Roy, Abadi, Gilmer 2017 (arXiv:1712.09665), the adversarial patch, on the shipped
// models: a universal patch towards one class, trained by expectation over placements on TRAINING
// images, scored on held-out TEST images at random placements (position, rotation +-20 degrees, the
// nominal area), white-box and transferred to another model; next to an untrained patch of the same
// size (uniform noise from the same seed), the control that says the training, not the covered
// area, moves the predictions.
//
// Size: ADVX_REPRO_PATCH_STEPS training steps (default 500, REPRODUCTIONS.md's table; scripts/test
// uses 100), patch sizes ADVX_REPRO_PATCH_SIZES (default "0.05,0.1,0.2", ascending; scripts/test
// uses "0.2"), held-out images: the first ADVX_REPRO_N test images (default all 10,000 of MNIST and
// of CIFAR-10's JPEG test set; scripts/test uses 2,000). Training images: all of the model's own
// training set (MNIST 60,000; CIFAR-10's 50,000 JPEG images, as cifar_lenet was trained).
// The bounds are measured at the CI size (100 steps; the longer runs only gain) and stated with the
// numbers in REPRODUCTIONS.md.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "engine/attacks/patch_trainer.h"
#include "engine/data/dataset.h"
#include "engine/eval/evaluate.h"
#include "engine/io/model_io.h"

using namespace advx;

namespace {

int env_int(const char* name, int def) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : def;
}

std::vector<double> env_sizes() {
  const char* v = std::getenv("ADVX_REPRO_PATCH_SIZES");
  std::stringstream in(v ? v : "0.05,0.1,0.2");
  std::vector<double> out;
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stod(item));
  return out;
}

Sequential shipped(const std::string& name) {
  return load_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/" + name + ".safetensors");
}

const Dataset& data(const std::string& name, const std::string& split) {
  static std::map<std::string, Dataset> cache;
  const std::string key = name + "/" + split;
  if (!cache.count(key)) cache[key] = load_dataset(resolve_data_dir(""), name, split);
  return cache[key];
}

struct Scored {
  double success = 0.0, clean = 0.0;
  int attacked = 0;
};

// Targeted success of a fixed patch on the first ADVX_REPRO_N test images (placements from seed 1).
Scored score(Classifier& m, const std::string& dataset, const Tensor& patch, double size, int target) {
  const Dataset& test = data(dataset, "test");
  const Dataset d = test.head(env_int("ADVX_REPRO_N", test.size()));
  EvalConfig cfg;
  cfg.attack = patch_crafter(patch, PatchEot{size, 20.0, 0.0}, 1);
  cfg.target = target;
  cfg.keep_adv = false;
  const EvalResult r = evaluate(m, d, cfg);
  return {r.success_rate, r.clean_acc, r.attacked};
}

// The universal patch of `size` for `model` towards `target`: 32 training images a step, Adam 0.05.
Tensor train_patch(Sequential& model, const std::string& dataset, double size, int target) {
  const Dataset& train = data(dataset, "train");
  PatchTrainConfig cfg;
  cfg.eot = PatchEot{size, 20.0, 0.1};
  cfg.seed = 1;
  PatchTrainer t(model, cross_entropy_objective(), train.images, train.labels, target, cfg);
  const int steps = env_int("ADVX_REPRO_PATCH_STEPS", 500);
  for (int k = 0; k < steps; ++k) t.step();
  return t.patch();
}

// An untrained patch: what the trainer starts from (uniform noise from the same seed).
Tensor noise_patch(int channels, int s) {
  Rng rng(1);
  Tensor p({channels, s, s});
  for (float& v : p.data) v = rng.uniform();
  return p;
}

void row(const char* trained, const char* scored, double size, int target, const Scored& r, const Scored& noise) {
  std::printf(
      "[repro] patch %4.0f%% target %d  %-11s -> %-11s attacked %d: targeted success %.4f (untrained patch %.4f), "
      "clean %.4f\n",
      100.0 * size, target, trained, scored, r.attacked, r.success, noise.success, r.clean);
}

// Two models' patches, each scored white-box and on the other model (transfer), next to the
// untrained patch on both; the rows printed.
struct PairScores {
  Scored a_a, a_b, b_b, b_a, noise_a, noise_b;
};

PairScores score_pair(Sequential& a, Sequential& b, const char* name_a, const char* name_b, const std::string& dataset,
                      double size, int target) {
  const Tensor on_a = train_patch(a, dataset, size, target);
  const Tensor on_b = train_patch(b, dataset, size, target);
  const Tensor noise = noise_patch(on_a.dim(0), on_a.dim(1));
  PairScores r;
  r.a_a = score(a, dataset, on_a, size, target);
  r.a_b = score(b, dataset, on_a, size, target);
  r.b_b = score(b, dataset, on_b, size, target);
  r.b_a = score(a, dataset, on_b, size, target);
  r.noise_a = score(a, dataset, noise, size, target);
  r.noise_b = score(b, dataset, noise, size, target);
  row(name_a, name_a, size, target, r.a_a, r.noise_a);
  row(name_a, name_b, size, target, r.a_b, r.noise_b);
  row(name_b, name_b, size, target, r.b_b, r.noise_b);
  row(name_b, name_a, size, target, r.b_a, r.noise_a);
  return r;
}

}  // namespace

TEST_CASE("Brown 2017: a universal adversarial patch on held-out MNIST images, white-box and transferred",
          "[repro][patch]") {
  Sequential cnn = shipped("cnn"), small = shipped("small");
  const int target = 3;
  double last_cnn = 0.0, last_small = 0.0;  // white-box success at the previous (smaller) size
  for (double size : env_sizes()) {
    const PairScores p = score_pair(cnn, small, "cnn", "small", "mnist", size, target);
    const Scored &cnn_cnn = p.a_a, &cnn_small = p.a_b, &small_small = p.b_b, &small_cnn = p.b_a;
    const Scored &noise_cnn = p.noise_a, &noise_small = p.noise_b;
    // The untrained patch is the control: few images become the target (measured 0.0254 on cnn,
    // 0.0125 on small at 20%).
    CHECK(noise_cnn.success <= 0.05);
    CHECK(noise_small.success <= 0.05);
    CHECK(cnn_cnn.success > noise_cnn.success);
    CHECK(small_small.success > noise_small.success);
    // A larger patch does more (full size: 0.018, 0.085, 0.389 on cnn at 5, 10, 20%).
    CHECK(cnn_cnn.success > last_cnn);
    CHECK(small_small.success > last_small);
    last_cnn = cnn_cnn.success, last_small = small_small.success;
    if (size >= 0.2) {
      // Measured at the CI size (100 steps, 2,000 images): cnn -> cnn 0.378 / 0.395 (seeds 2 / 1),
      // cnn -> small 0.289 / 0.297, small -> small 0.251..0.299 and small -> cnn 0.251..0.352 over
      // seeds 1-4 (advx patch train/eval). The bounds leave room for the seed-to-seed spread.
      CHECK(cnn_cnn.success >= 0.25);
      CHECK(small_small.success >= 0.18);
      CHECK(cnn_small.success >= 0.18);
      CHECK(small_cnn.success >= 0.15);
    }
  }
}

TEST_CASE("Brown 2017: a universal adversarial patch on held-out CIFAR-10 images, white-box and transferred",
          "[repro][patch]") {
  // cifar_lenet and the earlier cifar_lenet_adam (same architecture, another recipe and seed path;
  // assets/models/README.md): the transfer pair.
  Sequential lenet = shipped("cifar_lenet"), adam = shipped("cifar_lenet_adam");
  const int target = 3;
  double last = 0.0, last_adam = 0.0;
  for (double size : env_sizes()) {
    const PairScores p = score_pair(lenet, adam, "cifar_lenet", "lenet_adam", "cifar10", size, target);
    const Scored &lenet_lenet = p.a_a, &lenet_adam = p.a_b, &adam_adam = p.b_b, &adam_lenet = p.b_a;
    const Scored &noise_lenet = p.noise_a, &noise_adam = p.noise_b;
    CHECK(noise_lenet.success <= 0.06);  // measured 0.033 (cifar_lenet), 0.032 (lenet_adam) at 20%, CI size
    CHECK(noise_adam.success <= 0.06);
    CHECK(lenet_lenet.success > noise_lenet.success);
    CHECK(adam_adam.success > noise_adam.success);
    CHECK(lenet_lenet.success > last);  // a larger patch does more
    CHECK(adam_adam.success > last_adam);
    last = lenet_lenet.success, last_adam = adam_adam.success;
    if (size >= 0.2) {
      // Measured at the CI size (100 steps, 1,000 images): cifar_lenet 0.745 white-box, lenet_adam
      // 0.366 (0.351..0.374 over seeds 1-4 before); transferred, cifar_lenet -> lenet_adam 0.046 and
      // lenet_adam -> cifar_lenet 0.096, next to 0.03 for the untrained patch: on CIFAR-10 these
      // patches hardly transfer between the two LeNets (REPRODUCTIONS.md).
      CHECK(lenet_lenet.success >= 0.5);
      CHECK(adam_adam.success >= 0.25);
      CHECK(adam_lenet.success > noise_lenet.success);
      CHECK(lenet_adam.success < lenet_lenet.success);
    }
  }
}
