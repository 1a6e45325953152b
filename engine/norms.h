// Perturbation norms, computed in one place for the CLI's JSON, the evaluator and the playground.
//
// For one sample with per-sample shape [C, H, W] (or any shape: then every value is its own pixel):
//   linf = max_j |d_j|,  l2 = sqrt(sum_j d_j^2),  d = adv - x
//   l0   = the number of PIXELS (positions in H x W) where any channel changed by more than `tol`,
//          so the one-pixel attack's budget "at most P pixels" reads the same on grey and RGB images.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace advx {

struct Norms {
  double linf = 0.0, l2 = 0.0;
  std::int64_t l0 = 0;
};

// sample_shape: the per-sample shape (e.g. {1, 28, 28} or {3, 32, 32}).
Norms perturbation_norms(const float* adv, const float* x, const Shape& sample_shape, float tol = 0.0f);
// Sample i of two batches of the same shape.
Norms perturbation_norms(const Tensor& adv, const Tensor& x, int i, float tol = 0.0f);

}  // namespace advx
