// Parameter-free layers: MaxPool2d, ReLU, Flatten, Dropout, LogSoftmax.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"
#include "engine/layers/layers.h"

namespace advx {

// ---- MaxPool2d: y[c][i][j] = max over the k x k window at (i*s, j*s) --------------------------
MaxPool2d::MaxPool2d(int k, int s) : kernel(k), stride(s) {
  require(k > 0 && s > 0, "MaxPool2d: kernel and stride must be > 0");
}

Shape MaxPool2d::output_shape(const Shape& in) const {
  require(in.size() == 3 && in[1] >= kernel && in[2] >= kernel, "MaxPool2d(" + std::to_string(kernel) +
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
#pragma omp parallel for schedule(static) if (n > 1)
  for (int s = 0; s < n; ++s)
    for (int ci = 0; ci < c; ++ci) {
      const std::int64_t plane = (static_cast<std::int64_t>(s) * c + ci);
      const float* in = x.ptr() + plane * h * w;
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          int best = (i * stride) * w + j * stride;
          for (int a = 0; a < kernel; ++a)
            for (int b = 0; b < kernel; ++b) {
              const int idx = (i * stride + a) * w + j * stride + b;
              if (in[idx] > in[best]) best = idx;  // first maximum wins, as in PyTorch
            }
          const std::int64_t o_idx = (plane * oh + i) * ow + j;
          y.data[static_cast<size_t>(o_idx)] = in[best];
          argmax_[static_cast<size_t>(o_idx)] = best;  // index within the (sample, channel) plane
        }
    }
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
void ReLU::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  y.resize(x.shape);
  y.mat() = x.mat().cwiseMax(0.0f);
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
  require(prob >= 0.0f && prob < 1.0f, "Dropout: p must be in [0, 1), got " + std::to_string(prob));
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
