// An ensemble of classifiers that votes: itself a Classifier, so it is attacked, evaluated and shown
// like a single model.
//
// N members with logits z_i(x) and probabilities p_i = softmax(z_i), mean p̄ = (1/N) sum_i p_i.
//   soft vote   logits o_k = log p̄_k            softmax(o) = p̄; the prediction is argmax p̄
//   hard vote   c_k = #{i : argmax_j z_ij = k}   the members' votes (a member's tie: its lower index)
//               logits o_k = c_k + p̄_k / 2      the prediction is the majority; a tie between classes
//                                                goes to the one with the larger mean probability p̄,
//                                                then to the lower class index (|p̄_k - p̄_j| / 2 < 1, so
//                                                the term never overturns a count)
// The hard logits are scores, not log-probabilities, so probabilities() are the vote shares
// (c_k + p̄_k / 2) / (N + 1/2) (they sum to 1; the largest is the prediction), not softmax(o); the
// members' own probabilities are member_probs().
//
// Gradients, for g = dL/do (Kuncheva 2004 and the ensemble papers vote this way; the gradients are
// ours):
//   soft (exact)  with r_ik = p_ik / (N p̄_k), member i's share of p̄_k (in [0, 1], so this is stable
//                 where p̄_k underflows):
//                   dL/dz_ij = g_j r_ij - p_ij sum_k g_k r_ik
//   hard          the counts are piecewise constant: the true gradient is that of p̄ / 2 alone,
//                   dL/dz_ij = (1 / 2N) (g_j p_ij - p_ij sum_k g_k p_ik)
//                 which vanishes where the members are confident (softmax saturates): an attacker
//                 that follows it learns little (gradient masking). The surrogate for the adaptive
//                 attacker (`surrogate`, default on; GradientKind::StraightThrough as for BPDA,
//                 Athalye, Carlini, Wagner 2018, arXiv:1802.00420): the soft vote's backward, i.e.
//                 the hard vote is treated as log p̄ when differentiating.
// Each member's input gradient is its own input_gradient(dL/dz_i); dL/dx is their sum.
//
// Members: not owned (the constructor; they must outlive the ensemble) or owned (Ensemble::owning).
// They must be distinct objects (each keeps the forward state of its last logits() call) with the
// same input shape and classes.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/classifier.h"

namespace advx {

enum class Vote { Soft, Hard };
const char* vote_name(Vote v);  // "soft", "hard"

class Ensemble : public Classifier {
 public:
  // `names`: one per member for reports (empty: "<member name()> #<i>").
  Ensemble(std::vector<Classifier*> members, Vote vote, bool surrogate = true, std::vector<std::string> names = {});
  // An ensemble that owns its members.
  static std::unique_ptr<Ensemble> owning(std::vector<std::unique_ptr<Classifier>> members, Vote vote,
                                          bool surrogate = true, std::vector<std::string> names = {});

  std::string name() const override;  // "ensemble(soft: a, b, c)"
  const Shape& input_shape() const override { return members_[0]->input_shape(); }
  int num_classes() const override { return members_[0]->num_classes(); }
  const Tensor& logits(const Tensor& x) override;
  Tensor probabilities(const Tensor& x) override;  // soft: p̄; hard: the vote shares (above)
  void input_gradient(const Tensor& dlogits, Tensor& dx) override;
  GradientKind gradient_kind() const override;

  Vote vote() const { return vote_; }
  int size() const { return static_cast<int>(members_.size()); }
  Classifier& member(int i) { return *members_[static_cast<size_t>(i)]; }
  const std::string& member_name(int i) const { return names_[static_cast<size_t>(i)]; }
  // At the last logits() call: member i's probabilities [n, K] and predictions, and p̄ [n, K].
  const Tensor& member_probs(int i) const { return probs_[static_cast<size_t>(i)]; }
  const std::vector<int>& member_preds(int i) const { return preds_[static_cast<size_t>(i)]; }
  const Tensor& mean_probs() const { return mean_; }

 private:
  void init(Vote vote, bool surrogate, std::vector<std::string> names);
  std::vector<std::unique_ptr<Classifier>> owned_;
  std::vector<Classifier*> members_;
  std::vector<std::string> names_;
  Vote vote_ = Vote::Soft;
  bool surrogate_ = true;
  bool have_forward_ = false;
  std::vector<Tensor> logp_;   // per member: log softmax (float64 math, stored as float)
  std::vector<Tensor> probs_;  // per member: softmax
  std::vector<std::vector<int>> preds_;
  Tensor mean_, logmean_, out_;  // p̄, log p̄, the ensemble's logits
  Tensor dz_, dxi_;              // scratch for the backward
};

}  // namespace advx
