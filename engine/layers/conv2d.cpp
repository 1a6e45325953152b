// 2-D convolution by im2col + GEMM, several samples per GEMM, chunks of samples spread over threads.
//
// Memory layout of one chunk's columns (K = in_ch*k*k rows, c*P columns for c samples of
// P = OH*OW output positions each), row-major with leading dimension ld = c*P:
//
//          column q = s*P + oh*OW + ow   (sample s of the chunk)  ->
//   r = (ci*k + i)*k + j    col[r][q] = x_s[ci][oh*stride - pad + i][ow*stride - pad + j]  (0 outside)
//
// Then Y_chunk [out_ch, c*P] = W [out_ch, K] * col [K, c*P] (+ b), and sample s's NCHW output is
// the column block [s*P, (s+1)*P). Batching samples turns many tiny GEMMs (for `small`, 16x16x196
// per sample) into few large ones, which is where Eigen reaches its peak.
#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/layers/layers.h"
#include "engine/parallel.h"

namespace advx {
namespace {

int out_size(int in, int k, int s, int p) {
  return (in + 2 * p - k) / s + 1;
}

// Output columns [lo, hi) whose input column ix = xo*s - p + j lies inside [0, w): outside it the
// column reads zero padding. Hoisting this out of the pixel loop leaves the interior a plain
// (for stride 1, contiguous) copy that the compiler vectorises.
struct ColRange {
  int lo, hi;
};
ColRange valid_cols(int j, int w, int s, int p, int ow) {
  const int lo = p - j > 0 ? (p - j + s - 1) / s : 0;
  const int hi = w - 1 + p - j >= 0 ? std::min(ow, (w - 1 + p - j) / s + 1) : 0;
  return {std::min(lo, ow), std::max(hi, std::min(lo, ow))};
}

// Writes one sample's columns into col (row stride ld).
void im2col(const float* x, int c, int h, int w, int k, int s, int p, int oh, int ow, float* col, std::int64_t ld) {
  for (int ci = 0; ci < c; ++ci)
    for (int i = 0; i < k; ++i)
      for (int j = 0; j < k; ++j) {
        float* row = col + static_cast<std::int64_t>((ci * k + i) * k + j) * ld;
        const ColRange r = valid_cols(j, w, s, p, ow);
        for (int y = 0; y < oh; ++y) {
          const int iy = y * s - p + i;
          float* out = row + y * ow;
          if (iy < 0 || iy >= h) {
            std::fill(out, out + ow, 0.0f);
            continue;
          }
          std::fill(out, out + r.lo, 0.0f);
          const float* in = x + (static_cast<std::int64_t>(ci) * h + iy) * w + (r.lo * s - p + j);
          if (s == 1) {
            std::copy(in, in + (r.hi - r.lo), out + r.lo);
          } else {
            for (int xo = r.lo; xo < r.hi; ++xo) out[xo] = in[(xo - r.lo) * s];
          }
          std::fill(out + r.hi, out + ow, 0.0f);
        }
      }
}

// Adjoint of im2col: each column entry is added back to the input pixel it was read from.
void col2im(const float* col, std::int64_t ld, int c, int h, int w, int k, int s, int p, int oh, int ow, float* x) {
  std::fill(x, x + static_cast<std::int64_t>(c) * h * w, 0.0f);
  for (int ci = 0; ci < c; ++ci)
    for (int i = 0; i < k; ++i)
      for (int j = 0; j < k; ++j) {
        const float* row = col + static_cast<std::int64_t>((ci * k + i) * k + j) * ld;
        const ColRange r = valid_cols(j, w, s, p, ow);
        for (int y = 0; y < oh; ++y) {
          const int iy = y * s - p + i;
          if (iy < 0 || iy >= h) continue;
          float* out = x + (static_cast<std::int64_t>(ci) * h + iy) * w + (r.lo * s - p + j);
          const float* in = row + y * ow;
          if (s == 1) {
            for (int xo = r.lo; xo < r.hi; ++xo) out[xo - r.lo] += in[xo];
          } else {
            for (int xo = r.lo; xo < r.hi; ++xo) out[(xo - r.lo) * s] += in[xo];
          }
        }
      }
}

// Samples per chunk: about 2048 GEMM columns, but at least one chunk per thread when n allows.
int chunk_size(int n, int positions, int threads) {
  const int by_cols = std::max(1, 2048 / std::max(1, positions));
  const int by_threads = std::max(1, (n + threads - 1) / threads);
  return std::max(1, std::min({by_cols, by_threads, n}));
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
  ADVX_REQUIRE(k > 0 && s > 0 && p >= 0, "Conv2d: kernel and stride must be > 0 and padding >= 0");
}

Shape Conv2d::output_shape(const Shape& in) const {
  ADVX_REQUIRE(in.size() == 3 && in[0] == in_ch, "Conv2d(" + std::to_string(in_ch) + " -> " + std::to_string(out_ch) +
                                                     ") got per-sample input " + shape_str(in) + "; expected [" +
                                                     std::to_string(in_ch) + ", H, W]");
  const int oh = out_size(in[1], kernel, stride, padding), ow = out_size(in[2], kernel, stride, padding);
  ADVX_REQUIRE(oh > 0 && ow > 0, "Conv2d: input " + shape_str(in) + " is smaller than the kernel");
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
  const int cs = chunk_size(n, pp, threads), chunks = (n + cs - 1) / cs;
  cols_.resize(static_cast<size_t>(std::max<int>(threads, static_cast<int>(cols_.size()))));
  ybuf_.resize(cols_.size());
  const CMapR wm(weight.ptr(), out_ch, kk);
  const std::int64_t in_per = static_cast<std::int64_t>(in_ch) * h * w,
                     out_per = static_cast<std::int64_t>(out_ch) * pp;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int ch = 0; ch < chunks; ++ch) {
    const int s0 = ch * cs, c = std::min(cs, n - s0);
    const std::int64_t ld = static_cast<std::int64_t>(c) * pp;
    Tensor& col = cols_[static_cast<size_t>(thread_id())];
    Tensor& yb = ybuf_[static_cast<size_t>(thread_id())];
    col.resize({kk, static_cast<int>(ld)});
    yb.resize({out_ch, static_cast<int>(ld)});
    for (int s = 0; s < c; ++s)
      im2col(x.ptr() + (s0 + s) * in_per, in_ch, h, w, kernel, stride, padding, oh, ow, col.ptr() + s * pp, ld);
    yb.mat().noalias() = wm * col.mat();  // Y_chunk = W col
    for (int s = 0; s < c; ++s)
      for (int oc = 0; oc < out_ch; ++oc) {
        const float* src = yb.ptr() + oc * ld + s * pp;
        float* dst = y.ptr() + (s0 + s) * out_per + oc * pp;
        const float b = bias.data[static_cast<size_t>(oc)];
        for (int t = 0; t < pp; ++t) dst[t] = src[t] + b;  // + b
      }
  }
}

void Conv2d::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx, bool param_grads) {
  const int n = x.dim(0), h = x.dim(2), w = x.dim(3);
  const int oh = dy.dim(2), ow = dy.dim(3), kk = in_ch * kernel * kernel, pp = oh * ow;
  const int threads = max_threads();
  const int cs = chunk_size(n, pp, threads), chunks = (n + cs - 1) / cs;
  cols_.resize(static_cast<size_t>(std::max<int>(threads, static_cast<int>(cols_.size()))));
  ybuf_.resize(cols_.size());
  dcols_.resize(cols_.size());
  if (param_grads) {
    wgrad_part_.resize(cols_.size());
    bgrad_part_.resize(cols_.size());
    for (size_t t = 0; t < cols_.size(); ++t) {
      wgrad_part_[t].resize({out_ch, kk});
      wgrad_part_[t].fill(0.0f);
      bgrad_part_[t].resize({out_ch});
      bgrad_part_[t].fill(0.0f);
    }
  }
  if (dx) dx->resize(x.shape);
  const CMapR wm(weight.ptr(), out_ch, kk);
  const std::int64_t in_per = static_cast<std::int64_t>(in_ch) * h * w,
                     out_per = static_cast<std::int64_t>(out_ch) * pp;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int ch = 0; ch < chunks; ++ch) {
    const size_t t = static_cast<size_t>(thread_id());
    const int s0 = ch * cs, c = std::min(cs, n - s0);
    const std::int64_t ld = static_cast<std::int64_t>(c) * pp;
    // dL/dY of the chunk in the [out_ch, c*P] layout of the forward GEMM.
    Tensor& dyc = ybuf_[t];
    dyc.resize({out_ch, static_cast<int>(ld)});
    for (int s = 0; s < c; ++s)
      for (int oc = 0; oc < out_ch; ++oc)
        std::copy_n(dy.ptr() + (s0 + s) * out_per + oc * pp, pp, dyc.ptr() + oc * ld + s * pp);
    if (param_grads) {
      Tensor& col = cols_[t];
      col.resize({kk, static_cast<int>(ld)});
      for (int s = 0; s < c; ++s)
        im2col(x.ptr() + (s0 + s) * in_per, in_ch, h, w, kernel, stride, padding, oh, ow, col.ptr() + s * pp, ld);
      wgrad_part_[t].mat().noalias() += dyc.mat() * col.mat().transpose();                     // dL/dW += dL/dY col^T
      Eigen::Map<Eigen::VectorXf>(bgrad_part_[t].ptr(), out_ch) += dyc.mat().rowwise().sum();  // dL/db += sum dL/dY
    }
    if (dx) {
      Tensor& dcol = dcols_[t];
      dcol.resize({kk, static_cast<int>(ld)});
      dcol.mat().noalias() = wm.transpose() * dyc.mat();  // dL/dcol = W^T dL/dY
      for (int s = 0; s < c; ++s)                         // dL/dX_s = col2im(dL/dcol block s)
        col2im(dcol.ptr() + s * pp, ld, in_ch, h, w, kernel, stride, padding, oh, ow, dx->ptr() + (s0 + s) * in_per);
    }
  }
  if (param_grads) {
    // Reduce per-thread partial sums in thread order (deterministic for a given thread count).
    for (size_t t = 0; t < cols_.size(); ++t) {
      weight_grad.mat() += wgrad_part_[t].mat();  // both [out, in*k*k]
      Eigen::Map<Eigen::VectorXf>(bias_grad.ptr(), out_ch) +=
          Eigen::Map<const Eigen::VectorXf>(bgrad_part_[t].ptr(), out_ch);
    }
  }
}

std::vector<Param> Conv2d::params() {
  return {{"weight", &weight, &weight_grad}, {"bias", &bias, &bias_grad}};
}

}  // namespace advx
