// Matrix-product kernels (interface and purpose: gemm.h). Plain flat C++ on the 4-lane vector of
// vec4.h; every hot loop is its own non-inlined function, because V8 optimises (tiers up) per
// function: a hot loop inlined into a big cold caller would stay on the baseline compiler longer.
// (Binaryen's wasm-opt may still inline a kernel that has a single call site into its small
// driver, e.g. nn_tile_rows<4> into gemm_nn; the driver is then the hot function, which is fine.)
//
// Measured on the shapes of one `cnn` / `small` image (node 20 and Chromium 156, same machine):
// 1.5-4x faster than Eigen's scalar kernels in wasm, e.g. the conv2 GEMM 64x800 * 800x196 at
// ~30 GFLOP/s vs ~15. Larger register tiles (6x8, 4x12, 8x8), packing B or A, and unrolling k were
// tried and were not faster under V8 (more accumulators presumably spill: x64 has 16 vector
// registers). Natively Eigen's AVX2/FMA kernels are 1.2-2.5x faster than these, which is why
// native builds keep Eigen.
//
// No floating-point contraction in this file (the pragmas below; GCC fuses a + b * c into an FMA at
// -O3 -march=native otherwise): wasm SIMD has no FMA, and with separate mul and add a native build
// of these kernels does the same float operations in the same order as the browser's.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "engine/kernels/gemm.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/kernels/vec4.h"

#if defined(__GNUC__) || defined(__clang__)
#define ADVX_NOINLINE __attribute__((noinline))
#else
#define ADVX_NOINLINE
#endif

namespace advx::kernels {
namespace {

using std::int64_t;
using v4::f32x4;

// =================================================================================================
// C = A B (gemm_nn)
//
// Memory layout (floats, row-major):
//   A(i, p) = a[i * ar + p * ac]      any two strides: a row-major A (ar = lda, ac = 1) or the
//                                     transpose of a row-major matrix (ar = 1, ac = lda)
//   B(p, j) = b[p * ldb + j]          a row's columns are contiguous: B(p, j..j+3) is one vector load
//   C(i, j) = c[i * ldc + j]
//
// Tiling (nn_tile_rows): C is computed in blocks of 4 rows x 8 columns that stay in 8 vector
// registers for the whole p loop; each step p loads B(p, j..j+7) as two vectors and broadcasts the
// 4 scalars A(i..i+3, p):
//
//                         B row p:  [ b0 = B(p, j..j+3) | b1 = B(p, j+4..j+7) ]
//   A(i+r, p) -> splat x_r:   acc[r][0] += x_r * b0,   acc[r][1] += x_r * b1     (r = 0..3)
//
// i.e. 2 loads + 4 broadcasts per 8 mul + 8 add. The 4 rows of A are read once per 8 columns, the
// 8-column strip of B once per 4 rows. Columns left over: one 4 x 4 block (4-7 left), then plain
// dot products (1-3 left), accumulated in the same order: within nn_tile_rows every C entry is
// ((C0 + A(i,0) B(0,j)) + A(i,1) B(1,j)) + ..., whichever tile it falls in (C0 = 0 or C's value).
//
// Rows left over (m % 4, so also every m < 4: a Linear layer's input gradient dY W on one image)
// go through nn_stream_rows instead: it keeps the 1-3 rows of C in memory and streams B row by row
// with contiguous loads, four rows of B per pass:
//
//   C(i, :) += (A(i,p) B(p,:) + A(i,p+1) B(p+1,:)) + (A(i,p+2) B(p+2,:) + A(i,p+3) B(p+3,:))
//
// For a [1024 x 3136] weight matrix that reads B sequentially (as fast as memory delivers it),
// where the register tile would walk it in 32-byte pieces 12.5 KB apart.
// =================================================================================================

// Blocking (gemm_nn): the driver cuts B into panels of panel_columns(n, k) columns and runs every
// 4-row block of A over one panel before going to the next. Without it each row block streamed all
// of B: for a convolution over a chunk of images (B = im2col: k = 800 rows, 196 columns an image
// for `cnn`'s conv2) B is megabytes, read m / 4 = 16 times, and the kernel fell in wasm from ~40
// GFLOP/s at one image to ~18 at 8 images and ~11 at 32. A panel of about kPanelFloats floats
// stays in cache while A's row blocks pass over it; with many panels each is first copied into
// contiguous rows (its rows are otherwise 4 n bytes apart, one page each for large n): ~35-39
// GFLOP/s at every batch size (node 20, 2026-11-28). nb is a multiple of 8, the register tile's
// width. Also tried, packing A: its 4 values per step as one vector with lane shuffles, or
// pre-broadcast, were both slower under V8 than the scalar loads and splats below.
constexpr int kPanelFloats = 32768;  // 128 KB

int panel_columns(int n, int k) {
  const int nb = std::max(8, (kPanelFloats / std::max(k, 1)) / 8 * 8);
  return std::min(n, nb);
}

// MR rows of C (the driver uses MR = 4), all n columns, by register tiles of MR x 8, MR x 4, then
// MR x 1.
template <int MR>
ADVX_NOINLINE void nn_tile_rows(int n, int k, const float* a, int64_t ar, int64_t ac, const float* b, int64_t ldb,
                                float* c, int64_t ldc, bool acc) {
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    f32x4 c0[MR], c1[MR];
    for (int r = 0; r < MR; ++r) {
      c0[r] = acc ? v4::load(c + r * ldc + j) : v4::zero();
      c1[r] = acc ? v4::load(c + r * ldc + j + 4) : v4::zero();
    }
    const float* bp = b + j;
    const float* ap = a;
    for (int p = 0; p < k; ++p, bp += ldb, ap += ac) {
      const f32x4 b0 = v4::load(bp), b1 = v4::load(bp + 4);
      for (int r = 0; r < MR; ++r) {
        const f32x4 x = v4::splat(ap[r * ar]);
        c0[r] = v4::add(c0[r], v4::mul(x, b0));
        c1[r] = v4::add(c1[r], v4::mul(x, b1));
      }
    }
    for (int r = 0; r < MR; ++r) {
      v4::store(c + r * ldc + j, c0[r]);
      v4::store(c + r * ldc + j + 4, c1[r]);
    }
  }
  if (j + 4 <= n) {
    f32x4 c0[MR];
    for (int r = 0; r < MR; ++r) c0[r] = acc ? v4::load(c + r * ldc + j) : v4::zero();
    const float* bp = b + j;
    const float* ap = a;
    for (int p = 0; p < k; ++p, bp += ldb, ap += ac) {
      const f32x4 b0 = v4::load(bp);
      for (int r = 0; r < MR; ++r) c0[r] = v4::add(c0[r], v4::mul(v4::splat(ap[r * ar]), b0));
    }
    for (int r = 0; r < MR; ++r) v4::store(c + r * ldc + j, c0[r]);
    j += 4;
  }
  for (; j < n; ++j) {
    float s[MR];
    for (int r = 0; r < MR; ++r) s[r] = acc ? c[r * ldc + j] : 0.0f;
    const float* bp = b + j;
    const float* ap = a;
    for (int p = 0; p < k; ++p, bp += ldb, ap += ac)
      for (int r = 0; r < MR; ++r) s[r] += ap[r * ar] * *bp;
    for (int r = 0; r < MR; ++r) c[r * ldc + j] = s[r];
  }
}

// MR (1..3) rows of C updated in memory while B streams past, four rows of B at a time.
template <int MR>
ADVX_NOINLINE void nn_stream_rows(int n, int k, const float* a, int64_t ar, int64_t ac, const float* b, int64_t ldb,
                                  float* c, int64_t ldc, bool acc) {
  if (!acc)
    for (int r = 0; r < MR; ++r) std::fill(c + r * ldc, c + r * ldc + n, 0.0f);
  int p = 0;
  for (; p + 4 <= k; p += 4) {
    const float* b0 = b + p * ldb;
    const float* b1 = b0 + ldb;
    const float* b2 = b1 + ldb;
    const float* b3 = b2 + ldb;
    float s[MR][4];
    f32x4 x[MR][4];
    for (int r = 0; r < MR; ++r)
      for (int q = 0; q < 4; ++q) {
        s[r][q] = a[r * ar + (p + q) * ac];
        x[r][q] = v4::splat(s[r][q]);
      }
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      const f32x4 y0 = v4::load(b0 + j), y1 = v4::load(b1 + j), y2 = v4::load(b2 + j), y3 = v4::load(b3 + j);
      for (int r = 0; r < MR; ++r) {
        float* cr = c + r * ldc + j;
        const f32x4 t = v4::add(v4::add(v4::mul(x[r][0], y0), v4::mul(x[r][1], y1)),
                                v4::add(v4::mul(x[r][2], y2), v4::mul(x[r][3], y3)));
        v4::store(cr, v4::add(v4::load(cr), t));
      }
    }
    for (; j < n; ++j)
      for (int r = 0; r < MR; ++r)
        c[r * ldc + j] += (s[r][0] * b0[j] + s[r][1] * b1[j]) + (s[r][2] * b2[j] + s[r][3] * b3[j]);
  }
  for (; p < k; ++p) {  // k % 4 rows of B left: one at a time
    const float* bp = b + p * ldb;
    for (int r = 0; r < MR; ++r) {
      const float s = a[r * ar + p * ac];
      const f32x4 x = v4::splat(s);
      float* cr = c + r * ldc;
      int j = 0;
      for (; j + 4 <= n; j += 4) v4::store(cr + j, v4::add(v4::load(cr + j), v4::mul(x, v4::load(bp + j))));
      for (; j < n; ++j) cr[j] += s * bp[j];
    }
  }
}

// =================================================================================================
// C = A B^T (gemm_nt)
//
// Memory layout (floats, row-major): A(i, p) = a[i * lda + p], B(j, p) = b[j * ldb + p] (B is
// stored [n, k], like a Linear layer's weight [out, in]), C(i, j) = c[i * ldc + j]. Both operands
// are contiguous along p, so every C entry is a dot product of two contiguous rows.
//
// Tiling (nt_tile): MR (1-2) rows of A against NR (1-4) rows of B, MR x NR vector accumulators (at
// most 8), each step p..p+3 loads one vector of each of the MR + NR rows and does MR x NR mul + add
// (lane l of an accumulator sums the products of p = l mod 4). After the vector loop each
// accumulator is summed across lanes ((l0 + l2) + (l1 + l3)), then the k % 4 last products are
// added one by one. The driver walks B in blocks of 4 rows (outer loop), all of A's row pairs
// within (inner loop), so a block of B (4 rows of k floats) is read from memory once and reused
// from cache by every row of A: at m = 1 (one image) this is a GEMV that streams the weight matrix
// exactly once, 4 rows at a time, with 4 independent accumulator chains.
// =================================================================================================

template <int MR, int NR>
ADVX_NOINLINE void nt_tile(int k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                           bool acc) {
  f32x4 s[MR][NR];
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NR; ++q) s[r][q] = v4::zero();
  int p = 0;
  for (; p + 4 <= k; p += 4) {
    f32x4 x[MR];
    for (int r = 0; r < MR; ++r) x[r] = v4::load(a + r * lda + p);
    for (int q = 0; q < NR; ++q) {
      const f32x4 y = v4::load(b + q * ldb + p);
      for (int r = 0; r < MR; ++r) s[r][q] = v4::add(s[r][q], v4::mul(x[r], y));
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NR; ++q) {
      float t = v4::hsum(s[r][q]);
      for (int pp = p; pp < k; ++pp) t += a[r * lda + pp] * b[q * ldb + pp];
      float& out = c[r * ldc + q];
      out = acc ? out + t : t;
    }
}

template <int MR>
void nt_tile_dispatch(int nr, int k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                      bool acc) {
  switch (nr) {
    case 4:
      nt_tile<MR, 4>(k, a, lda, b, ldb, c, ldc, acc);
      break;
    case 3:
      nt_tile<MR, 3>(k, a, lda, b, ldb, c, ldc, acc);
      break;
    case 2:
      nt_tile<MR, 2>(k, a, lda, b, ldb, c, ldc, acc);
      break;
    default:
      nt_tile<MR, 1>(k, a, lda, b, ldb, c, ldc, acc);
      break;
  }
}

bool g_use_own_gemm =
#ifdef ADVX_OWN_GEMM
    true;
#else
    false;
#endif

// k = 0: the product is empty, C = 0 (or C unchanged when accumulating). A and B may then be null
// (an empty vector's data()), so no pointer into them is formed (null + offset is undefined).
bool empty_product(int m, int n, int k, float* c, int64_t ldc, bool accumulate) {
  if (k > 0) return false;
  if (!accumulate)
    for (int i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
  return true;
}

}  // namespace

void gemm_nn(int m, int n, int k, const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb, float* c,
             int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0 || empty_product(m, n, k, c, ldc, accumulate)) return;
  int i = 0;
  // Column panels of B (see "Blocking" above); each C entry is summed over p in the same order as
  // without them.
  const int nb = panel_columns(n, k);
  const bool pack = m >= 8 && n >= 8 * nb;  // many panels, several row blocks: each panel as rows of nb floats
  thread_local std::vector<float> panel;
  if (pack && panel.size() < static_cast<size_t>(k) * static_cast<size_t>(nb))
    panel.resize(static_cast<size_t>(k) * nb);
  for (int j = 0; j < n; j += nb) {
    const int w = std::min(nb, n - j);
    const float* bj = b + j;
    int64_t ldp = ldb;
    if (pack) {
      for (int p = 0; p < k; ++p) std::copy_n(b + p * ldb + j, w, panel.data() + static_cast<int64_t>(p) * w);
      bj = panel.data(), ldp = w;
    }
    for (i = 0; i + 4 <= m; i += 4)
      nn_tile_rows<4>(w, k, a + i * a_row, a_row, a_col, bj, ldp, c + i * ldc + j, ldc, accumulate);
  }
  i = m / 4 * 4;
  const float* ai = a + i * a_row;
  float* ci = c + i * ldc;
  switch (m - i) {
    case 3:
      nn_stream_rows<3>(n, k, ai, a_row, a_col, b, ldb, ci, ldc, accumulate);
      break;
    case 2:
      nn_stream_rows<2>(n, k, ai, a_row, a_col, b, ldb, ci, ldc, accumulate);
      break;
    case 1:
      nn_stream_rows<1>(n, k, ai, a_row, a_col, b, ldb, ci, ldc, accumulate);
      break;
    default:
      break;
  }
}

void gemm_nt(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             bool accumulate) {
  if (m <= 0 || n <= 0 || empty_product(m, n, k, c, ldc, accumulate)) return;
  for (int j = 0; j < n; j += 4) {
    const int nr = std::min(4, n - j);
    const float* bj = b + j * ldb;
    int i = 0;
    for (; i + 2 <= m; i += 2) nt_tile_dispatch<2>(nr, k, a + i * lda, lda, bj, ldb, c + i * ldc + j, ldc, accumulate);
    if (i < m) nt_tile_dispatch<1>(nr, k, a + i * lda, lda, bj, ldb, c + i * ldc + j, ldc, accumulate);
  }
}

bool use_own_gemm() {
  return g_use_own_gemm;
}

void set_use_own_gemm(bool on) {
  g_use_own_gemm = on;
}

const char* vector_impl() {
  return ADVX_VEC4_IMPL;
}

}  // namespace advx::kernels
