// Exact k-nearest-neighbour search (Euclidean) and the k-NN classifier over raw inputs or a model's
// penultimate features (Cover & Hart 1967; as a defence: Papernot & McDaniel 2018, "Deep k-Nearest
// Neighbors", arXiv:1803.04765; Sitawarin & Wagner 2019, arXiv:1903.08333, attack it).
//
// Search. Reference points F [M, D] (rows f_j), queries Q [B, D] (rows q):
//   d2(q, f_j) = |q|^2 + |f_j|^2 - 2 q . f_j        the dot products as one GEMM per chunk of rows:
//   S_c = Q F_c^T                                   [B, 1024] per chunk c of 1024 reference rows
// Chunks are spread over threads; each thread keeps the m smallest (d2, j) per query in a sorted
// list, the lists are merged, and the m survivors' distances are recomputed exactly (float64, from
// the vectors) and sorted by (d2, j): the index j breaks exact ties, so the result does not depend
// on the number of threads (every chunk's GEMM has the same shape whatever the split). No memory is
// allocated per query: scratch grows to the largest batch and is reused.
//
// Classifier. The k nearest training samples vote; c_y = how many of them have label y.
//   logits_y = c_y + 1/2 [y = t]     t = the winner: the most votes; a tie goes to the class of the
//                                    nearest neighbour among the tied classes
// (scores, not log-probabilities). Their true gradient is zero almost everywhere (the vote is
// piecewise constant): an attacker that follows it is stuck, which is gradient masking. The
// adaptive attacker's surrogate (`surrogate`, default on; GradientKind::StraightThrough): soft k-NN
// over the m nearest (m = max(k, 64)) with temperature T,
//   s_y = log sum_{j: y_j = y} w_j,   w_j = softmax_j(-d2_j / T),   T = tau * mean_j d2_j (held fixed)
// (a scale-free temperature: tau relative to the neighbourhood's mean squared distance, so the same
// tau fits pixels and features), whose gradient, for g = dL/dlogits taken as dL/ds, is
//   dL/dq = sum_j a_j 2 (q - f_j),   a_j = -(1/T) (g_{y_j} w_j / W_{y_j} - w_j sum_{y present} g_y),
//   W_y = sum_{j: y_j = y} w_j
// (classes absent from the neighbourhood contribute nothing). In feature space q = phi(x) and the
// gradient continues through the model's layers (engine/features.h).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/classifier.h"
#include "engine/data/dataset.h"
#include "engine/features.h"

namespace advx {

// |f_j|^2 of M rows of D floats (what the index keeps), a batch of rows per step for a build spread
// over frames: the same values as the index computes itself (float64 sums, in order).
class RowNormsWork : public BatchedWork {
 public:
  RowNormsWork(const float* points, int m, int d);  // borrowed: must outlive the work
  std::vector<float> take();                        // once done(); moved out

 protected:
  void run(int first, int count) override;

 private:
  const float* points_;
  int d_;
  std::vector<float> norms_;
};

class KnnIndex {
 public:
  // points: M rows of D floats, row-major. Borrowed (must outlive the index) or owned. `norms`: their
  // RowNormsWork, if computed beforehand (empty: computed here).
  KnnIndex(const float* points, int m, int d, std::vector<float> norms = {});
  explicit KnnIndex(Tensor points);  // [M, ...]: owned, each sample flattened
  int size() const { return m_; }
  int dim() const { return d_; }
  const float* point(int j) const { return points_ + static_cast<std::int64_t>(j) * d_; }
  // For each of the b queries (rows of q, D floats each): its `count` nearest points, nearest first
  // (count <= M), into idx[r * count + t] and d2[r * count + t] (squared distances, exact).
  void search(const float* q, int b, int count, int* idx, float* d2);
  // Multiply-adds of the last search's GEMMs, counted as 2 flops each: 2 b M D.
  double last_flops() const { return last_flops_; }

 private:
  Tensor owned_;
  const float* points_ = nullptr;
  int m_ = 0, d_ = 0;
  std::vector<float> norms_;  // |f_j|^2
  double last_flops_ = 0.0;
  // Scratch (grown, never shrunk).
  std::vector<std::vector<float>> dist_;           // per thread: [b, chunk]
  std::vector<std::vector<float>> best_d_;         // per thread: [b, count]
  std::vector<std::vector<int>> best_i_, best_n_;  // per thread: [b, count], [b]
  std::vector<float> qnorm_;
  std::vector<std::pair<double, int>> merge_;
};

struct KnnConfig {
  int k = 1;
  float tau = 0.1f;       // surrogate temperature, relative to the neighbourhood's mean squared distance
  bool surrogate = true;  // adaptive attacker's backward: soft k-NN (true) or the true one, zero (false)
  int candidates = 64;    // the surrogate's neighbourhood m (at least k)
};

struct Neighbour {
  int index = -1, label = -1;
  float distance = 0.0f;  // Euclidean (not squared)
};

class KNearestNeighbours : public Classifier {
 public:
  // Over the raw inputs: the training images themselves (borrowed: `train` must outlive this).
  // `norms`: their RowNormsWork's, if computed beforehand (empty: computed here).
  KNearestNeighbours(const Dataset& train, const KnnConfig& cfg, std::vector<float> norms = {});
  // Over `model`'s penultimate features: phi of every training image is computed here (FeatureWork,
  // run to the end); `model` and `train` must outlive this (the model is run, not copied:
  // engine/features.h).
  KNearestNeighbours(const Dataset& train, Sequential& model, const KnnConfig& cfg);
  // The same over features computed beforehand: `features` [train.size(), dim] must be the finished
  // FeatureWork's of `model` on `train` (shared, not copied: a later build with another k reuses them).
  KNearestNeighbours(const Dataset& train, Sequential& model, const KnnConfig& cfg,
                     std::shared_ptr<const Tensor> features, std::vector<float> norms = {});

  std::string name() const override;  // "5-nn(pixels)", "1-nn(small features)"
  const Shape& input_shape() const override { return input_shape_; }
  int num_classes() const override { return classes_; }
  const Tensor& logits(const Tensor& x) override;
  // The vote shares, not a softmax of the vote scores: p_y = (c_y + 1/2 [y = t]) / (k + 1/2), so a
  // unanimous vote is 1 and the winner of a tie (its half vote) stays the largest.
  Tensor probabilities(const Tensor& x) override;
  void input_gradient(const Tensor& dlogits, Tensor& dx) override;
  GradientKind gradient_kind() const override {
    return cfg_.surrogate ? GradientKind::StraightThrough : GradientKind::Zero;
  }

  // The k nearest training samples of sample i at the last logits() call, nearest first.
  std::vector<Neighbour> neighbours(int i) const;
  const KnnIndex& index() const { return *index_; }
  // Seconds and flops of the last logits() call's search (for ms per query and GFLOP/s).
  double last_search_seconds() const { return search_seconds_; }

 private:
  void init(const Dataset& train);
  KnnConfig cfg_;
  Shape input_shape_;
  int classes_ = 10, count_ = 1;  // count_: neighbours searched (max(k, candidates) with the surrogate)
  std::vector<int> labels_;
  std::unique_ptr<KnnIndex> index_;
  std::unique_ptr<PenultimateFeatures> features_;  // null: raw inputs
  std::shared_ptr<const Tensor> points_;           // the training features the index searches (features_ set)
  std::string space_;
  Tensor query_, out_, dq_;
  std::vector<int> idx_;
  std::vector<float> d2_;
  std::vector<double> w_, class_w_;  // the surrogate's weights (scratch)
  int last_n_ = 0;
  double search_seconds_ = 0.0;
};

}  // namespace advx
