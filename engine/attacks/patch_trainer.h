// Training an adversarial patch by expectation over transformations (Brown, Mané, Roy, Abadi,
// Gilmer 2017, "Adversarial Patch", arXiv:1712.09665):
//
//     P* = argmax_P  E_{x ~ X, t ~ T} [ v(model(A(P, x, t))) ]
//
// X: a pool of images (the training set for a universal patch, or an attack's batch); T: random
// placements (engine/patch.h: position, scale, rotation); v: the attacker's Objective, ascended
// (targeted cross-entropy: v = -CE(z, target), so the patch pushes every image towards the target;
// untargeted: v = CE(z, label) of each image's own label). Each step draws a batch of B images
// (uniformly, with replacement) and one placement per image, and takes one Adam step (Kingma & Ba
// 2015, arXiv:1412.6980) on the patch pixels along the batch mean of -dv/dP, computed through the
// Classifier interface (so a defended Pipeline trains the same way), then clips P to [0, 1]:
//
//     g = -(1/B) sum_i J_A(x_i, t_i)^T  model'(y_i)^T  dv_i/dz_i,     P <- clip(Adam(P, g), 0, 1)
//
// Our choices, stated (where Brown et al. may differ): Adam with a clip to [0, 1] as the optimiser;
// a square patch with a hard mask (engine/patch.h); placements that keep the patch inside the
// image; no term for printability or smoothness; digital images only (no lighting or camera model).
//
// Seeded (the initial patch, the batches and the placements come from one advx::Rng), resumable in
// steps: one step() is one batch, and after each step the patch, the loss and the batch's targeted
// success are there to show (the playground draws the patch as it evolves).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/attacks/attack.h"
#include "engine/eval/evaluate.h"
#include "engine/optim.h"
#include "engine/patch.h"

namespace advx {

// The EOT loss of one batch and its gradient w.r.t. the patch, through any Classifier:
//     L(P) = -(1/B) sum_i v_i(model(A(P, x_i)))        (CE targeted: the mean target cross-entropy)
// The applier holds the batch's placements. Scratch is kept between calls (no allocation once the
// batch size settles).
class PatchLoss {
 public:
  // Returns L; if grad != nullptr, *grad becomes dL/dP [C, S, S]. Fills patched(), pred(), values().
  double evaluate(Classifier& model, const Objective& objective, const PatchApplier& applier, const Tensor& patch,
                  const Tensor& x, const Goal& goal, Tensor* grad);
  const Tensor& patched() const { return y_; }            // A(P, x) of the last call
  const std::vector<int>& pred() const { return pred_; }  // the model's predictions on it
  const std::vector<float>& values() const { return v_; }

 private:
  Tensor y_, dlogits_, dy_;
  std::vector<float> v_;
  std::vector<int> pred_;
};

struct PatchTrainConfig {
  PatchEot eot{0.1, 20.0, 0.1};  // training placements (the scale jitters +-10% of the side)
  int batch = 32;                // images (each with its own placement) per step
  float lr = 0.05f;              // Adam's step on the [0, 1] pixel scale
  std::uint64_t seed = 0;
};

// One step's numbers, measured on the step's batch before its update.
struct PatchStepStats {
  double loss = 0.0;     // L(P) above (targeted CE: the mean cross-entropy of the target)
  double success = 0.0;  // share of the batch where attack_succeeded (targeted: pred == target)
};

class PatchTrainer {
 public:
  // `images` [N, C, H, W] in [0, 1] and `labels` (N of them); `target` < 0: untargeted. `pool`: the
  // indices to draw batches from (empty: every image whose label is not the target). `images` and
  // `model` are not copied and must outlive the trainer. `init`: a starting patch [C, S, S] (e.g. to
  // continue training; Adam's moments start afresh), else uniform noise from the seed.
  PatchTrainer(Classifier& model, const Objective& objective, const Tensor& images, std::vector<int> labels, int target,
               PatchTrainConfig cfg, std::vector<int> pool = {}, const Tensor* init = nullptr);

  void step();  // one batch: draw, evaluate, one Adam step
  int steps() const { return static_cast<int>(history_.size()); }
  int target() const { return target_; }
  const Tensor& patch() const { return patch_; }  // [C, S, S], pixels in [0, 1]
  const std::vector<PatchStepStats>& history() const { return history_; }
  // The last step's batch with the patch applied (before the update) and its placements.
  const Tensor& last_batch() const { return loss_.patched(); }
  const std::vector<PatchPlacement>& last_placements() const { return where_; }
  const PatchApplier& applier() const { return applier_; }
  const PatchTrainConfig& config() const { return cfg_; }
  std::int64_t gradient_calls() const { return gradient_calls_; }  // per-sample backward passes

 private:
  Classifier& model_;
  const Objective& objective_;
  const Tensor& images_;
  std::vector<int> labels_, pool_;
  int target_;
  PatchTrainConfig cfg_;
  Rng rng_;
  Tensor patch_, grad_, xb_;
  Adam adam_;
  PatchApplier applier_;
  PatchLoss loss_;
  Goal goal_;
  std::vector<PatchPlacement> where_;
  std::vector<PatchStepStats> history_;
  std::int64_t gradient_calls_ = 0;
};

// What a run of the registered `patch` attack shows besides AttackRun::snapshot(), for the
// playground to draw the patch as it trains (found with dynamic_cast, like a defence's Reporter):
// its trainers, one per target class in the batch (one for an untargeted run), trained one after
// the other, and once done each sample's final placement.
class PatchRunView {
 public:
  virtual ~PatchRunView() = default;
  virtual int trainer_count() const = 0;
  virtual const PatchTrainer& trainer(int g) const = 0;
  virtual int current_trainer() const = 0;  // the one training now (the last one once done)
  // Per sample: its trainer and its placement in the result (empty until the run is done).
  virtual const std::vector<int>& sample_trainer() const = 0;
  virtual const std::vector<PatchPlacement>& placements() const = 0;
};

// For an Evaluation (advx patch eval, the reproductions): applies a fixed patch to every attacked
// image at a placement drawn from `eot` (a seeded sequence in dataset order, so the result does not
// depend on the batch size) and evaluates the source model on it. A fixed patch needs no model to
// craft: scored on another model, it is Brown et al.'s transfer setting.
Crafter patch_crafter(const Tensor& patch, const PatchEot& eot, std::uint64_t seed);

}  // namespace advx
