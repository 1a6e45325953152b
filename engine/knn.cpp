#include "engine/knn.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "engine/error.h"
#include "engine/kernels/eigen_gemm.h"
#include "engine/kernels/gemm.h"
#include "engine/parallel.h"

namespace advx {
namespace {

constexpr int kChunk = 1024;  // reference rows per GEMM (fixed: results must not depend on threads)

// (d, j) < (e, i) in the total order of the search: distance, then index.
inline bool before(float d, int j, float e, int i) {
  return d < e || (d == e && j < i);
}

}  // namespace

// Rows of D floats per batch: about 2 M float64 multiply-adds (a dependent chain each row: slower
// per operation than a GEMM's, hence fewer than kBatchMacs).
RowNormsWork::RowNormsWork(const float* points, int m, int d)
    : BatchedWork("indexing the training images", m, std::max(1, 2000000 / std::max(d, 1))), points_(points), d_(d) {
  ADVX_REQUIRE(points && m > 0 && d > 0, "k-NN index: no reference points");
  norms_.resize(static_cast<size_t>(m));
}

void RowNormsWork::run(int first, int count) {
  for (int j = first; j < first + count; ++j) {
    const float* f = points_ + static_cast<std::int64_t>(j) * d_;
    double s = 0.0;
    for (int t = 0; t < d_; ++t) s += static_cast<double>(f[t]) * f[t];
    norms_[static_cast<size_t>(j)] = static_cast<float>(s);
  }
}

std::vector<float> RowNormsWork::take() {
  ADVX_REQUIRE(done(), "k-NN index: the norms are not computed yet");
  return std::move(norms_);
}

KnnIndex::KnnIndex(const float* points, int m, int d, std::vector<float> norms)
    : points_(points), m_(m), d_(d), norms_(std::move(norms)) {
  ADVX_REQUIRE(points && m > 0 && d > 0, "k-NN index: no reference points");
  if (norms_.empty()) {
    RowNormsWork work(points, m, d);
    work.finish();
    norms_ = work.take();
  }
  ADVX_REQUIRE(norms_.size() == static_cast<size_t>(m),
               "k-NN index: " + std::to_string(norms_.size()) + " norms for " + std::to_string(m) + " points");
}

KnnIndex::KnnIndex(Tensor points)
    : KnnIndex(points.ptr(), points.shape.empty() ? 0 : points.dim(0), static_cast<int>(points.sample_size())) {
  owned_ = std::move(points);  // a vector's move keeps its buffer, so points_ stays valid
  points_ = owned_.ptr();
}

void KnnIndex::search(const float* q, int b, int count, int* idx, float* d2) {
  ADVX_REQUIRE(count >= 1 && count <= m_, "k-NN: asked for " + std::to_string(count) + " neighbours of " +
                                              std::to_string(m_) + " reference points");
  if (b <= 0) return;
  const auto ub = static_cast<size_t>(b), uc = static_cast<size_t>(count);
  qnorm_.resize(ub);
  for (int r = 0; r < b; ++r) {
    double s = 0.0;
    for (int t = 0; t < d_; ++t)
      s += static_cast<double>(q[static_cast<std::int64_t>(r) * d_ + t]) * q[static_cast<std::int64_t>(r) * d_ + t];
    qnorm_[static_cast<size_t>(r)] = static_cast<float>(s);
  }
  const int chunks = (m_ + kChunk - 1) / kChunk;
  const int threads = std::max(1, std::min(max_threads(), chunks));
  dist_.resize(static_cast<size_t>(threads));
  best_d_.resize(static_cast<size_t>(threads));
  best_i_.resize(static_cast<size_t>(threads));
  best_n_.resize(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    dist_[static_cast<size_t>(t)].resize(ub * kChunk);
    best_d_[static_cast<size_t>(t)].resize(ub * uc);
    best_i_[static_cast<size_t>(t)].resize(ub * uc);
    best_n_[static_cast<size_t>(t)].assign(ub, 0);
  }
  const bool own = kernels::use_own_gemm();
  // fn(first chunk, end chunk) on one thread; parallel_rows gives each thread one block.
  parallel_rows(chunks, static_cast<double>(b) * kChunk * d_, [&](int c0, int c1) {
    const auto t = static_cast<size_t>(thread_id());
    float* dist = dist_[t].data();
    float* bd = best_d_[t].data();
    int* bi = best_i_[t].data();
    int* bn = best_n_[t].data();
    for (int c = c0; c < c1; ++c) {
      const int j0 = c * kChunk, rows = std::min(kChunk, m_ - j0);
      const float* f = point(j0);
      // dist[r][j] = q_r . f_{j0 + j}
      if (own) {
        kernels::gemm_nt(b, rows, d_, q, d_, f, d_, dist, rows, false);
      } else {
        Eigen::Map<const MatR> Q(q, b, d_), F(f, rows, d_);
        Eigen::Map<MatR> S(dist, b, rows);
        kernels::matmul(kernels::N(Q), kernels::T(F), S);
      }
      for (int r = 0; r < b; ++r) {
        const float* s = dist + static_cast<std::int64_t>(r) * rows;
        float* ld = bd + static_cast<std::int64_t>(r) * count;
        int* li = bi + static_cast<std::int64_t>(r) * count;
        int& n = bn[r];
        const float qn = qnorm_[static_cast<size_t>(r)];
        for (int j = 0; j < rows; ++j) {
          const int id = j0 + j;
          const float d = std::max(0.0f, qn + norms_[static_cast<size_t>(id)] - 2.0f * s[j]);
          if (n == count && !before(d, id, ld[count - 1], li[count - 1])) continue;
          // Insert into the sorted list (dropping its last entry when full).
          int p = n < count ? n++ : count - 1;
          while (p > 0 && before(d, id, ld[p - 1], li[p - 1])) {
            ld[p] = ld[p - 1], li[p] = li[p - 1];
            --p;
          }
          ld[p] = d, li[p] = id;
        }
      }
    }
  });
  // Merge the threads' lists, recompute the survivors' distances exactly, sort by (d2, index).
  for (int r = 0; r < b; ++r) {
    merge_.clear();
    for (int t = 0; t < threads; ++t) {
      const auto ut = static_cast<size_t>(t);
      for (int p = 0; p < best_n_[ut][static_cast<size_t>(r)]; ++p)
        merge_.emplace_back(best_d_[ut][static_cast<size_t>(r) * uc + static_cast<size_t>(p)],
                            best_i_[ut][static_cast<size_t>(r) * uc + static_cast<size_t>(p)]);
    }
    std::sort(merge_.begin(), merge_.end());
    merge_.resize(uc);
    const float* qr = q + static_cast<std::int64_t>(r) * d_;
    for (auto& [dd, j] : merge_) {
      const float* f = point(j);
      double s = 0.0;
      for (int t = 0; t < d_; ++t) {
        const double e = static_cast<double>(qr[t]) - f[t];
        s += e * e;
      }
      dd = s;
    }
    std::sort(merge_.begin(), merge_.end());
    for (int p = 0; p < count; ++p) {
      idx[static_cast<std::int64_t>(r) * count + p] = merge_[static_cast<size_t>(p)].second;
      d2[static_cast<std::int64_t>(r) * count + p] = static_cast<float>(merge_[static_cast<size_t>(p)].first);
    }
  }
  last_flops_ = 2.0 * b * static_cast<double>(m_) * d_;
}

// ---- the classifier -----------------------------------------------------------------------------

KNearestNeighbours::KNearestNeighbours(const Dataset& train, const KnnConfig& cfg, std::vector<float> norms)
    : cfg_(cfg) {
  init(train);
  space_ = "pixels";
  index_ = std::make_unique<KnnIndex>(train.images.ptr(), train.size(), static_cast<int>(train.images.sample_size()),
                                      std::move(norms));
}

namespace {

std::shared_ptr<const Tensor> all_features(const Dataset& train, Sequential& model) {
  FeatureWork work(model, train, train.size());
  work.finish();
  return work.features();
}

}  // namespace

KNearestNeighbours::KNearestNeighbours(const Dataset& train, Sequential& model, const KnnConfig& cfg)
    : KNearestNeighbours(train, model, cfg, all_features(train, model)) {}

KNearestNeighbours::KNearestNeighbours(const Dataset& train, Sequential& model, const KnnConfig& cfg,
                                       std::shared_ptr<const Tensor> features, std::vector<float> norms)
    : cfg_(cfg), points_(std::move(features)) {
  init(train);
  ADVX_REQUIRE(model.input_shape() == input_shape_, "k-NN in feature space: model '" + model.arch + "' reads " +
                                                        shape_str(model.input_shape()) + ", the training images are " +
                                                        shape_str(input_shape_));
  features_ = std::make_unique<PenultimateFeatures>(model);
  ADVX_REQUIRE(
      points_ && points_->rank() == 2 && points_->dim(0) == train.size() && points_->dim(1) == features_->dim(),
      "k-NN in feature space: the features must be [" + std::to_string(train.size()) + ", " +
          std::to_string(features_->dim()) + "], got " + (points_ ? shape_str(points_->shape) : "none"));
  space_ = model.arch + " features";
  index_ = std::make_unique<KnnIndex>(points_->ptr(), points_->dim(0), points_->dim(1), std::move(norms));
}

void KNearestNeighbours::init(const Dataset& train) {
  ADVX_REQUIRE(train.size() > 0 && train.images.rank() >= 2, "k-NN needs a non-empty training set");
  ADVX_REQUIRE(cfg_.k >= 1 && cfg_.k <= train.size(),
               "k must be in 1.." + std::to_string(train.size()) + ", got " + std::to_string(cfg_.k));
  ADVX_REQUIRE(std::isfinite(cfg_.tau) && cfg_.tau > 0.0f, "the surrogate temperature must be > 0");
  input_shape_.assign(train.images.shape.begin() + 1, train.images.shape.end());
  classes_ = train.num_classes;
  labels_ = train.labels;
  count_ = std::min(train.size(), cfg_.surrogate ? std::max(cfg_.k, cfg_.candidates) : cfg_.k);
}

std::string KNearestNeighbours::name() const {
  return std::to_string(cfg_.k) + "-nn(" + space_ + ")";
}

const Tensor& KNearestNeighbours::logits(const Tensor& x) {
  check_input(*this, x, false);
  const int n = x.dim(0);
  const Tensor* q = &x;
  if (features_) q = &features_->forward(x);
  idx_.resize(static_cast<size_t>(n) * static_cast<size_t>(count_));
  d2_.resize(idx_.size());
  const auto t0 = std::chrono::steady_clock::now();
  index_->search(q->ptr(), n, count_, idx_.data(), d2_.data());
  search_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!features_) query_ = x;  // kept for the surrogate's backward (features_ keeps phi itself)
  out_.resize({n, classes_});
  out_.fill(0.0f);
  for (int r = 0; r < n; ++r) {
    float* o = out_.ptr() + static_cast<std::int64_t>(r) * classes_;
    const int* nb = idx_.data() + static_cast<std::int64_t>(r) * count_;
    for (int t = 0; t < cfg_.k; ++t) o[labels_[static_cast<size_t>(nb[t])]] += 1.0f;
    float top = 0.0f;
    for (int c = 0; c < classes_; ++c) top = std::max(top, o[c]);
    // The winner: the nearest neighbour's class among the classes with the most votes.
    for (int t = 0; t < cfg_.k; ++t) {
      const int y = labels_[static_cast<size_t>(nb[t])];
      if (o[y] == top) {
        o[y] += 0.5f;
        break;
      }
    }
  }
  last_n_ = n;
  return out_;
}

Tensor KNearestNeighbours::probabilities(const Tensor& x) {
  Tensor p = logits(x);  // virtual: a subclass's logits (a defence's cache) are the votes too
  const float total = static_cast<float>(cfg_.k) + 0.5f;
  for (float& v : p.data) v /= total;
  return p;
}

void KNearestNeighbours::input_gradient(const Tensor& dlogits, Tensor& dx) {
  ADVX_REQUIRE(dlogits.shape == out_.shape && last_n_ > 0, "k-NN backward: gradient shape " + shape_str(dlogits.shape) +
                                                               " != logits shape " + shape_str(out_.shape));
  const int n = last_n_, d = index_->dim();
  if (!cfg_.surrogate) {  // the true gradient of a piecewise-constant vote
    Shape s = {n};
    s.insert(s.end(), input_shape_.begin(), input_shape_.end());
    dx.resize(s);
    dx.fill(0.0f);
    return;
  }
  const Tensor& q = features_ ? features_->output() : query_;
  dq_.resize({n, d});
  dq_.fill(0.0f);
  std::vector<double>& w = w_;
  std::vector<double>& big_w = class_w_;
  w.resize(static_cast<size_t>(count_));
  big_w.resize(static_cast<size_t>(classes_));
  for (int r = 0; r < n; ++r) {
    const int* nb = idx_.data() + static_cast<std::int64_t>(r) * count_;
    const float* dd = d2_.data() + static_cast<std::int64_t>(r) * count_;
    const float* g = dlogits.ptr() + static_cast<std::int64_t>(r) * classes_;
    double mean = 0.0;
    for (int j = 0; j < count_; ++j) mean += dd[j];
    const double temp = cfg_.tau * mean / count_ + 1e-12;
    // w_j = softmax(-d2 / T); the nearest has the largest weight, so subtract its exponent.
    double z = 0.0;
    for (int j = 0; j < count_; ++j) z += w[static_cast<size_t>(j)] = std::exp(-(dd[j] - dd[0]) / temp);
    std::fill(big_w.begin(), big_w.end(), 0.0);
    for (int j = 0; j < count_; ++j) {
      w[static_cast<size_t>(j)] /= z;
      big_w[static_cast<size_t>(labels_[static_cast<size_t>(nb[j])])] += w[static_cast<size_t>(j)];
    }
    double gsum = 0.0;  // sum of g over the classes present
    for (int c = 0; c < classes_; ++c)
      if (big_w[static_cast<size_t>(c)] > 0.0) gsum += g[c];
    const float* qr = q.ptr() + static_cast<std::int64_t>(r) * d;
    float* out = dq_.ptr() + static_cast<std::int64_t>(r) * d;
    for (int j = 0; j < count_; ++j) {
      const int y = labels_[static_cast<size_t>(nb[j])];
      const double wj = w[static_cast<size_t>(j)];
      if (wj == 0.0) continue;
      const double a = -(g[y] * wj / big_w[static_cast<size_t>(y)] - wj * gsum) / temp;
      const float* f = index_->point(nb[j]);
      for (int t = 0; t < d; ++t) out[t] += static_cast<float>(2.0 * a * (static_cast<double>(qr[t]) - f[t]));
    }
  }
  if (features_) {
    features_->backward(dq_, dx);
  } else {
    dx = dq_;
    dx.shape = query_.shape;
  }
}

std::vector<Neighbour> KNearestNeighbours::neighbours(int i) const {
  ADVX_REQUIRE(i >= 0 && i < last_n_, "k-NN: no sample " + std::to_string(i) + " in the last call");
  std::vector<Neighbour> out;
  for (int t = 0; t < cfg_.k; ++t) {
    const auto p = static_cast<size_t>(i) * static_cast<size_t>(count_) + static_cast<size_t>(t);
    out.push_back({idx_[p], labels_[static_cast<size_t>(idx_[p])], std::sqrt(d2_[p])});
  }
  return out;
}

}  // namespace advx
