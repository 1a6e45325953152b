// What an attacker wants, and the losses it climbs.
//
// Goal: per sample a label (the true class, or the clean prediction when the truth is unknown) and,
// for a targeted attack, a target class. Success is one rule everywhere (attack, evaluation, UI):
//   untargeted: pred != label          targeted: pred == target
// A classifier may have a REJECT class (a detector's "this input is adversarial" output, as in
// Carlini & Wagner 2017, arXiv:1705.07263, who add it as class K+1): then an untargeted attack wants
// neither the label nor the reject class (pred != label and pred != reject); a targeted one still
// wants pred == target.
//
// Objective: from logits z [N, K] and the goal, the attacker's value v_i per sample (LARGER is closer
// to the goal) and, if asked, dv_i/dz_i. Attacks ascend v; black-box ones (differential evolution)
// maximise it from logits alone. The losses:
//   cross-entropy   untargeted v = CE(z, y) = -log softmax(z)_y        (FGSM/BIM/PGD's loss)
//                   targeted   v = -CE(z, t)
//                   with a reject class r: untargeted v = -log(p_y + p_r), the log-odds of "neither"
//   margin (C&W)    untargeted v = min(max_{j != y} z_j - z_y, kappa)  (Carlini & Wagner 2017,
//                   targeted   v = min(z_t - max_{j != t} z_j, kappa)   arXiv:1608.04644, f_6)
//                   with a reject class r: untargeted v = min(max_{j != y, r} z_j - max(z_y, z_r), kappa)
//   weighted sum    v = sum_k w_k v_k  (e.g. a classifier term plus a detector term, so an adaptive
//                   attacker can fool a detector and the classifier at once: Carlini & Wagner 2017,
//                   arXiv:1705.07263)
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace advx {

struct Goal {
  std::vector<int> labels;   // one per sample
  std::vector<int> targets;  // empty: untargeted; else one per sample
  int reject = -1;           // the classifier's reject class (a detector's), or -1 for none
  bool targeted() const { return !targets.empty(); }
  int target(std::size_t i) const { return targets.empty() ? -1 : targets[i]; }
  // attack_succeeded for sample i.
  bool succeeded(std::size_t i, int pred) const;
  // Samples [begin, begin + count) of this goal (the reject class kept).
  Goal slice(std::size_t begin, std::size_t count) const;
};

// The success rule. target < 0: untargeted; reject < 0: no reject class.
inline bool attack_succeeded(int pred, int label, int target, int reject = -1) {
  return target >= 0 ? pred == target : pred != label && pred != reject;
}

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;
  // value[i] = v_i; if grad != nullptr, *grad becomes [N, K] with row i = dv_i/dz_i.
  virtual void evaluate(const Tensor& logits, const Goal& goal, std::vector<float>& value, Tensor* grad) const = 0;
};

class CrossEntropyObjective : public Objective {
 public:
  std::string name() const override { return "ce"; }
  void evaluate(const Tensor& logits, const Goal& goal, std::vector<float>& value, Tensor* grad) const override;
};

class MarginObjective : public Objective {
 public:
  explicit MarginObjective(float kappa = 1e30f) : kappa_(kappa) {}
  std::string name() const override { return "margin"; }
  void evaluate(const Tensor& logits, const Goal& goal, std::vector<float>& value, Tensor* grad) const override;

 private:
  float kappa_;  // confidence cap: beyond it the attacker gains nothing (gradient 0)
};

class WeightedSumObjective : public Objective {
 public:
  void add(float weight, std::shared_ptr<const Objective> term) { terms_.emplace_back(weight, std::move(term)); }
  std::string name() const override;
  void evaluate(const Tensor& logits, const Goal& goal, std::vector<float>& value, Tensor* grad) const override;

 private:
  std::vector<std::pair<float, std::shared_ptr<const Objective>>> terms_;
};

// The default (cross-entropy), shared.
const Objective& cross_entropy_objective();

}  // namespace advx
