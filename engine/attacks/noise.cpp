// The random baseline: x' = clip(x + eps * s), s uniform in {-1, +1} per pixel, seeded.
//
// The same L-infinity budget as FGSM but no gradient: set next to FGSM at the same eps it shows that
// the gradient's direction, not the size of the budget, is what fools a model (Goodfellow et al.
// 2015, arXiv:1412.6572, section 5, make the same point with random noise). Black-box: one query
// (the final evaluation), no gradient.
#include <algorithm>

#include "engine/attacks/attack.h"
#include "engine/rng.h"

namespace advx {

AttackSpec noise_attack() {
  AttackSpec s;
  s.name = "noise", s.title = "random signs", s.key = 'N', s.norm = Norm::Linf, s.budget = "eps";
  s.gradient = false;
  s.summary = "random baseline: every pixel moved by +eps or -eps at random (seeded), then clipped to [0, 1]";
  s.citation = "the control for FGSM (Goodfellow, Shlens, Szegedy 2015, arXiv:1412.6572)";
  s.params = {linf_budget_param()};
  s.start = [](const AttackInput& in) {
    Classifier& model = in.model;
    const Goal goal = in.goal;
    const Tensor x = in.x;
    const auto eps = static_cast<float>(in.params.number("eps"));
    const std::uint64_t seed = in.seed;
    const bool eval = in.evaluate;
    return one_shot([&model, goal, x, eps, seed, eval] {
      AttackResult r;
      r.adv = x;
      Rng rng(seed);
      for (float& v : r.adv.data) v = std::clamp(v + (rng.next_u64() >> 63 ? eps : -eps), 0.0f, 1.0f);
      if (eval)
        evaluate_result(model, goal, r);
      else
        r.pred.assign(static_cast<size_t>(x.dim(0)), -1), r.success.assign(static_cast<size_t>(x.dim(0)), 0);
      return r;
    });
  };
  return s;
}

}  // namespace advx
