// Sequence squeezing (squeeze.h): k-means++ and Lloyd on the embedding rows, the squeezed model, the
// detector's score.
#include "engine/seqdefences/squeeze.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"
#include "engine/loss.h"
#include "engine/rng.h"
#include "engine/seqattacks/seq_attack.h"

namespace advx {
namespace {

constexpr int kFirst = 2;  // <pad> and <unk> are not clustered

float dist2(const float* a, const float* b, int e) {
  float s = 0.0f;
  for (int j = 0; j < e; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

// The nearest of the centroids whose `use` flag is set (ties: the lower index).
int nearest(const Tensor& centroids, const std::vector<char>& use, const float* x) {
  const int e = centroids.dim(1);
  int best = -1;
  float bd = std::numeric_limits<float>::infinity();
  for (int c = 0; c < centroids.dim(0); ++c) {
    if (!use[static_cast<size_t>(c)]) continue;
    const float d = dist2(centroids.ptr() + static_cast<std::ptrdiff_t>(c) * e, x, e);
    if (d < bd) bd = d, best = c;
  }
  return best;
}

void softmax_rows(const Tensor& z, std::vector<float>& p) {
  const int n = z.dim(0), k = z.dim(1);
  p.resize(static_cast<size_t>(n * k));
  for (int i = 0; i < n; ++i) {
    const float* r = z.ptr() + static_cast<std::ptrdiff_t>(i) * k;
    const float m = *std::max_element(r, r + k);
    double s = 0.0;
    for (int j = 0; j < k; ++j) s += std::exp(static_cast<double>(r[j] - m));
    for (int j = 0; j < k; ++j)
      p[static_cast<size_t>(i * k + j)] = static_cast<float>(std::exp(static_cast<double>(r[j] - m)) / s);
  }
}

}  // namespace

int TokenClusters::nonempty() const {
  return static_cast<int>(std::count_if(representative.begin(), representative.end(), [](int r) { return r >= 0; }));
}

TokenClusters cluster_tokens(const Tensor& w, int k, std::uint64_t seed, int max_iterations) {
  ClusterWork work(w, k, seed, max_iterations);
  work.finish();
  return work.take();
}

namespace {

int blocks(int items, int per_block) {
  return (items + per_block - 1) / per_block;
}

int check_k(const Tensor& w, int k) {
  const int n = w.dim(0) - kFirst;
  ADVX_REQUIRE(k >= 1 && k <= n, "sequence squeezing: k = " + std::to_string(k) + " clusters for " + std::to_string(n) +
                                     " real tokens; choose k in [1, " + std::to_string(n) + "]");
  return k;
}

// Steps of the whole k-means, counted for max_iterations Lloyd iterations.
int cluster_steps(const Tensor& w, int k, int max_iterations) {
  const int n = w.dim(0) - kFirst, e = w.dim(1);
  const int seed = blocks(k, batch_for(static_cast<double>(n) * e));
  const int assign = blocks(n, batch_for(static_cast<double>(k) * e));
  return seed + assign + std::max(max_iterations, 0) * (1 + assign);
}

}  // namespace

ClusterWork::ClusterWork(const Tensor& w, int k, std::uint64_t seed, int max_iterations)
    : BatchedWork("clustering the embedding rows", cluster_steps(w, check_k(w, k), max_iterations), 1),
      w_(w),
      v_(w.dim(0)),
      e_(w.dim(1)),
      n_(w.dim(0) - kFirst),
      max_it_(max_iterations),
      centres_per_step_(batch_for(static_cast<double>(w.dim(0) - kFirst) * w.dim(1))),
      rows_per_step_(batch_for(static_cast<double>(k) * w.dim(1))),
      rng_(seed) {
  c_.k = k;
  c_.centroids = Tensor({k, e_});
  // k-means++ seeding (Arthur & Vassilvitskii 2007): each next centre drawn with probability ~ D^2.
  d_.assign(static_cast<size_t>(n_), std::numeric_limits<double>::infinity());
  pick_ = kFirst + static_cast<int>(rng_.below(static_cast<std::uint64_t>(n_)));
  all_.assign(static_cast<size_t>(k), 1);
  c_.cluster.assign(static_cast<size_t>(v_), -1);
}

void ClusterWork::seed_centre() {
  auto row = [&](int t) { return w_.ptr() + static_cast<std::ptrdiff_t>(t) * e_; };
  std::copy(row(pick_), row(pick_) + e_, c_.centroids.ptr() + static_cast<std::ptrdiff_t>(ci_) * e_);
  double total = 0.0;
  for (int i = 0; i < n_; ++i) {
    d_[static_cast<size_t>(i)] =
        std::min(d_[static_cast<size_t>(i)], static_cast<double>(dist2(row(kFirst + i), row(pick_), e_)));
    total += d_[static_cast<size_t>(i)];
  }
  double r = rng_.next_double() * total;
  pick_ = kFirst + n_ - 1;
  for (int i = 0; i < n_; ++i) {
    r -= d_[static_cast<size_t>(i)];
    if (r < 0.0 && d_[static_cast<size_t>(i)] > 0.0) {
      pick_ = kFirst + i;
      break;
    }
  }
  ++ci_;
}

void ClusterWork::run(int /*first*/, int /*count*/) {
  // One block of the current phase (the step's index is not needed: the phases keep their place).
  // Lloyd: assign, update, reassign until nothing moves; the final assignment is nearest-centroid.
  auto row = [&](int t) { return w_.ptr() + static_cast<std::ptrdiff_t>(t) * e_; };
  const int k = c_.k;
  switch (phase_) {
    case Phase::Seed:
      for (int b = 0; b < centres_per_step_ && ci_ < k; ++b) seed_centre();
      if (ci_ == k) phase_ = Phase::Assign, row_ = 0;
      break;
    case Phase::Assign:
    case Phase::Reassign: {
      const int end = std::min(n_, row_ + rows_per_step_);
      for (int t = kFirst + row_; t < kFirst + end; ++t) {
        const int cl = nearest(c_.centroids, all_, row(t));
        moved_ |= cl != c_.cluster[static_cast<size_t>(t)];
        c_.cluster[static_cast<size_t>(t)] = cl;
      }
      row_ = end;
      if (row_ < n_) break;
      if (phase_ == Phase::Reassign) ++it_;
      if ((phase_ == Phase::Reassign && !moved_) || it_ >= max_it_) {
        finalize();
        phase_ = Phase::Done;
        end_with_this_batch();
      } else {
        phase_ = Phase::Update;
      }
      break;
    }
    case Phase::Update: {
      std::vector<double> sum(static_cast<size_t>(k * e_), 0.0);
      std::vector<int> count(static_cast<size_t>(k), 0);
      for (int t = kFirst; t < v_; ++t) {
        const int cl = c_.cluster[static_cast<size_t>(t)];
        ++count[static_cast<size_t>(cl)];
        for (int j = 0; j < e_; ++j) sum[static_cast<size_t>(cl * e_ + j)] += row(t)[j];
      }
      for (int cl = 0; cl < k; ++cl)
        if (count[static_cast<size_t>(cl)] > 0)  // an empty cluster keeps its centre
          for (int j = 0; j < e_; ++j)
            c_.centroids.data[static_cast<size_t>(cl * e_ + j)] =
                static_cast<float>(sum[static_cast<size_t>(cl * e_ + j)] / count[static_cast<size_t>(cl)]);
      moved_ = false;
      row_ = 0;
      phase_ = Phase::Reassign;
      break;
    }
    case Phase::Done:
      break;
  }
}

void ClusterWork::finalize() {
  auto row = [&](int t) { return w_.ptr() + static_cast<std::ptrdiff_t>(t) * e_; };
  const int k = c_.k;
  c_.representative.assign(static_cast<size_t>(k), -1);
  std::vector<float> best(static_cast<size_t>(k), std::numeric_limits<float>::infinity());
  for (int t = kFirst; t < v_; ++t) {
    const int cl = c_.cluster[static_cast<size_t>(t)];
    const float dd = dist2(row(t), c_.centroids.ptr() + static_cast<std::ptrdiff_t>(cl) * e_, e_);
    if (dd < best[static_cast<size_t>(cl)])
      best[static_cast<size_t>(cl)] = dd, c_.representative[static_cast<size_t>(cl)] = t;
  }
  c_.map.resize(static_cast<size_t>(v_));
  for (int t = 0; t < v_; ++t)
    c_.map[static_cast<size_t>(t)] =
        t < kFirst ? t : c_.representative[static_cast<size_t>(c_.cluster[static_cast<size_t>(t)])];
}

std::string ClusterWork::progress() const {
  const std::string what = "clustering " + thousands(n_) + " embedding rows into " + thousands(c_.k) + ": ";
  switch (phase_) {
    case Phase::Seed:
      return what + "seeding centres " + thousands(ci_) + " of " + thousands(c_.k);
    case Phase::Assign:
      return what + "first assignment, rows " + thousands(row_) + " of " + thousands(n_);
    case Phase::Update:
      return what + "Lloyd iteration " + std::to_string(it_ + 1) + ", moving the centres";
    case Phase::Reassign:
      return what + "Lloyd iteration " + std::to_string(it_ + 1) + ", rows " + thousands(row_) + " of " + thousands(n_);
    case Phase::Done:
      break;
  }
  return what + "done";
}

double ClusterWork::fraction() const {
  switch (phase_) {
    case Phase::Seed:
      return static_cast<double>(ci_) / c_.k;
    case Phase::Assign:
    case Phase::Reassign:
      return static_cast<double>(row_) / n_;
    case Phase::Update:
      return 0.0;
    case Phase::Done:
      break;
  }
  return 1.0;
}

TokenClusters ClusterWork::take() {
  ADVX_REQUIRE(phase_ == Phase::Done && !taken_, "the k-means has not finished (or its clusters were taken)");
  taken_ = true;
  return std::move(c_);
}

SqueezedSequenceModel::SqueezedSequenceModel(SequenceClassifier& base, TokenClusters clusters)
    : base_(base), c_(std::move(clusters)) {
  ADVX_REQUIRE(static_cast<int>(c_.map.size()) == base.vocab_size(),
               "sequence squeezing: the clusters cover " + std::to_string(c_.map.size()) +
                   " tokens, the model's vocabulary has " + std::to_string(base.vocab_size()) +
                   "; cluster this model's embedding matrix");
}

std::string SqueezedSequenceModel::name() const {
  return "squeeze(k=" + std::to_string(c_.k) + ") > " + base_.name();
}

const Tensor& SqueezedSequenceModel::logits(const Tokens& tokens) {
  check_tokens(tokens, base_.vocab_size(), "squeezed batch");
  squeezed_ = tokens;
  for (int i = 0; i < tokens.n; ++i)
    for (int s = 0; s < tokens.lengths[static_cast<size_t>(i)]; ++s) {
      auto& id = squeezed_.ids[static_cast<size_t>(i) * static_cast<size_t>(tokens.t) + static_cast<size_t>(s)];
      id = c_.map[static_cast<size_t>(id)];
    }
  return base_.logits(squeezed_);
}

const Tensor& SqueezedSequenceModel::logits_embedded(const Tensor& embedded, const std::vector<int>& lengths) {
  ADVX_REQUIRE(embedded.rank() == 3 && embedded.dim(2) == base_.embedding_dim(),
               "squeezed model: embedded input has shape " + shape_str(embedded.shape) + ", expected [N, T, " +
                   std::to_string(base_.embedding_dim()) + "]");
  check_lengths(lengths, embedded.dim(0), embedded.dim(1), "squeezed embedded batch");
  const int t = embedded.dim(1), e = embedded.dim(2);
  std::vector<char> use(static_cast<size_t>(c_.k));
  for (int cl = 0; cl < c_.k; ++cl) use[static_cast<size_t>(cl)] = c_.representative[static_cast<size_t>(cl)] >= 0;
  e_squeezed_ = embedded;
  const Tensor& w = base_.embedding_matrix();
  for (int i = 0; i < embedded.dim(0); ++i)
    for (int s = 0; s < lengths[static_cast<size_t>(i)]; ++s) {
      float* x = e_squeezed_.ptr() + (static_cast<std::ptrdiff_t>(i) * t + s) * e;
      const int cl = nearest(c_.centroids, use, x);
      const float* r = w.ptr() + static_cast<std::ptrdiff_t>(c_.representative[static_cast<size_t>(cl)]) * e;
      std::copy(r, r + e, x);
    }
  return base_.logits_embedded(e_squeezed_, lengths);
}

void SqueezedSequenceModel::embedded_gradient(const Tensor& dlogits, Tensor& d_embedded) {
  base_.embedded_gradient(dlogits, d_embedded);  // straight through the squeezer
}

std::vector<float> SqueezedSequenceModel::scores(const std::vector<std::vector<std::int32_t>>& sequences) {
  std::vector<float> out(sequences.size());
  std::vector<const TokenSeq*> ptrs;
  Tokens batch;
  std::vector<float> p, q;
  for (size_t b = 0; b < sequences.size(); b += 256) {
    ptrs.clear();
    for (size_t i = b; i < std::min(sequences.size(), b + 256); ++i) ptrs.push_back(&sequences[i]);
    pack_tokens(ptrs, batch);
    softmax_rows(base_.logits(batch), p);
    softmax_rows(logits(batch), q);
    const auto k = static_cast<size_t>(classes());
    for (size_t i = 0; i < ptrs.size(); ++i) {
      float s = 0.0f;
      for (size_t j = 0; j < k; ++j) s += std::fabs(p[i * k + j] - q[i * k + j]);
      out[b + i] = s;
    }
  }
  return out;
}

}  // namespace advx
