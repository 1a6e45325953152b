// L-infinity gradient-sign attacks: FGSM (Goodfellow, Shlens, Szegedy 2015, arXiv:1412.6572) and
// BIM / PGD (Kurakin, Goodfellow, Bengio 2017, arXiv:1607.02533; Madry et al. 2018,
// arXiv:1706.06083). One loop serves all of them (as in foolbox's gradient_descent_base): FGSM is
// one step of size eps from the clean point, BIM is several smaller steps, PGD adds a random start
// and restarts. The registry's fgsm, bim and pgd entries are three configurations of this loop.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/attacks/attack.h"

namespace advx {

struct LinfAttack {
  float eps = 0.3f;
  int steps = 1;              // 1 with step_size = eps and no random start = FGSM
  float step_size = -1.0f;    // < 0: eps for one step, else 2.5 * eps / steps (Madry et al.)
  bool random_start = false;  // uniform start in the eps-ball (PGD)
  // The random start clipped to [0, 1] as well (true), or left in the eps-ball only (false: Wong,
  // Rice, Kolter 2020's MNIST training takes the first gradient there, pixels below 0 included).
  // Every step is projected onto the eps-ball and [0, 1] either way, so results are valid images.
  bool clip_start = true;
  int restarts = 1;         // independent runs; per sample the best is kept
  bool early_stop = false;  // freeze samples as soon as they are fooled (saves gradient calls)
  std::uint64_t seed = 0;   // random start; same seed, same result
  // Evaluate the final iterate (one more forward pass) to fill pred, logits and success. false
  // skips that pass when only the image is wanted (the web API's advx.fgsm): pred stays -1, success
  // 0, logits unset. Needs restarts == 1 and no early stop, which choose results by evaluating them.
  bool evaluate = true;
};

// The loop as a resumable run: one step() = one gradient step (or the final evaluation) of every
// sample still running. x, labels and targets are copied.
std::unique_ptr<AttackRun> start_linf(Classifier& m, const Objective& objective, const Tensor& x, const Goal& goal,
                                      const LinfAttack& cfg);

// targets: empty for untargeted, else one class per sample (pred == target is success; the loss
// of the target is minimised instead of the label's maximised). Cross-entropy objective.
// The caller's x is never modified. Throws advx::Error on bad input (shape, NaN/Inf, pixels outside
// [0, 1], eps < 0, steps < 1, labels or targets out of range).
AttackResult linf_attack(Classifier& m, const Tensor& x, const std::vector<int>& labels,
                         const std::vector<int>& targets, const LinfAttack& cfg);

AttackResult fgsm(Classifier& m, const Tensor& x, const std::vector<int>& labels, const std::vector<int>& targets,
                  float eps);

// The registry entry of the classic gradient-sign attack with `steps` steps: FGSM for 1, BIM for
// more (for callers that speak in steps, such as the JS API's advx.fgsm).
const AttackSpec& gradient_sign_attack(int steps);

// The exact Euclidean projection onto {a : |a - x|_inf <= eps} ∩ [0, 1]^d, in place on `adv`.
// Both sets are boxes, so their intersection is the box [max(x - eps, 0), min(x + eps, 1)] and
// clamping each coordinate to it is the projection.
void project_linf(Tensor& adv, const Tensor& x, float eps);
// The same on n values (one sample's row), for loops that project sample by sample.
void project_linf(float* adv, const float* x, std::int64_t n, float eps);

}  // namespace advx
