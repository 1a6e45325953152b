// Clean and adversarial evaluation over a dataset, in batches.
#pragma once
#include <optional>

#include "engine/attacks/attack.h"
#include "engine/data/dataset.h"
#include "engine/model.h"

namespace advx {

double accuracy(Sequential& m, const Tensor& images, const std::vector<int>& labels, int batch = 256);

struct EvalResult {
  int n = 0;
  double clean_acc = 0.0;
  double adv_acc = 0.0;       // accuracy on the adversarial set (misclassified images left as they are)
  double success_rate = 0.0;  // among attacked images (correctly classified, and label != target when
                              // targeted): fraction made wrong (untargeted) or made the target (targeted)
  int attacked = 0;
  double linf_mean = 0.0, linf_max = 0.0;  // over all n images (0 for those left as they are)
  double seconds = 0.0;
  std::int64_t gradient_calls = 0;
  Tensor adv;  // the n adversarial images in dataset order
};

// attack == nullopt: clean evaluation only (adv = the clean images). target < 0: untargeted.
EvalResult evaluate(Sequential& m, const Dataset& d, const std::optional<LinfAttack>& attack, int target,
                    int batch = 256);

}  // namespace advx
