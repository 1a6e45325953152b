// RNN ensembles (Rosenberg, Shabtai, Elovici, Rokach 2019, arXiv:1901.09963, "RNN ensembles"): M
// sequence classifiers over the same vocabulary vote. With p_m = softmax(z_m) of member m:
//
//   soft  z = log( 1/M sum_m p_m )                         softmax(z) = the mean probability
//   hard  z_j = votes_j / M + 1e-3 * (1/M) sum_m p_m,j     votes_j = #{m : argmax p_m = j}; argmax z is
//                                                          the majority, ties broken by the mean probability
//
// Members have their own embeddings, so the ensemble's embedding space is their concatenation:
// W = [W_1 | ... | W_M] [V, M E], an embedded batch e [N, T, M E] gives member m the slice
// e[..., mE : (m+1)E], and a token projected onto W's rows is one token for every member. The
// gradient of the soft vote is exact:
//
//   dL/dz_m = 1/M * p_m ⊙ (u - <p_m, u>),   u = dL/dp̄ = (dL/dz) / p̄      (z = log p̄)
//
// and each member's dL/de fills its slice. The hard vote is piecewise constant: its gradient is the
// soft vote's (a straight-through surrogate; gradient_kind() says so). Deviation: Rosenberg et al.'s
// members differ in training data and architecture; ours are one recipe (api_lstm's) with other
// seeds or other thirds of the training split (assets/models/sequence/README.md).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/ensemble.h"
#include "engine/sequence_classifier.h"

namespace advx {

// Vote: engine/ensemble.h (the image ensembles' soft / hard).
class SequenceEnsemble : public SequenceClassifier {
 public:
  // `members` are not owned and must outlive this object (`keep` holds any the ensemble should own);
  // every member has the same vocabulary size and number of classes. M >= 1.
  SequenceEnsemble(std::vector<SequenceClassifier*> members, Vote vote,
                   std::vector<std::unique_ptr<SequenceClassifier>> keep = {});
  std::string name() const override;
  int classes() const override { return k_; }
  const Tensor& embedding_matrix() const override { return w_; }  // [V, M E]
  const Tensor& logits(const Tokens& tokens) override;
  const Tensor& logits_embedded(const Tensor& embedded, const std::vector<int>& lengths) override;
  void embedded_gradient(const Tensor& dlogits, Tensor& d_embedded) override;
  GradientKind gradient_kind() const override;
  double macs_per_token() const override;  // the members' sum

  int size() const { return static_cast<int>(members_.size()); }
  SequenceClassifier& member(int m) { return *members_[static_cast<size_t>(m)]; }
  Vote vote() const { return vote_; }
  // Each member's probabilities at the last forward: [M][N * K], row-major per sample.
  const std::vector<std::vector<float>>& member_probs() const { return probs_; }
  // Each member's vote (argmax) at the last forward: [M][N].
  std::vector<std::vector<int>> member_votes() const;

 private:
  const Tensor& vote_logits();

  std::vector<SequenceClassifier*> members_;
  std::vector<std::unique_ptr<SequenceClassifier>> keep_;
  Vote vote_;
  int k_ = 0, e_ = 0;
  Tensor w_, z_, slice_, dz_m_, de_m_;
  std::vector<std::vector<float>> probs_;
  std::vector<float> mean_;  // [N * K]
};

// The shipped members of the registered defence seqensemble (seqensemble.cpp): the names of the
// three models of `kind` ("regular", "subsequence", "adversarial") for `dataset` (paths under
// assets/models without the extension: "sequence/api_lstm_regular_2", "sequence/sms_lstm_regular_2");
// throws if none are shipped for the dataset.
std::vector<std::string> seq_ensemble_member_names(const std::string& dataset, const std::string& kind);
// Their files on disk; throws if one is missing.
std::vector<std::string> seq_ensemble_member_files(const std::string& dataset, const std::string& kind);

}  // namespace advx
