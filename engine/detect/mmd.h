// The maximum mean discrepancy two-sample test (Gretton et al. 2012, JMLR, "A Kernel Two-Sample
// Test"), as Grosse et al. use it to tell a batch of adversarial inputs from clean data ("On the
// (Statistical) Detection of Adversarial Examples", 2017, arXiv:1702.06280, section 3):
//
//   MMD_b^2(A, B) = 1/n^2 sum_{i,j} k(a_i, a_j) + 1/m^2 sum_{i,j} k(b_i, b_j) - 2/(n m) sum_{i,j} k(a_i, b_j)
//   k(u, v)       = exp(-|u - v|^2 / (2 sigma^2))        on the raw inputs (pixels)
//   sigma         = the median distance |u - v| over the pairs of the pooled sample A u B (the median
//                   heuristic, Gretton et al. 2012 section 8), unless given
//   p-value       = (1 + #{permutations with MMD_b^2 >= the observed}) / (1 + P): the pooled sample is
//                   split at random into sizes n and m P times (advx::Rng from `seed`); exact under H0.
// The biased estimator (Gretton's eq. 5), which Grosse et al. use too. Deviation: they choose the
// bandwidth differently; the median heuristic is ours.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace advx {

struct MmdResult {
  double mmd2 = 0.0;     // the observed statistic
  double p_value = 1.0;  // permutation p-value
  double sigma = 0.0;    // the kernel bandwidth used
  int permutations = 0, n = 0, m = 0;
};

// a [n, ...], b [m, ...] with the same per-sample shape; n, m >= 2; permutations >= 1.
MmdResult mmd_test(const Tensor& a, const Tensor& b, int permutations, std::uint64_t seed, double sigma = 0.0);

// The p-values of many tests (one per batch, as in `advx detect`) and the test's decision: a batch is
// rejected as not clean when p < alpha (Grosse et al.'s rule; alpha is the rate at which clean
// batches are rejected).
struct MmdRates {
  std::vector<double> p;
  double rejected(double alpha) const;  // the fraction of p-values below alpha (0 if none)
  double median() const;                // the median p-value (the upper one of an even count; 0 if none)
  double max() const;                   // 0 if none
};

}  // namespace advx
