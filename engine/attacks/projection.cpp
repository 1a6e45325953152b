#include <algorithm>

#include "engine/attacks/attack.h"
#include "engine/error.h"

namespace advx {

void project_linf(Tensor& adv, const Tensor& x, float eps) {
  ADVX_REQUIRE(adv.shape == x.shape,
               "project_linf: shapes " + shape_str(adv.shape) + " and " + shape_str(x.shape) + " differ");
  project_linf(adv.ptr(), x.ptr(), adv.size(), eps);
}

void project_linf(float* adv, const float* x, std::int64_t n, float eps) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float lo = std::max(x[i] - eps, 0.0f), hi = std::min(x[i] + eps, 1.0f);
    adv[i] = std::min(std::max(adv[i], lo), hi);
  }
}

}  // namespace advx
