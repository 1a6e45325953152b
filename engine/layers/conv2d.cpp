// 2-D convolution by im2col + GEMM, one sample at a time, samples spread over threads.
//
// Memory layout of one sample's columns (K = in_ch*k*k rows, P = OH*OW columns), row-major:
//
//          p = oh*OW + ow  ->
//   r = (c*k + i)*k + j    col[r][p] = x[c][oh*stride - pad + i][ow*stride - pad + j]  (0 outside)
//
// Then the output of sample n is Y_n [out_ch, P] = W [out_ch, K] * col [K, P] + b, which is already
// the NCHW layout of that sample, so no transpose is needed.
#include <cmath>

#include "engine/error.h"
#include "engine/layers/layers.h"
#include "engine/parallel.h"

namespace advx {
namespace {

int out_size(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

void im2col(const float* x, int c, int h, int w, int k, int s, int p, int oh, int ow, float* col) {
  for (int ci = 0; ci < c; ++ci)
    for (int i = 0; i < k; ++i)
      for (int j = 0; j < k; ++j) {
        float* row = col + static_cast<std::int64_t>((ci * k + i) * k + j) * oh * ow;
        for (int y = 0; y < oh; ++y) {
          const int iy = y * s - p + i;
          float* out = row + y * ow;
          if (iy < 0 || iy >= h) {
            for (int xo = 0; xo < ow; ++xo) out[xo] = 0.0f;
            continue;
          }
          const float* in = x + (static_cast<std::int64_t>(ci) * h + iy) * w;
          for (int xo = 0; xo < ow; ++xo) {
            const int ix = xo * s - p + j;
            out[xo] = (ix >= 0 && ix < w) ? in[ix] : 0.0f;
          }
        }
      }
}

// Adjoint of im2col: each column entry is added back to the input pixel it was read from.
void col2im(const float* col, int c, int h, int w, int k, int s, int p, int oh, int ow, float* x) {
  for (std::int64_t t = 0; t < static_cast<std::int64_t>(c) * h * w; ++t) x[t] = 0.0f;
  for (int ci = 0; ci < c; ++ci)
    for (int i = 0; i < k; ++i)
      for (int j = 0; j < k; ++j) {
        const float* row = col + static_cast<std::int64_t>((ci * k + i) * k + j) * oh * ow;
        for (int y = 0; y < oh; ++y) {
          const int iy = y * s - p + i;
          if (iy < 0 || iy >= h) continue;
          float* out = x + (static_cast<std::int64_t>(ci) * h + iy) * w;
          const float* in = row + y * ow;
          for (int xo = 0; xo < ow; ++xo) {
            const int ix = xo * s - p + j;
            if (ix >= 0 && ix < w) out[ix] += in[xo];
          }
        }
      }
}

}  // namespace

Conv2d::Conv2d(int in_c, int out_c, int k, int s, int p)
    : weight({out_c, in_c, k, k}),
      bias({out_c}),
      weight_grad({out_c, in_c, k, k}),
      bias_grad({out_c}),
      in_ch(in_c),
      out_ch(out_c),
      kernel(k),
      stride(s),
      padding(p) {
  require(k > 0 && s > 0 && p >= 0, "Conv2d: kernel and stride must be > 0 and padding >= 0");
}

Shape Conv2d::output_shape(const Shape& in) const {
  require(in.size() == 3 && in[0] == in_ch, "Conv2d(" + std::to_string(in_ch) + " -> " + std::to_string(out_ch) +
                                                ") got per-sample input " + shape_str(in) + "; expected [" +
                                                std::to_string(in_ch) + ", H, W]");
  const int oh = out_size(in[1], kernel, stride, padding), ow = out_size(in[2], kernel, stride, padding);
  require(oh > 0 && ow > 0, "Conv2d: input " + shape_str(in) + " is smaller than the kernel");
  return {out_ch, oh, ow};
}

void Conv2d::init(Rng& rng) {
  // torch.nn.Conv2d.reset_parameters: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_ch*k*k.
  const float bound = 1.0f / std::sqrt(static_cast<float>(in_ch * kernel * kernel));
  for (float& w : weight.data) w = rng.uniform(-bound, bound);
  for (float& b : bias.data) b = rng.uniform(-bound, bound);
}

double Conv2d::macs(const Shape& in) const {
  const Shape o = output_shape(in);
  return static_cast<double>(o[1]) * o[2] * out_ch * in_ch * kernel * kernel;
}

void Conv2d::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  const int n = x.dim(0), h = x.dim(2), w = x.dim(3);
  const Shape o = output_shape({x.dim(1), h, w});
  const int oh = o[1], ow = o[2], kk = in_ch * kernel * kernel, pp = oh * ow;
  y.resize({n, out_ch, oh, ow});
  const int threads = max_threads();
  if (static_cast<int>(cols_.size()) < threads) cols_.resize(static_cast<size_t>(threads));
  const CMapR wm(weight.ptr(), out_ch, kk);
  const Eigen::Map<const Eigen::VectorXf> b(bias.ptr(), out_ch);
  const std::int64_t in_per = static_cast<std::int64_t>(in_ch) * h * w, out_per = static_cast<std::int64_t>(out_ch) * pp;
#pragma omp parallel for schedule(static) if (n > 1)
  for (int s = 0; s < n; ++s) {
    Tensor& col = cols_[static_cast<size_t>(thread_id())];
    col.resize({kk, pp});
    im2col(x.ptr() + s * in_per, in_ch, h, w, kernel, stride, padding, oh, ow, col.ptr());
    MapR ys(y.ptr() + s * out_per, out_ch, pp);
    ys.noalias() = wm * CMapR(col.ptr(), kk, pp);  // Y_n = W col
    ys.colwise() += b;                               //      + b
  }
}

void Conv2d::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx, bool param_grads) {
  const int n = x.dim(0), h = x.dim(2), w = x.dim(3);
  const int oh = dy.dim(2), ow = dy.dim(3), kk = in_ch * kernel * kernel, pp = oh * ow;
  const int threads = max_threads();
  if (static_cast<int>(cols_.size()) < threads) cols_.resize(static_cast<size_t>(threads));
  if (static_cast<int>(dcols_.size()) < threads) dcols_.resize(static_cast<size_t>(threads));
  if (param_grads) {
    wgrad_part_.resize(static_cast<size_t>(threads));
    bgrad_part_.resize(static_cast<size_t>(threads));
    for (int t = 0; t < threads; ++t) {
      wgrad_part_[static_cast<size_t>(t)].resize({out_ch, kk});
      wgrad_part_[static_cast<size_t>(t)].fill(0.0f);
      bgrad_part_[static_cast<size_t>(t)].resize({out_ch});
      bgrad_part_[static_cast<size_t>(t)].fill(0.0f);
    }
  }
  if (dx) dx->resize(x.shape);
  const CMapR wm(weight.ptr(), out_ch, kk);
  const std::int64_t in_per = static_cast<std::int64_t>(in_ch) * h * w, out_per = static_cast<std::int64_t>(out_ch) * pp;
#pragma omp parallel for schedule(static) if (n > 1)
  for (int s = 0; s < n; ++s) {
    const int t = thread_id();
    const CMapR dys(dy.ptr() + s * out_per, out_ch, pp);
    if (param_grads) {
      Tensor& col = cols_[static_cast<size_t>(t)];
      col.resize({kk, pp});
      im2col(x.ptr() + s * in_per, in_ch, h, w, kernel, stride, padding, oh, ow, col.ptr());
      MapR dw(wgrad_part_[static_cast<size_t>(t)].ptr(), out_ch, kk);
      dw.noalias() += dys * CMapR(col.ptr(), kk, pp).transpose();  // dL/dW += dL/dY_n col^T
      Eigen::Map<Eigen::VectorXf>(bgrad_part_[static_cast<size_t>(t)].ptr(), out_ch) +=
          dys.rowwise().sum();  // dL/db += sum over positions of dL/dY_n
    }
    if (dx) {
      Tensor& dcol = dcols_[static_cast<size_t>(t)];
      dcol.resize({kk, pp});
      MapR(dcol.ptr(), kk, pp).noalias() = wm.transpose() * dys;  // dL/dcol = W^T dL/dY_n
      col2im(dcol.ptr(), in_ch, h, w, kernel, stride, padding, oh, ow, dx->ptr() + s * in_per);  // dL/dX_n
    }
  }
  if (param_grads) {
    // Reduce per-thread partial sums in thread order (deterministic for a given thread count).
    for (int t = 0; t < threads; ++t) {
      weight_grad.mat() += wgrad_part_[static_cast<size_t>(t)].mat();  // [out, in*k*k] both
      Eigen::Map<Eigen::VectorXf>(bias_grad.ptr(), out_ch) +=
          Eigen::Map<const Eigen::VectorXf>(bgrad_part_[static_cast<size_t>(t)].ptr(), out_ch);
    }
  }
}

std::vector<Param> Conv2d::params() { return {{"weight", &weight, &weight_grad}, {"bias", &bias, &bias_grad}}; }

}  // namespace advx
