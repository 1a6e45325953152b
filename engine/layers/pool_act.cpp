// Parameter-free layers: MaxPool2d, ReLU, Flatten, Dropout, LogSoftmax.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"
#include "engine/layers/layers.h"
#include "engine/parallel.h"

namespace advx {

namespace {

// One (sample, channel) plane: y = max over each window, am = the flat index of the first maximum
// within the plane (strictly greater wins, so ties go to the first, as in PyTorch). K > 0 fixes
// the kernel size at compile time; K = 0 reads it from `kernel`.
template <int K>
void pool_plane(const float* in, int w, int kernel, int stride, int oh, int ow, float* y, std::int32_t* am) {
  const int k = K > 0 ? K : kernel;
  for (int i = 0; i < oh; ++i)
    for (int j = 0; j < ow; ++j) {
      const int corner = (i * stride) * w + j * stride;
      int best = corner;
      float best_v = in[corner];
      for (int a = 0; a < k; ++a)
        for (int b = 0; b < k; ++b) {
          const float v = in[corner + a * w + b];
          if (v > best_v) best_v = v, best = corner + a * w + b;
        }
      y[i * ow + j] = best_v;
      am[i * ow + j] = best;
    }
}

}  // namespace

// ---- MaxPool2d: y[c][i][j] = max over the k x k window at (i*s, j*s) --------------------------
MaxPool2d::MaxPool2d(int k, int s) : kernel(k), stride(s) {
  ADVX_REQUIRE(k > 0 && s > 0, "MaxPool2d: kernel and stride must be > 0");
}

Shape MaxPool2d::output_shape(const Shape& in) const {
  ADVX_REQUIRE(in.size() == 3 && in[1] >= kernel && in[2] >= kernel, "MaxPool2d(" + std::to_string(kernel) +
                                                                         ") got per-sample input " + shape_str(in) +
                                                                         "; expected [C, H, W] with H, W >= kernel");
  return {in[0], (in[1] - kernel) / stride + 1, (in[2] - kernel) / stride + 1};
}

void MaxPool2d::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  const int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const Shape o = output_shape({c, h, w});
  const int oh = o[1], ow = o[2];
  y.resize({n, c, oh, ow});
  argmax_.resize(static_cast<size_t>(y.size()));
  parallel_for(n, static_cast<double>(c) * h * w, [&](int s) {
    for (int ci = 0; ci < c; ++ci) {
      const std::int64_t plane = (static_cast<std::int64_t>(s) * c + ci);
      const std::int64_t o0 = plane * oh * ow;
      if (kernel == 2)  // the shipped models' pool: a fixed window the compiler unrolls
        pool_plane<2>(x.ptr() + plane * h * w, w, 2, stride, oh, ow, y.ptr() + o0, argmax_.data() + o0);
      else
        pool_plane<0>(x.ptr() + plane * h * w, w, kernel, stride, oh, ow, y.ptr() + o0, argmax_.data() + o0);
    }
  });
}

void MaxPool2d::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*param_grads*/) {
  if (!dx) return;
  const int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
  dx->resize(x.shape);
  dx->fill(0.0f);
  // dL/dx[argmax] += dL/dy: only the maximum of each window receives gradient.
  for (std::int64_t plane = 0; plane < static_cast<std::int64_t>(n) * c; ++plane)
    for (int t = 0; t < oh * ow; ++t) {
      const std::int64_t o_idx = plane * oh * ow + t;
      dx->data[static_cast<size_t>(plane * h * w + argmax_[static_cast<size_t>(o_idx)])] +=
          dy.data[static_cast<size_t>(o_idx)];
    }
}

// ---- ReLU: y = max(x, 0) --------------------------------------------------------------------
Layer::ElementwiseFn ReLU::elementwise() const {
  return [](const float* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.0f);
  };
}

void ReLU::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  y.resize(x.shape);
  // max(v, 0) as std::max and Eigen's scalar cwiseMax compute it, in a loop the compiler vectorises
  // (Eigen has no WebAssembly SIMD path: its cwiseMax ran scalar there, 1.2 ms for a batch of 64
  // `cnn` conv1 outputs), in blocks over threads for large batches.
  const float* in = x.ptr();
  float* out = y.ptr();
  parallel_rows(static_cast<int>(x.size()), 1.0, [=](int begin, int end) {
    for (int i = begin; i < end; ++i) out[i] = in[i] < 0.0f ? 0.0f : in[i];
  });
}

void ReLU::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx, bool /*param_grads*/) {
  if (!dx) return;
  dx->resize(x.shape);
  // dL/dx = dL/dy * [x > 0]  (subgradient 0 at the kink, as PyTorch)
  dx->mat() = (x.mat().array() > 0.0f).select(dy.mat(), 0.0f);
}

// ---- Flatten: [N, ...] -> [N, prod(...)] --------------------------------------------------------
Shape Flatten::output_shape(const Shape& in) const {
  return {static_cast<int>(shape_size(in))};
}

void Flatten::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  y.shape = {x.dim(0), static_cast<int>(x.sample_size())};
  y.data = x.data;
}

void Flatten::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx, bool /*param_grads*/) {
  if (!dx) return;
  dx->shape = x.shape;  // dL/dx is dL/dy reshaped
  dx->data = dy.data;
}

// ---- Dropout (inverted) ---------------------------------------------------------------------
Dropout::Dropout(float prob, std::uint64_t seed) : p(prob), rng_(seed) {
  ADVX_REQUIRE(prob >= 0.0f && prob < 1.0f, "Dropout: p must be in [0, 1), got " + std::to_string(prob));
}

Layer::ElementwiseFn Dropout::elementwise() const {
  return [](const float* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = x[i];  // (not std::copy_n: y may be x)
  };
}

void Dropout::forward(const Tensor& x, Tensor& y, bool train) {
  y.resize(x.shape);
  if (!train || p == 0.0f) {
    mask_.clear();
    y.data = x.data;
    return;
  }
  mask_.resize(x.data.size());
  const float keep = 1.0f / (1.0f - p);
  for (size_t i = 0; i < mask_.size(); ++i) {
    mask_[i] = rng_.uniform() < p ? 0.0f : keep;
    y.data[i] = x.data[i] * mask_[i];
  }
}

void Dropout::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx, bool /*param_grads*/) {
  if (!dx) return;
  dx->resize(x.shape);
  if (mask_.empty()) {
    dx->data = dy.data;  // identity at inference
    return;
  }
  for (size_t i = 0; i < mask_.size(); ++i) dx->data[i] = dy.data[i] * mask_[i];  // dL/dx = dL/dy * mask
}

// ---- LogSoftmax over the last dimension ---------------------------------------------------------
void LogSoftmax::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  y.resize(x.shape);
  const int n = x.dim(0), k = static_cast<int>(x.sample_size());
  for (int i = 0; i < n; ++i) {
    const float* z = x.ptr() + static_cast<std::int64_t>(i) * k;
    float* o = y.ptr() + static_cast<std::int64_t>(i) * k;
    const float m = *std::max_element(z, z + k);
    double s = 0.0;
    for (int j = 0; j < k; ++j) s += std::exp(static_cast<double>(z[j] - m));
    const float lse = m + static_cast<float>(std::log(s));
    for (int j = 0; j < k; ++j) o[j] = z[j] - lse;  // y = z - logsumexp(z)
  }
}

void LogSoftmax::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*param_grads*/) {
  if (!dx) return;
  dx->resize(x.shape);
  const int n = x.dim(0), k = static_cast<int>(x.sample_size());
  for (int i = 0; i < n; ++i) {
    const float* yi = y.ptr() + static_cast<std::int64_t>(i) * k;
    const float* g = dy.ptr() + static_cast<std::int64_t>(i) * k;
    float* d = dx->ptr() + static_cast<std::int64_t>(i) * k;
    double sum = 0.0;
    for (int j = 0; j < k; ++j) sum += g[j];
    // dL/dz_j = dL/dy_j - softmax(z)_j * sum_c dL/dy_c, with softmax(z) = exp(y)
    for (int j = 0; j < k; ++j) d[j] = g[j] - std::exp(yi[j]) * static_cast<float>(sum);
  }
}

}  // namespace advx
