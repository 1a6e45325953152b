#include "engine/norms.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/error.h"

namespace advx {

Norms perturbation_norms(const float* adv, const float* x, const Shape& s, float tol) {
  Norms r;
  const std::int64_t n = shape_size(s);
  // Channels first: [C, H, W] has H*W pixels of C values; anything else counts values.
  const std::int64_t channels = s.size() == 3 ? s[0] : 1;
  const std::int64_t plane = n / std::max<std::int64_t>(channels, 1);
  double l2 = 0.0;
  for (std::int64_t p = 0; p < plane; ++p) {
    bool changed = false;
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::int64_t j = c * plane + p;
      const double d = static_cast<double>(adv[j]) - static_cast<double>(x[j]);
      r.linf = std::max(r.linf, std::fabs(d));
      l2 += d * d;
      changed |= std::fabs(d) > tol;
    }
    r.l0 += changed;
  }
  r.l2 = std::sqrt(l2);
  return r;
}

Norms perturbation_norms(const Tensor& adv, const Tensor& x, int i, float tol) {
  ADVX_REQUIRE(adv.shape == x.shape && i >= 0 && i < x.dim(0), "perturbation_norms: shapes " + shape_str(adv.shape) +
                                                                   " and " + shape_str(x.shape) + ", sample " +
                                                                   std::to_string(i));
  const Shape s(x.shape.begin() + 1, x.shape.end());
  const std::int64_t per = x.sample_size();
  return perturbation_norms(adv.ptr() + i * per, x.ptr() + i * per, s, tol);
}

}  // namespace advx
