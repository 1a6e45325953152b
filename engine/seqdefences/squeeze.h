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

#include "engine/rng.h"
#include "engine/sequence_classifier.h"
#include "engine/work.h"

namespace advx {

struct TokenClusters {
  int k = 0;                                 // clusters asked for
  std::vector<std::int32_t> cluster;         // per token (-1 for <pad> and <unk>)
  std::vector<std::int32_t> representative;  // per cluster (-1 if empty)
  std::vector<std::int32_t> map;             // token -> its representative (<pad>, <unk> -> themselves)
  Tensor centroids;                          // [k, E]
  int nonempty() const;
};

// k-means of W's rows 2..V-1 into k clusters (1 <= k <= V - 2), seeded: ClusterWork run to the end.
TokenClusters cluster_tokens(const Tensor& w, int k, std::uint64_t seed, int max_iterations = 100);

// The same k-means in steps (engine/work.h), for a build spread over frames (SMS, k = 2560 of 3,734
// rows: ~0.4 s in one call). A step is one block of the algorithm, its size fixed by the cost model
// (batch_for), never by a clock: k-means++ seeding a block of centres (a pass over the n rows each:
// n E multiply-adds), the first assignment and each Lloyd iteration's reassignment a block of rows
// (k E each), each Lloyd update (n E) a step of its own. The arithmetic and its order are
// cluster_tokens' whatever the steps, so the clusters are the same bit for bit. The total is
// counted for max_iterations; Lloyd's convergence ends the work early. `w` must outlive the work.
class ClusterWork : public BatchedWork {
 public:
  ClusterWork(const Tensor& w, int k, std::uint64_t seed, int max_iterations = 100);
  // "clustering 3,734 embedding rows into 2,560: seeding centres 512 of 2,560" (then "Lloyd iteration 3, rows ...")
  std::string progress() const override;
  double fraction() const override;  // of the current phase
  TokenClusters take();              // once done() (once: moved out)

 protected:
  void run(int first, int count) override;

 private:
  enum class Phase { Seed, Assign, Update, Reassign, Done };
  void seed_centre();  // one k-means++ centre
  void finalize();     // representatives and the token map
  const Tensor& w_;
  int v_, e_, n_, max_it_;
  int centres_per_step_, rows_per_step_;
  Phase phase_ = Phase::Seed;
  int ci_ = 0, row_ = 0, it_ = 0;
  bool moved_ = false, taken_ = false;
  Rng rng_;
  int pick_ = 0;
  std::vector<double> d_;
  std::vector<char> all_;
  TokenClusters c_;
};

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
  double macs_per_token() const override { return base_.macs_per_token(); }

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
