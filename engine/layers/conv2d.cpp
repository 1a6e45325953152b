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
// per sample) into few large ones, which is where Eigen reaches its peak. A chunk of one sample
// (c = 1, every single-image call) has ld = P, so the GEMM writes the sample's NCHW output directly
// and backward reads dL/dY in place: no copy into or out of a chunk buffer.
//
// The three products, through Eigen or (kernels::use_own_gemm(), the WebAssembly build) through
// engine/kernels/gemm.h:
//   Y_chunk = W col                  gemm_nn (A = W [out_ch, K], B = col [K, c*P])
//   dL/dcol = W^T dL/dY_chunk        gemm_nn with A read transposed (A(r, o) = W[o][r])
//   dL/dW += dL/dY_chunk col^T       gemm_nt (dot products of rows of dL/dY and rows of col)
#include <algorithm>
#include <array>
#include <cmath>

#include "engine/error.h"
#include "engine/kernels/eigen_gemm.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/vec4.h"
#include "engine/layers/layers.h"
#include "engine/parallel.h"

namespace advx {
namespace {

int out_size(int in, int k, int s, int p) {
  return (in + 2 * p - k) / s + 1;
}

// Output columns [lo, hi) whose input column ix = xo*s - p + j lies inside [0, w): outside it the
// column reads zero padding. Likewise valid_cols(i, h, s, p, oh) gives the output rows whose input
// row lies inside [0, h). Hoisting both out of the pixel loop leaves the interior a plain copy
// (contiguous for stride 1).
struct ColRange {
  int lo, hi;
};
ColRange valid_cols(int j, int w, int s, int p, int ow) {
  const int lo = p - j > 0 ? (p - j + s - 1) / s : 0;
  const int hi = w - 1 + p - j >= 0 ? std::min(ow, (w - 1 + p - j) / s + 1) : 0;
  return {std::min(lo, ow), std::max(hi, std::min(lo, ow))};
}

// The runs im2col / col2im move are short (ow = 14 or 28 floats for the shipped models), so they are
// written with 4-float vectors (engine/kernels/vec4.h) and no library calls: std::copy / std::fill
// / a compiler-vectorised loop cost a memmove / memset call or a runtime overlap check per run,
// and in WebAssembly that overhead (musl's generic memset and memmove; about 11,000 runs per `cnn`
// conv2 im2col) was most of the time: this im2col is 3.5x faster there.

// out[0, len) = in[0, len). The last vector may overlap the previous one (it stores the same values).
inline void copy_run(const float* in, float* out, int len) {
  if (len < 4) {
    for (int t = 0; t < len; ++t) out[t] = in[t];
    return;
  }
  int t = 0;
  for (; t + 4 <= len; t += 4) kernels::v4::store(out + t, kernels::v4::load(in + t));
  if (t < len) kernels::v4::store(out + len - 4, kernels::v4::load(in + len - 4));
}

// out[0, len) += in[0, len).
inline void add_run(const float* in, float* out, int len) {
  int t = 0;
  for (; t + 4 <= len; t += 4)
    kernels::v4::store(out + t, kernels::v4::add(kernels::v4::load(out + t), kernels::v4::load(in + t)));
  for (; t < len; ++t) out[t] += in[t];
}

// Stride 2: each input row split into its even and its odd columns, side by side (planes of
// (w + 1) / 2 and w / 2 floats): column ix = 2 xo - p + j of the image is then column xo + d of plane
// q, with q = (j - p) mod 2 and d = (j - p - q) / 2, so that every run im2col copies is contiguous.
void split_even_odd(const float* x, int rows, int w, float* out) {
  const int half = (w + 1) / 2;
  for (int r = 0; r < rows; ++r) {
    const float* in = x + static_cast<std::int64_t>(r) * w;
    float* even = out + static_cast<std::int64_t>(r) * w;
    float* odd = even + half;
    for (int t = 0; t < w / 2; ++t) even[t] = in[2 * t], odd[t] = in[2 * t + 1];
    if (w % 2) even[half - 1] = in[w - 1];
  }
}

// Every run of one sample's columns that reads the image (padding entries excluded), in the order
// of the column rows: fn(row, img, ix, out, len) for column row `row` = (ci k + i) k + j, the run's
// image row at offset `img` = (ci h + iy) w of the sample and first input column ix = r.lo s - p + j
// (>= 0), its first column entry at offset `out` = y ow + r.lo within the column row, `len` entries.
template <class F>
void for_each_run(int c, int h, int w, int k, int s, int p, int oh, int ow, F fn) {
  for (int ci = 0; ci < c; ++ci)
    for (int i = 0; i < k; ++i) {
      const ColRange rows = valid_cols(i, h, s, p, oh);  // output rows whose input row is inside
      for (int j = 0; j < k; ++j) {
        const ColRange r = valid_cols(j, w, s, p, ow);
        for (int y = rows.lo; y < rows.hi; ++y)
          fn((ci * k + i) * k + j, (static_cast<std::int64_t>(ci) * h + (y * s - p + i)) * w, r.lo * s - p + j,
             y * ow + r.lo, r.hi - r.lo);
      }
    }
}

// Input column ix of an image row in split_even_odd's layout: plane ix mod 2, at ix / 2 of it.
inline int split_column(int ix, int w) {
  return (ix & 1 ? (w + 1) / 2 : 0) + (ix >> 1);
}

// Writes one sample's columns into col (row stride ld): only the entries that read the image. The
// entries that read zero padding are left alone: the caller clears col once per chunk (one large
// memset instead of thousands of 1-2 float ones). `split` (stride 2 only): c * h * w floats of
// scratch for split_even_odd, through which every run is a contiguous copy.
void im2col(const float* x, int c, int h, int w, int k, int s, int p, int oh, int ow, float* col, std::int64_t ld,
            float* split) {
  if (s == 1) {
    for_each_run(c, h, w, k, s, p, oh, ow, [&](int row, std::int64_t img, int ix, int out, int len) {
      copy_run(x + img + ix, col + row * ld + out, len);
    });
  } else if (s == 2) {
    split_even_odd(x, c * h, w, split);
    for_each_run(c, h, w, k, s, p, oh, ow, [&](int row, std::int64_t img, int ix, int out, int len) {
      copy_run(split + img + split_column(ix, w), col + row * ld + out, len);
    });
  } else {
    for_each_run(c, h, w, k, s, p, oh, ow, [&](int row, std::int64_t img, int ix, int out, int len) {
      float* dst = col + row * ld + out;
      for (int t = 0; t < len; ++t) dst[t] = x[img + ix + t * s];
    });
  }
}

// Adjoint of im2col: each column entry is added back to the input pixel it was read from.
// Stride 2 (`split`: c * h * w floats of scratch): the sums are gathered in the even / odd planes of
// split_even_odd, where every run is contiguous, then interleaved into x. Each pixel receives the
// same additions in the same order as in a strided loop, so the result is the same to the bit.
void col2im(const float* col, std::int64_t ld, int c, int h, int w, int k, int s, int p, int oh, int ow, float* x,
            float* split) {
  float* acc = s == 2 ? split : x;
  std::fill(acc, acc + static_cast<std::int64_t>(c) * h * w, 0.0f);
  if (s == 1) {
    for_each_run(c, h, w, k, s, p, oh, ow, [&](int row, std::int64_t img, int ix, int out, int len) {
      add_run(col + row * ld + out, acc + img + ix, len);
    });
    return;
  }
  if (s != 2) {
    for_each_run(c, h, w, k, s, p, oh, ow, [&](int row, std::int64_t img, int ix, int out, int len) {
      const float* src = col + row * ld + out;
      for (int t = 0; t < len; ++t) acc[img + ix + t * s] += src[t];
    });
    return;
  }
  for_each_run(c, h, w, k, s, p, oh, ow, [&](int row, std::int64_t img, int ix, int out, int len) {
    add_run(col + row * ld + out, acc + img + split_column(ix, w), len);
  });
  const int half = (w + 1) / 2;
  for (int rr = 0; rr < c * h; ++rr) {  // interleave the planes back into image rows
    const float* even = split + static_cast<std::int64_t>(rr) * w;
    const float* odd = even + half;
    float* out = x + static_cast<std::int64_t>(rr) * w;
    for (int t = 0; t < w / 2; ++t) out[2 * t] = even[t], out[2 * t + 1] = odd[t];
    if (w % 2) out[w - 1] = even[half - 1];
  }
}

// Samples per chunk: about `columns` GEMM columns, but at least one chunk per thread when n allows.
// The chunks as equal as their number allows (50 samples of 49 positions: 25 + 25, not 41 + 9).
int chunk_size(int n, int positions, int threads, int columns) {
  const int by_cols = std::max(1, columns / std::max(1, positions));
  const int by_threads = std::max(1, (n + threads - 1) / threads);
  const int cs = std::max(1, std::min({by_cols, by_threads, n}));
  const int chunks = (n + cs - 1) / cs;
  return (n + chunks - 1) / chunks;
}

// GEMM columns per chunk: Eigen (native) 2048; the own kernels (wasm) 256, one `cnn` image, whose
// GEMM then writes y directly. Single-threaded the size hardly matters (conv2 on 64 `cnn` images
// took 42-43 ms from 196 to 2048 columns: gemm_nn blocks B for the cache itself), but threads claim
// whole chunks: 64 images were 7 chunks of 10 for 2 threads, 4 on one and 3 on the other (1.65x).
int chunk_columns() {
  return kernels::use_own_gemm() ? 256 : 2048;
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

float* Conv2d::split_buffer(int t, int n) {
  if (stride != 2) return nullptr;
  Tensor& b = split_[static_cast<size_t>(t)];
  b.resize({n});
  return b.ptr();
}

namespace {

// `col` as [kk, ld] for inputs h x w with its padding entries zero: cleared only when that layout
// differs from `layout` (im2col writes every other entry, every time, and never those).
Tensor& zeroed(Tensor& col, std::array<std::int64_t, 4>& layout, int kk, std::int64_t ld, int h, int w) {
  const std::array<std::int64_t, 4> now = {kk, ld, h, w};
  if (layout != now) {
    col.resize({kk, static_cast<int>(ld)});
    col.fill(0.0f);
    layout = now;
  }
  return col;
}

}  // namespace

Tensor& Conv2d::zeroed_cols(int t, int kk, std::int64_t ld, int h, int w) {
  return zeroed(cols_[static_cast<size_t>(t)], col_layout_[static_cast<size_t>(t)], kk, ld, h, w);
}

double Conv2d::macs(const Shape& in) const {
  const Shape o = output_shape(in);
  return static_cast<double>(o[1]) * o[2] * out_ch * in_ch * kernel * kernel;
}

void Conv2d::forward(const Tensor& x, Tensor& y, bool train) {
  const int n = x.dim(0), h = x.dim(2), w = x.dim(3);
  const Shape o = output_shape({x.dim(1), h, w});
  const int oh = o[1], ow = o[2], kk = in_ch * kernel * kernel, pp = oh * ow;
  y.resize({n, out_ch, oh, ow});
  const int threads = max_threads();
  const int cs = chunk_size(n, pp, threads, chunk_columns()), chunks = (n + cs - 1) / cs;
  cols_.resize(static_cast<size_t>(std::max<int>(threads, static_cast<int>(cols_.size()))));
  col_layout_.resize(cols_.size(), {-1, -1, -1, -1});  // before any thread calls zeroed_cols
  ybuf_.resize(cols_.size());
  split_.resize(cols_.size());
  const CMapR wm(weight.ptr(), out_ch, kk);
  const std::int64_t in_per = static_cast<std::int64_t>(in_ch) * h * w,
                     out_per = static_cast<std::int64_t>(out_ch) * pp;
  const bool own = kernels::use_own_gemm();
  train_x_ = nullptr;
#ifdef __EMSCRIPTEN_PTHREADS__
  // One image at inference in the threaded web build: im2col on the calling thread, then Y = W col
  // in blocks of output positions (multiples of 8 columns) on the pool's threads. Natively a single
  // image stays on one thread, as in Linear::forward.
  if (n == 1 && !train && own && threads > 1) {
    Tensor& col = zeroed_cols(0, kk, pp, h, w);
    float* split = split_buffer(0, in_ch * h * w);
    im2col(x.ptr(), in_ch, h, w, kernel, stride, padding, oh, ow, col.ptr(), pp, split);
    parallel_rows((pp + 7) / 8, 8.0 * out_ch * kk, [&](int b0, int b1) {
      const int p0 = b0 * 8, p1 = std::min(pp, b1 * 8);
      kernels::gemm_nn(out_ch, p1 - p0, kk, weight.ptr(), kk, 1, col.ptr() + p0, pp, y.ptr() + p0, pp, false);
      for (int oc = 0; oc < out_ch; ++oc) {
        float* dst = y.ptr() + static_cast<std::int64_t>(oc) * pp;
        const float b = bias.data[static_cast<size_t>(oc)];
        for (int t = p0; t < p1; ++t) dst[t] += b;
      }
    });
    return;
  }
#endif
  if (train) {
    train_cols_.resize(static_cast<size_t>(chunks));
    train_layout_.resize(train_cols_.size(), {-1, -1, -1, -1});
  }
  parallel_for(chunks, static_cast<double>(cs) * pp * out_ch * kk, [&](int ch) {
    const int s0 = ch * cs, c = std::min(cs, n - s0);
    const std::int64_t ld = static_cast<std::int64_t>(c) * pp;
    Tensor& yb = ybuf_[static_cast<size_t>(thread_id())];
    // Training: kept for backward, one per chunk.
    Tensor& col =
        train ? zeroed(train_cols_[static_cast<size_t>(ch)], train_layout_[static_cast<size_t>(ch)], kk, ld, h, w)
              : zeroed_cols(thread_id(), kk, ld, h, w);
    float* split = split_buffer(thread_id(), in_ch * h * w);
    for (int s = 0; s < c; ++s)
      im2col(x.ptr() + (s0 + s) * in_per, in_ch, h, w, kernel, stride, padding, oh, ow, col.ptr() + s * pp, ld, split);
    // Y_chunk = W col, [out_ch, ld]: straight into y when the chunk is one sample.
    float* yc = y.ptr() + s0 * out_per;
    if (c > 1) {
      yb.resize({out_ch, static_cast<int>(ld)});
      yc = yb.ptr();
    }
    if (own)
      kernels::gemm_nn(out_ch, static_cast<int>(ld), kk, weight.ptr(), kk, 1, col.ptr(), ld, yc, ld, false);
    else
      kernels::matmul(kernels::N(wm), kernels::N(col.mat()), MapR(yc, out_ch, static_cast<Eigen::Index>(ld)));
    for (int s = 0; s < c; ++s)
      for (int oc = 0; oc < out_ch; ++oc) {
        const float* src = yc + oc * ld + s * pp;
        float* dst = y.ptr() + (s0 + s) * out_per + oc * pp;
        const float b = bias.data[static_cast<size_t>(oc)];
        for (int t = 0; t < pp; ++t) dst[t] = src[t] + b;  // + b (in place when c = 1)
      }
  });
  if (train) {
    train_x_ = x.ptr();
    train_shape_ = x.shape;
    train_chunk_ = cs;
  }
}

void Conv2d::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx, bool param_grads) {
  const int n = x.dim(0), h = x.dim(2), w = x.dim(3);
  const int oh = dy.dim(2), ow = dy.dim(3), kk = in_ch * kernel * kernel, pp = oh * ow;
  const int threads = max_threads();
  const int cs = chunk_size(n, pp, threads, chunk_columns()), chunks = (n + cs - 1) / cs;
  cols_.resize(static_cast<size_t>(std::max<int>(threads, static_cast<int>(cols_.size()))));
  col_layout_.resize(cols_.size(), {-1, -1, -1, -1});  // before any thread calls zeroed_cols
  ybuf_.resize(cols_.size());
  split_.resize(cols_.size());
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
  const bool own = kernels::use_own_gemm();
  // The columns of the training forward pass on this same x, if that was the last forward.
  const bool have_cols = train_x_ == x.ptr() && train_shape_ == x.shape && train_chunk_ == cs;
  parallel_for(chunks, 2.0 * cs * pp * out_ch * kk, [&](int ch) {
    const size_t t = static_cast<size_t>(thread_id());
    float* split = split_buffer(static_cast<int>(t), in_ch * h * w);  // im2col's and col2im's (stride 2)
    const int s0 = ch * cs, c = std::min(cs, n - s0);
    const std::int64_t ld = static_cast<std::int64_t>(c) * pp;
    // dL/dY of the chunk in the [out_ch, c*P] layout of the forward GEMM: dy itself for one sample.
    const float* dyc = dy.ptr() + s0 * out_per;
    if (c > 1) {
      Tensor& buf = ybuf_[t];
      buf.resize({out_ch, static_cast<int>(ld)});
      for (int s = 0; s < c; ++s)
        for (int oc = 0; oc < out_ch; ++oc)
          std::copy_n(dy.ptr() + (s0 + s) * out_per + oc * pp, pp, buf.ptr() + oc * ld + s * pp);
      dyc = buf.ptr();
    }
    const CMapR dym(dyc, out_ch, static_cast<Eigen::Index>(ld));
    if (param_grads) {
      Tensor& col = have_cols ? train_cols_[static_cast<size_t>(ch)] : zeroed_cols(static_cast<int>(t), kk, ld, h, w);
      if (!have_cols) {
        for (int s = 0; s < c; ++s)
          im2col(x.ptr() + (s0 + s) * in_per, in_ch, h, w, kernel, stride, padding, oh, ow, col.ptr() + s * pp, ld,
                 split);
      }
      if (own)
        kernels::gemm_nt(out_ch, kk, static_cast<int>(ld), dyc, ld, col.ptr(), ld, wgrad_part_[t].ptr(), kk, true);
      else
        kernels::matmul(kernels::N(dym), kernels::T(col.mat()), wgrad_part_[t].mat(), true);  // dL/dW += dL/dY col^T
      Eigen::Map<Eigen::VectorXf>(bgrad_part_[t].ptr(), out_ch) += dym.rowwise().sum();       // dL/db += sum dL/dY
    }
    if (dx) {
      Tensor& dcol = dcols_[t];
      dcol.resize({kk, static_cast<int>(ld)});
      if (own)
        kernels::gemm_nn(kk, static_cast<int>(ld), out_ch, weight.ptr(), 1, kk, dyc, ld, dcol.ptr(), ld, false);
      else
        kernels::matmul(kernels::T(wm), kernels::N(dym), dcol.mat());  // dL/dcol = W^T dL/dY
      for (int s = 0; s < c; ++s)                                      // dL/dX_s = col2im(dL/dcol block s)
        col2im(dcol.ptr() + s * pp, ld, in_ch, h, w, kernel, stride, padding, oh, ow, dx->ptr() + (s0 + s) * in_per,
               split);
    }
  });
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
