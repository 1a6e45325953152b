#include "engine/loss.h"

#include <cmath>

#include "engine/error.h"

namespace advx {

float cross_entropy(const Tensor& logits, const std::vector<int>& labels, Reduction red, Tensor* dlogits,
                    std::vector<float>* per_sample) {
  ADVX_REQUIRE(logits.rank() == 2, "cross_entropy expects logits [N, K], got " + shape_str(logits.shape));
  const int n = logits.dim(0), k = logits.dim(1);
  ADVX_REQUIRE(static_cast<int>(labels.size()) == n,
               "cross_entropy: " + std::to_string(labels.size()) + " labels for a batch of " + std::to_string(n));
  if (dlogits) dlogits->resize(logits.shape);
  if (per_sample) per_sample->assign(static_cast<size_t>(n), 0.0f);
  const float scale = (red == Reduction::Mean && n > 0) ? 1.0f / static_cast<float>(n) : 1.0f;
  double total = 0.0;
  for (int i = 0; i < n; ++i) {
    const float* z = logits.ptr() + static_cast<std::int64_t>(i) * k;
    const int y = labels[static_cast<size_t>(i)];
    ADVX_REQUIRE(y >= 0 && y < k, "label " + std::to_string(y) + " out of range [0, " + std::to_string(k) + ")");
    // log softmax(z)_j = z_j - m - log sum_c exp(z_c - m), with m = max_c z_c for stability.
    float m = z[0];
    for (int j = 1; j < k; ++j) m = std::max(m, z[j]);
    double s = 0.0;
    for (int j = 0; j < k; ++j) s += std::exp(static_cast<double>(z[j] - m));
    const double lse = static_cast<double>(m) + std::log(s);
    const double loss = lse - z[y];  // -log softmax(z)_y
    total += loss;
    if (per_sample) (*per_sample)[static_cast<size_t>(i)] = static_cast<float>(loss);
    if (dlogits) {
      // dL/dz_j = softmax(z)_j - [j == y], subtracted in double: on a confident prediction p_y is
      // within 1e-8 of 1, so rounding p_y to float first would zero the true class's gradient and
      // leave FGSM's sign pattern to rounding noise (float64 PyTorch keeps it; so do we).
      float* g = dlogits->ptr() + static_cast<std::int64_t>(i) * k;
      for (int j = 0; j < k; ++j)
        g[j] = static_cast<float>(scale * (std::exp(static_cast<double>(z[j]) - lse) - (j == y ? 1.0 : 0.0)));
    }
  }
  return static_cast<float>(total * scale);
}

Tensor softmax(const Tensor& logits) {
  ADVX_REQUIRE(logits.rank() == 2, "softmax expects [N, K], got " + shape_str(logits.shape));
  Tensor p(logits.shape);
  const int n = logits.dim(0), k = logits.dim(1);
  for (int i = 0; i < n; ++i) {
    const float* z = logits.ptr() + static_cast<std::int64_t>(i) * k;
    float* o = p.ptr() + static_cast<std::int64_t>(i) * k;
    float m = z[0];
    for (int j = 1; j < k; ++j) m = std::max(m, z[j]);
    double s = 0.0;
    for (int j = 0; j < k; ++j) s += std::exp(static_cast<double>(z[j] - m));
    for (int j = 0; j < k; ++j) o[j] = static_cast<float>(std::exp(static_cast<double>(z[j] - m)) / s);
  }
  return p;
}

std::vector<int> argmax_rows(const Tensor& t) {
  ADVX_REQUIRE(t.rank() == 2, "argmax_rows expects [N, K], got " + shape_str(t.shape));
  const int n = t.dim(0), k = t.dim(1);
  std::vector<int> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const float* z = t.ptr() + static_cast<std::int64_t>(i) * k;
    int best = 0;
    for (int j = 1; j < k; ++j)
      if (z[j] > z[best]) best = j;
    out[static_cast<size_t>(i)] = best;
  }
  return out;
}

}  // namespace advx
