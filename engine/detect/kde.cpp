#include "engine/detect/kde.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "engine/error.h"

namespace advx {

KernelDensity::KernelDensity(const Tensor& features, const std::vector<int>& labels, int classes, double bw) {
  KernelDensityWork work(features, labels, classes, bw);
  work.finish();
  *this = std::move(*work.result());
}

KernelDensityWork::KernelDensityWork(const Tensor& features, const std::vector<int>& labels, int classes, double bw)
    : BatchedWork("estimating the density's bandwidth, class", classes, 1),
      kd_(new KernelDensity()),  // its constructor is private to this friend
      bw_(bw) {
  ADVX_REQUIRE(features.rank() == 2 && features.dim(0) == static_cast<int>(labels.size()) && features.dim(0) > 0,
               "kernel density: features [M, F] and M labels, got " + shape_str(features.shape) + " and " +
                   std::to_string(labels.size()) + " labels");
  ADVX_REQUIRE(std::isfinite(bw) && bw > 0.0, "kernel density: the bandwidth factor must be > 0");
  const int dim = kd_->dim_ = features.dim(1);
  std::vector<std::vector<int>> idx(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    ADVX_REQUIRE(labels[i] >= 0 && labels[i] < classes, "kernel density: label out of range");
    idx[static_cast<std::size_t>(labels[i])].push_back(static_cast<int>(i));
  }
  for (int c = 0; c < classes; ++c) {
    const auto& ix = idx[static_cast<std::size_t>(c)];
    ADVX_REQUIRE(ix.size() >= 2,
                 "kernel density: class " + std::to_string(c) + " has fewer than 2 training images; use more (kde_n)");
    Tensor t({static_cast<int>(ix.size()), dim});
    for (std::size_t k = 0; k < ix.size(); ++k)
      std::copy_n(features.ptr() + static_cast<std::int64_t>(ix[k]) * dim, dim,
                  t.ptr() + static_cast<std::int64_t>(k) * dim);
    kd_->per_class_.push_back(std::move(t));
  }
}

void KernelDensityWork::run(int first, int count) {
  const int dim = kd_->dim_;
  for (int c = first; c < first + count; ++c) {
    const Tensor& t = kd_->per_class_[static_cast<std::size_t>(c)];
    // Pairwise squared distances within the class (every pair up to 200 points: the median is stable).
    const int m = std::min<int>(t.dim(0), 200);
    for (int i = 0; i < m; ++i)
      for (int j = i + 1; j < m; ++j) {
        double s = 0.0;
        for (int f = 0; f < dim; ++f) {
          const double e = static_cast<double>(t.data[static_cast<std::size_t>(i * dim + f)]) -
                           t.data[static_cast<std::size_t>(j * dim + f)];
          s += e * e;
        }
        d2_.push_back(s);
      }
  }
  if (first + count == total()) {
    std::nth_element(d2_.begin(), d2_.begin() + static_cast<std::ptrdiff_t>(d2_.size() / 2), d2_.end());
    kd_->sigma2_ = bw_ * std::max(d2_[d2_.size() / 2], 1e-12);
    d2_ = {};
  }
}

std::unique_ptr<KernelDensity> KernelDensityWork::result() {
  ADVX_REQUIRE(done() && kd_, "kernel density: the bandwidth is not estimated yet (or the result was taken)");
  return std::move(kd_);
}

double KernelDensity::score(const float* phi, int t, float* dphi) const {
  ADVX_REQUIRE(t >= 0 && t < static_cast<int>(per_class_.size()), "kernel density: class out of range");
  const Tensor& pts = per_class_[static_cast<std::size_t>(t)];
  const int m = pts.dim(0);
  logk_.resize(static_cast<std::size_t>(m));
  double top = -1e300;
  for (int i = 0; i < m; ++i) {
    const float* p = pts.ptr() + static_cast<std::int64_t>(i) * dim_;
    double s = 0.0;
    for (int f = 0; f < dim_; ++f) {
      const double e = static_cast<double>(phi[f]) - p[f];
      s += e * e;
    }
    logk_[static_cast<std::size_t>(i)] = -s / sigma2_;
    top = std::max(top, logk_[static_cast<std::size_t>(i)]);
  }
  double sum = 0.0;
  for (double v : logk_) sum += std::exp(v - top);
  const double log_kd = top + std::log(sum) - std::log(static_cast<double>(m));
  if (dphi) {
    std::fill(dphi, dphi + dim_, 0.0f);
    for (int i = 0; i < m; ++i) {
      const double w = std::exp(logk_[static_cast<std::size_t>(i)] - top) / sum;
      if (w < 1e-12) continue;
      const float* p = pts.ptr() + static_cast<std::int64_t>(i) * dim_;
      const auto c = static_cast<float>(2.0 * w / sigma2_);
      for (int f = 0; f < dim_; ++f) dphi[f] += c * (phi[f] - p[f]);
    }
  }
  return -log_kd;
}

}  // namespace advx
