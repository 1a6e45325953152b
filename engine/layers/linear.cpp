// Fully connected layer. Notation: X [N, in], W [out, in], b [out], Z = X W^T + 1 b^T [N, out].
// All row-major. Products run through Eigen, or through engine/kernels/gemm.h when
// kernels::use_own_gemm() (the WebAssembly build, where Eigen has no SIMD path):
//   Z = X W^T        gemm_nt (dot products of rows of X and rows of W; a GEMV for one image)
//   dL/dX = dL/dZ W  gemm_nn (A = dL/dZ [N, out], B = W [out, in])
//   dL/dW += dL/dZ^T X  gemm_nn with A read transposed (A(o, n) = dL/dZ[n][o]), B = X [N, in]
#include <cmath>

#include "engine/error.h"
#include "engine/kernels/eigen_gemm.h"
#include "engine/kernels/gemm.h"
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
  const bool own = kernels::use_own_gemm();
#ifdef __EMSCRIPTEN_PTHREADS__
  // One image in the threaded web build: blocks of output features on the pool's threads (`cnn`'s
  // 3136 x 1024 GEMV is 3.2M multiply-adds). Natively a single image stays on one thread (OpenMP's
  // fork per small product cost more than it saved: benchmarks/web/engine_analysis.md).
  if (n == 1 && own) {
    parallel_rows(out_features, static_cast<double>(in_features), [&](int o0, int o1) {
      kernels::gemm_nt(1, o1 - o0, in_features, x.ptr(), in_features,
                       weight.ptr() + static_cast<std::int64_t>(o0) * in_features, in_features, y.ptr() + o0,
                       out_features, false);
      for (int o = o0; o < o1; ++o) y.ptr()[o] += bias.data[static_cast<size_t>(o)];
    });
    return;
  }
#endif
  // Z = X W^T + 1 b^T, row blocks of the batch on separate threads.
  parallel_rows(n, static_cast<double>(in_features) * out_features, [&](int r0, int r1) {
    auto z = y.mat().middleRows(r0, r1 - r0);
    if (own) {
      kernels::gemm_nt(r1 - r0, out_features, in_features, x.ptr() + static_cast<std::int64_t>(r0) * in_features,
                       in_features, weight.ptr(), in_features, z.data(), out_features, false);
    } else {
      kernels::matmul(kernels::N(x.mat().middleRows(r0, r1 - r0)), kernels::T(w), z);
    }
    z.rowwise() += b;
  });
}

void Linear::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx, bool param_grads) {
  const CMapR w(weight.ptr(), out_features, in_features);
  const int n = x.dim(0);
  const double work = static_cast<double>(n) * in_features;  // per output feature
  const bool own = kernels::use_own_gemm();
  if (param_grads) {
    MapR dw(weight_grad.ptr(), out_features, in_features);
    Eigen::Map<Eigen::RowVectorXf> db(bias_grad.ptr(), out_features);
    // Blocks of output features (rows of dW) on separate threads.
    parallel_rows(out_features, work, [&](int o0, int o1) {
      const auto dyb = dy.mat().middleCols(o0, o1 - o0);
      if (own) {  // dW[o0:o1] += A B with A(o, s) = dL/dZ[s][o0 + o], B = X
        kernels::gemm_nn(o1 - o0, in_features, n, dy.ptr() + o0, 1, out_features, x.ptr(), in_features,
                         dw.data() + static_cast<std::int64_t>(o0) * in_features, in_features, true);
      } else {
        kernels::matmul(kernels::T(dyb), kernels::N(x.mat()), dw.middleRows(o0, o1 - o0), true);  // dL/dW = dL/dZ^T X
      }
      db.segment(o0, o1 - o0) += dyb.colwise().sum();  // dL/db = sum_n dL/dZ_n
    });
  }
  if (dx) {
    dx->resize(x.shape);
    parallel_rows(n, static_cast<double>(in_features) * out_features, [&](int r0, int r1) {
      if (own) {
        kernels::gemm_nn(r1 - r0, in_features, out_features, dy.ptr() + static_cast<std::int64_t>(r0) * out_features,
                         out_features, 1, weight.ptr(), in_features,
                         dx->ptr() + static_cast<std::int64_t>(r0) * in_features, in_features, false);
      } else {
        kernels::matmul(kernels::N(dy.mat().middleRows(r0, r1 - r0)), kernels::N(w),
                        dx->mat().middleRows(r0, r1 - r0));  // dL/dX = dL/dZ W
      }
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
