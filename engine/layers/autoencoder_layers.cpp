// The parameter-free layers of the autoencoders (MagNet, Meng & Chen 2017, arXiv:1705.09064; the
// contractive autoencoder of Rifai et al. 2011): Sigmoid, AvgPool2d, Upsample (nearest).
//
//   Sigmoid     y = 1 / (1 + e^-x)                       dL/dx = dL/dy * y (1 - y)
//   AvgPool2d   y[c][i][j] = mean of the k x k window at (i s, j s)
//                                                        dL/dx[window] += dL/dy / k^2
//   Upsample    y[c][i][j] = x[c][i / s][j / s]          dL/dx[c][a][b] = sum of dL/dy over its s x s block
// Layout [N, C, H, W] row-major (PyTorch's), as every layer here.
#include <cmath>

#include "engine/error.h"
#include "engine/layers/layers.h"

namespace advx {

// ---- Sigmoid -------------------------------------------------------------------------------------
Layer::ElementwiseFn Sigmoid::elementwise() const {
  return [](const float* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
  };
}

void Sigmoid::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  y.resize(x.shape);
  // 1 / (1 + e^-x) overflows e^-x for very negative x only to +inf, which gives 0: no special case.
  for (std::size_t i = 0; i < x.data.size(); ++i) y.data[i] = 1.0f / (1.0f + std::exp(-x.data[i]));
}

void Sigmoid::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*param_grads*/) {
  if (!dx) return;
  dx->resize(x.shape);
  // dy/dx = y (1 - y), from the forward output (no second exp).
  for (std::size_t i = 0; i < x.data.size(); ++i) dx->data[i] = dy.data[i] * y.data[i] * (1.0f - y.data[i]);
}

// ---- AvgPool2d -----------------------------------------------------------------------------------
AvgPool2d::AvgPool2d(int k, int s) : kernel(k), stride(s) {
  ADVX_REQUIRE(k > 0 && s > 0, "AvgPool2d: kernel and stride must be > 0");
}

Shape AvgPool2d::output_shape(const Shape& in) const {
  ADVX_REQUIRE(in.size() == 3 && in[1] >= kernel && in[2] >= kernel, "AvgPool2d(" + std::to_string(kernel) +
                                                                         ") got per-sample input " + shape_str(in) +
                                                                         "; expected [C, H, W] with H, W >= kernel");
  return {in[0], (in[1] - kernel) / stride + 1, (in[2] - kernel) / stride + 1};
}

void AvgPool2d::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  const int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const Shape o = output_shape({c, h, w});
  const int oh = o[1], ow = o[2];
  y.resize({n, c, oh, ow});
  const float inv = 1.0f / static_cast<float>(kernel * kernel);
  for (std::int64_t plane = 0; plane < static_cast<std::int64_t>(n) * c; ++plane) {
    const float* in = x.ptr() + plane * h * w;
    float* out = y.ptr() + plane * oh * ow;
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        float sum = 0.0f;
        for (int a = 0; a < kernel; ++a)
          for (int b = 0; b < kernel; ++b) sum += in[(i * stride + a) * w + j * stride + b];
        out[i * ow + j] = sum * inv;
      }
  }
}

void AvgPool2d::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*param_grads*/) {
  if (!dx) return;
  const int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
  dx->resize(x.shape);
  dx->fill(0.0f);
  const float inv = 1.0f / static_cast<float>(kernel * kernel);
  // Every input of a window gets dL/dy / k^2 (windows may overlap when stride < kernel: sums).
  for (std::int64_t plane = 0; plane < static_cast<std::int64_t>(n) * c; ++plane) {
    const float* g = dy.ptr() + plane * oh * ow;
    float* d = dx->ptr() + plane * h * w;
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j)
        for (int a = 0; a < kernel; ++a)
          for (int b = 0; b < kernel; ++b) d[(i * stride + a) * w + j * stride + b] += g[i * ow + j] * inv;
  }
}

// ---- Upsample (nearest) --------------------------------------------------------------------------
Upsample::Upsample(int s) : scale(s) {
  ADVX_REQUIRE(s >= 1, "Upsample: scale must be >= 1");
}

Shape Upsample::output_shape(const Shape& in) const {
  ADVX_REQUIRE(in.size() == 3, "Upsample got per-sample input " + shape_str(in) + "; expected [C, H, W]");
  return {in[0], in[1] * scale, in[2] * scale};
}

void Upsample::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  const int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = h * scale, ow = w * scale;
  y.resize({n, c, oh, ow});
  for (std::int64_t plane = 0; plane < static_cast<std::int64_t>(n) * c; ++plane) {
    const float* in = x.ptr() + plane * h * w;
    float* out = y.ptr() + plane * oh * ow;
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) out[i * ow + j] = in[(i / scale) * w + j / scale];
  }
}

void Upsample::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool /*param_grads*/) {
  if (!dx) return;
  const int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
  dx->resize(x.shape);
  dx->fill(0.0f);
  for (std::int64_t plane = 0; plane < static_cast<std::int64_t>(n) * c; ++plane) {
    const float* g = dy.ptr() + plane * oh * ow;
    float* d = dx->ptr() + plane * h * w;
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) d[(i / scale) * w + j / scale] += g[i * ow + j];
  }
}

}  // namespace advx
