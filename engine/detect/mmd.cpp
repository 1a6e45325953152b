#include "engine/detect/mmd.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "engine/error.h"
#include "engine/rng.h"

namespace advx {
namespace {

// MMD_b^2 from the kernel matrix K of the pooled sample and a split: in_a[i] says which side i is on.
double statistic(const std::vector<double>& K, int total, const std::vector<char>& in_a, int n, int m) {
  double aa = 0.0, bb = 0.0, ab = 0.0;
  for (int i = 0; i < total; ++i) {
    const double* row = K.data() + static_cast<std::ptrdiff_t>(i) * total;
    const bool ia = in_a[static_cast<std::size_t>(i)];
    for (int j = 0; j < total; ++j) {
      const bool ja = in_a[static_cast<std::size_t>(j)];
      if (ia && ja)
        aa += row[j];
      else if (!ia && !ja)
        bb += row[j];
      else
        ab += row[j];  // counted twice (i in A, j in B and the reverse): the 2 of the formula
    }
  }
  const double dn = n, dm = m;
  return aa / (dn * dn) + bb / (dm * dm) - ab / (dn * dm);
}

}  // namespace

MmdResult mmd_test(const Tensor& a, const Tensor& b, int permutations, std::uint64_t seed, double sigma) {
  ADVX_REQUIRE(
      a.rank() >= 2 && b.rank() >= 2 && a.sample_size() == b.sample_size(),
      "MMD test: two batches of the same per-sample shape, got " + shape_str(a.shape) + " and " + shape_str(b.shape));
  const int n = a.dim(0), m = b.dim(0), total = n + m;
  ADVX_REQUIRE(n >= 2 && m >= 2,
               "MMD test: each sample needs at least 2 inputs, got " + std::to_string(n) + " and " + std::to_string(m));
  ADVX_REQUIRE(permutations >= 1 && permutations <= 1000000, "MMD test: permutations must be in 1..1000000");
  ADVX_REQUIRE(std::isfinite(sigma) && sigma >= 0.0, "MMD test: the bandwidth must be >= 0 (0: median heuristic)");
  for (float v : a.data) ADVX_REQUIRE(std::isfinite(v), "MMD test: an input is NaN or infinite");
  for (float v : b.data) ADVX_REQUIRE(std::isfinite(v), "MMD test: an input is NaN or infinite");
  // The pooled sample's squared distances, |u|^2 + |v|^2 - 2 u.v, as one Gram matrix.
  const auto d = static_cast<Eigen::Index>(a.sample_size());
  // (In double: |u|^2 + |v|^2 - 2 u.v cancels for near-identical inputs. A plain loop, not an Eigen
  // product: the engine compiles Eigen's GEMM once, for float, in kernels/eigen_gemm.cpp.)
  using MatRD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  MatRD x(total, d), gram(total, total);
  x.topRows(n) = a.mat().cast<double>();
  x.bottomRows(m) = b.mat().cast<double>();
#pragma omp parallel for schedule(dynamic, 8) if (total >= 64)
  for (int i = 0; i < total; ++i)
    for (int j = 0; j <= i; ++j) {
      const double* u = x.data() + static_cast<std::ptrdiff_t>(i) * d;
      const double* v = x.data() + static_cast<std::ptrdiff_t>(j) * d;
      double s = 0.0;
      for (Eigen::Index k = 0; k < d; ++k) s += u[k] * v[k];
      gram(i, j) = gram(j, i) = s;
    }
  std::vector<double> d2(static_cast<std::size_t>(total) * static_cast<std::size_t>(total));
  std::vector<double> pairs;
  pairs.reserve(static_cast<std::size_t>(total) * static_cast<std::size_t>(total - 1) / 2);
  for (int i = 0; i < total; ++i)
    for (int j = 0; j < total; ++j) {
      const double v = std::max(0.0, gram(i, i) + gram(j, j) - 2.0 * gram(i, j));
      d2[static_cast<std::size_t>(i) * total + j] = i == j ? 0.0 : v;
      if (j > i) pairs.push_back(v);
    }
  MmdResult r;
  r.n = n, r.m = m, r.permutations = permutations;
  if (sigma > 0.0) {
    r.sigma = sigma;
  } else {
    std::nth_element(pairs.begin(), pairs.begin() + static_cast<std::ptrdiff_t>(pairs.size() / 2), pairs.end());
    r.sigma = std::sqrt(std::max(pairs[pairs.size() / 2], 1e-12));
  }
  std::vector<double>& K = d2;  // in place: k = exp(-d^2 / (2 sigma^2))
  const double inv = 1.0 / (2.0 * r.sigma * r.sigma);
  for (double& v : K) v = std::exp(-v * inv);
  std::vector<char> in_a(static_cast<std::size_t>(total), 0);
  std::fill(in_a.begin(), in_a.begin() + n, 1);
  r.mmd2 = statistic(K, total, in_a, n, m);
  Rng rng(seed);
  std::vector<int> order(static_cast<std::size_t>(total));
  for (int i = 0; i < total; ++i) order[static_cast<std::size_t>(i)] = i;
  int at_least = 0;
  for (int p = 0; p < permutations; ++p) {
    for (int i = total - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)],
                order[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i) + 1))]);
    std::fill(in_a.begin(), in_a.end(), 0);
    for (int i = 0; i < n; ++i) in_a[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = 1;
    // A small tolerance so that splits equal to the observed one count as "at least" despite rounding.
    at_least += statistic(K, total, in_a, n, m) >= r.mmd2 - 1e-12;
  }
  r.p_value = (1.0 + at_least) / (1.0 + permutations);
  return r;
}

double MmdRates::rejected(double alpha) const {
  ADVX_REQUIRE(alpha > 0.0 && alpha < 1.0, "MMD test: alpha must be in (0, 1)");
  const auto below = std::count_if(p.begin(), p.end(), [alpha](double v) { return v < alpha; });
  return p.empty() ? 0.0 : static_cast<double>(below) / static_cast<double>(p.size());
}

double MmdRates::median() const {
  if (p.empty()) return 0.0;
  std::vector<double> q = p;
  std::nth_element(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(q.size() / 2), q.end());
  return q[q.size() / 2];
}

double MmdRates::max() const {
  return p.empty() ? 0.0 : *std::max_element(p.begin(), p.end());
}

}  // namespace advx
