// Fully connected layer. Notation: X [N, in], W [out, in], b [out], Z = X W^T + 1 b^T [N, out].
#include <cmath>

#include "engine/error.h"
#include "engine/layers/layers.h"
#include "engine/parallel.h"

namespace advx {

Linear::Linear(int in, int out)
    : weight({out, in}), bias({out}), weight_grad({out, in}), bias_grad({out}), in_features(in), out_features(out) {}

Shape Linear::output_shape(const Shape& in) const {
  ADVX_REQUIRE(in.size() == 1 && in[0] == in_features,
               "Linear(" + std::to_string(in_features) + ", " + std::to_string(out_features) +
                   ") got per-sample input " + shape_str(in) + "; expected [" + std::to_string(in_features) + "]");
  return {out_features};
}

void Linear::init(Rng& rng) {
  // torch.nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); same bound for b.
  const float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
  for (float& w : weight.data) w = rng.uniform(-bound, bound);
  for (float& b : bias.data) b = rng.uniform(-bound, bound);
}

void Linear::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  const int n = x.dim(0);
  y.resize({n, out_features});
  const CMapR w(weight.ptr(), out_features, in_features);
  const Eigen::Map<const Eigen::RowVectorXf> b(bias.ptr(), out_features);
  // Z = X W^T + 1 b^T, row blocks of the batch on separate threads.
  parallel_rows(n, static_cast<double>(in_features) * out_features, [&](int r0, int r1) {
    auto z = y.mat().middleRows(r0, r1 - r0);
    z.noalias() = x.mat().middleRows(r0, r1 - r0) * w.transpose();
    z.rowwise() += b;
  });
}

void Linear::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx, bool param_grads) {
  const CMapR w(weight.ptr(), out_features, in_features);
  const int n = x.dim(0);
  const double work = static_cast<double>(n) * in_features;  // per output feature
  if (param_grads) {
    MapR dw(weight_grad.ptr(), out_features, in_features);
    Eigen::Map<Eigen::RowVectorXf> db(bias_grad.ptr(), out_features);
    // Blocks of output features (rows of dW) on separate threads.
    parallel_rows(out_features, work, [&](int o0, int o1) {
      const auto dyb = dy.mat().middleCols(o0, o1 - o0);
      dw.middleRows(o0, o1 - o0).noalias() += dyb.transpose() * x.mat();  // dL/dW = dL/dZ^T X
      db.segment(o0, o1 - o0) += dyb.colwise().sum();                     // dL/db = sum_n dL/dZ_n
    });
  }
  if (dx) {
    dx->resize(x.shape);
    parallel_rows(n, static_cast<double>(in_features) * out_features, [&](int r0, int r1) {
      dx->mat().middleRows(r0, r1 - r0).noalias() = dy.mat().middleRows(r0, r1 - r0) * w;  // dL/dX = dL/dZ W
    });
  }
}

std::vector<Param> Linear::params() {
  return {{"weight", &weight, &weight_grad}, {"bias", &bias, &bias_grad}};
}

double Linear::macs(const Shape& /*in*/) const {
  return static_cast<double>(in_features) * out_features;
}

}  // namespace advx
