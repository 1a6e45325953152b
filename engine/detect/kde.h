// Kernel density estimation on a model's last hidden layer (Feinman, Curtin, Shintre, Gardner 2017,
// "Detecting Adversarial Samples from Artifacts", arXiv:1703.00410, section 4.1):
//
//   KD(x) = 1/|X_t| sum_{x_i in X_t} exp(-|phi(x) - phi(x_i)|^2 / sigma^2),   t = the predicted class
//   s(x)  = -log KD(x)                 (larger = lower density = more suspicious)
//
// phi: the activations that feed the model's last Linear layer; X_t: the clean training images of
// class t (the first `n` training images). Bandwidth: sigma^2 = bw * the median of |phi_i - phi_j|^2
// over the pairs of training features of the same class (the median heuristic; Feinman et al. chose
// sigma by a grid, 1.20 for their MNIST features, whose scale differs from ours).
//   ds/dphi = sum_i w_i 2 (phi - phi_i) / sigma^2,   w = softmax_i(-|phi - phi_i|^2 / sigma^2)
// (the predicted class held fixed). Computed in double with log-sum-exp, so a point far from every
// training feature gets a large finite score, not log 0.
#pragma once
#include <memory>
#include <vector>

#include "engine/tensor.h"
#include "engine/work.h"

namespace advx {

class KernelDensity {
 public:
  // features [M, F] of clean training images and their labels (classes 0..classes-1).
  // (KernelDensityWork run to the end.)
  KernelDensity(const Tensor& features, const std::vector<int>& labels, int classes, double bw = 1.0);
  // s = -log KD(phi) in class t; if dphi is not null, ds/dphi (F values) is written there.
  double score(const float* phi, int t, float* dphi) const;
  double sigma2() const { return sigma2_; }
  int dim() const { return dim_; }

 private:
  friend class KernelDensityWork;
  KernelDensity() = default;
  int dim_ = 0;
  double sigma2_ = 1.0;
  std::vector<Tensor> per_class_;  // [M_t, F] per class
  mutable std::vector<double> logk_;
};

// KernelDensity's construction in steps, one class's pairwise distances (the bandwidth's median, most
// of its cost: 10 classes x 19,900 pairs x F) per batch; the same density as the constructor's.
class KernelDensityWork : public BatchedWork {
 public:
  KernelDensityWork(const Tensor& features, const std::vector<int>& labels, int classes, double bw = 1.0);
  std::unique_ptr<KernelDensity> result();  // once done(); moved out

 protected:
  void run(int first, int count) override;

 private:
  std::unique_ptr<KernelDensity> kd_;
  double bw_;
  std::vector<double> d2_;
};

}  // namespace advx
