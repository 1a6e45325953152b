// Sequence squeezing (Rosenberg, Shabtai, Elovici, Rokach 2019, "Defense Methods Against Adversarial
// Examples for Recurrent Neural Networks", arXiv:1901.09963, section "Sequence squeezing"): tokens
// whose embeddings are close are merged, so an attacker's choice among similar tokens stops
// mattering. k-means on the embedding rows of the real tokens (ids >= 2) puts each token in a
// cluster; every token is replaced by its cluster's representative, the member nearest to the
// centroid (a real token, so a squeezed sequence is still a sequence the model can read). <pad> and
// <unk> stay as they are.
//
//   defence   classify the squeezed sequence: z = f(squeeze(x))
//   detector  score(x) = || softmax(f(x)) - softmax(f(squeeze(x))) ||_1 (as Xu et al.'s feature
//             squeezing for images, arXiv:1704.01155), flagged above a threshold set at a chosen
//             false-positive rate on clean validation samples (threshold_at_fpr, detect/detector.h)
//
// In the embedding space (what the gradient attacks differentiate at), squeeze(e) maps each valid
// row to the representative embedding of its nearest non-empty centroid, which for e = W[t] is t's
// own cluster's (the final assignment is nearest-centroid); the backward pass is straight-through
// (BPDA, Athalye et al. 2018, arXiv:1802.00420): the adaptive attacker's gradient.
//
// Deviations: Rosenberg et al. cluster word2vec-style embeddings trained separately; we cluster the
// classifier's own embedding matrix (k-means++ seeding with advx::Rng, Lloyd to convergence or 100
// iterations), and the representative is a member token rather than the centroid itself.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/sequence_classifier.h"

namespace advx {

struct TokenClusters {
  int k = 0;                                 // clusters asked for
  std::vector<std::int32_t> cluster;         // per token (-1 for <pad> and <unk>)
  std::vector<std::int32_t> representative;  // per cluster (-1 if empty)
  std::vector<std::int32_t> map;             // token -> its representative (<pad>, <unk> -> themselves)
  Tensor centroids;                          // [k, E]
  int nonempty() const;
};

// k-means of W's rows 2..V-1 into k clusters (1 <= k <= V - 2), seeded.
TokenClusters cluster_tokens(const Tensor& w, int k, std::uint64_t seed, int max_iterations = 100);

class SqueezedSequenceModel : public SequenceClassifier {
 public:
  // `base` is not owned and must outlive this object.
  SqueezedSequenceModel(SequenceClassifier& base, TokenClusters clusters);
  std::string name() const override;
  int classes() const override { return base_.classes(); }
  const Tensor& embedding_matrix() const override { return base_.embedding_matrix(); }
  const Tensor& logits(const Tokens& tokens) override;
  const Tensor& logits_embedded(const Tensor& embedded, const std::vector<int>& lengths) override;
  void embedded_gradient(const Tensor& dlogits, Tensor& d_embedded) override;
  GradientKind gradient_kind() const override { return GradientKind::StraightThrough; }

  const TokenClusters& clusters() const { return c_; }
  SequenceClassifier& base() { return base_; }
  // The detector's score per sequence (two forwards of the base model per batch).
  std::vector<float> scores(const std::vector<std::vector<std::int32_t>>& sequences);

 private:
  SequenceClassifier& base_;
  TokenClusters c_;
  Tokens squeezed_;
  Tensor e_squeezed_;
};

}  // namespace advx
