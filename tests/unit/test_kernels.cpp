// engine/kernels/gemm.h: every kernel against a double-precision naive loop (and Eigen) on shapes
// that hit every tile and tail (m, n, k not multiples of the tiles, one row, k = 1, empty), with
// padded strides, both layouts of A, and accumulate on and off; then Linear and Conv2d with the
// own kernels against the same layers with Eigen (the WebAssembly build runs the former).
//
// The natively compiled kernels are the browser's algorithm: engine/kernels/vec4.h maps the same
// 4-lane code to GCC/Clang vector extensions here and to wasm_simd128 intrinsics in the browser.
// (A build with -DADVX_OWN_GEMM=ON runs every other test, finite differences included, through them.)
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/kernels/gemm.h"
#include "engine/layers/layers.h"
#include "engine/loss.h"
#include "engine/models.h"
#include "engine/rng.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

std::vector<float> random_vec(std::int64_t n, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// Sets the layers' product path for one scope and restores the previous one.
struct OwnGemm {
  bool saved = kernels::use_own_gemm();
  explicit OwnGemm(bool on) { kernels::set_use_own_gemm(on); }
  ~OwnGemm() { kernels::set_use_own_gemm(saved); }
};

// One product C (+)= op(A) B or A B^T, checked entry by entry against a double-precision loop.
// Tolerance relative to the size of the terms: |c - ref| <= 1e-5 (|C0| + sum_p |A(i,p) B(p,j)|).
// The padding around C (columns n..ldc-1) must be left alone.
struct Case {
  int m, n, k;
  bool trans_a;  // nn: A stored [k, m] (read through strides (1, lda)); ignored for nt
  bool nt;       // C = A B^T
  bool accumulate;
  int pad;  // extra floats at the end of every row of A, B and C
};

void check_case(const Case& t, Rng& rng) {
  const int m = t.m, n = t.n, k = t.k, pad = t.pad;
  // Storage: A is [m, k] or [k, m] (trans_a), B is [k, n] (nn) or [n, k] (nt), C [m, n]; rows padded.
  const std::int64_t a_rows = t.trans_a && !t.nt ? k : m, a_cols = t.trans_a && !t.nt ? m : k;
  const std::int64_t b_rows = t.nt ? n : k, b_cols = t.nt ? k : n;
  const std::int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
  const std::vector<float> a = random_vec(a_rows * lda, rng), b = random_vec(b_rows * ldb, rng);
  const std::vector<float> c0 = random_vec(m * ldc, rng);
  std::vector<float> c = c0;
  auto A = [&](int i, int p) {
    return static_cast<double>(t.trans_a && !t.nt ? a[static_cast<size_t>(p * lda + i)]
                                                  : a[static_cast<size_t>(i * lda + p)]);
  };
  auto B = [&](int p, int j) {
    return static_cast<double>(t.nt ? b[static_cast<size_t>(j * ldb + p)] : b[static_cast<size_t>(p * ldb + j)]);
  };
  if (t.nt)
    kernels::gemm_nt(m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, t.accumulate);
  else if (t.trans_a)
    kernels::gemm_nn(m, n, k, a.data(), 1, lda, b.data(), ldb, c.data(), ldc, t.accumulate);
  else
    kernels::gemm_nn(m, n, k, a.data(), lda, 1, b.data(), ldb, c.data(), ldc, t.accumulate);
  int bad = 0;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < static_cast<int>(ldc); ++j) {
      const size_t at = static_cast<size_t>(i * ldc + j);
      if (j >= n) {  // padding untouched
        if (c[at] != c0[at]) ++bad;
        continue;
      }
      double ref = t.accumulate ? c0[at] : 0.0, scale = t.accumulate ? std::fabs(c0[at]) : 0.0;
      for (int p = 0; p < k; ++p) {
        ref += A(i, p) * B(p, j);
        scale += std::fabs(A(i, p) * B(p, j));
      }
      if (!(std::fabs(c[at] - ref) <= 1e-5 * scale + 1e-30)) {
        if (bad < 3)
          UNSCOPED_INFO("C(" << i << ", " << j << ") = " << c[at] << ", expected " << ref << " (scale " << scale
                             << ")");
        ++bad;
      }
    }
  INFO((t.nt        ? "gemm_nt"
        : t.trans_a ? "gemm_nn, A transposed"
                    : "gemm_nn")
       << " m=" << m << " n=" << n << " k=" << k << " pad=" << pad << (t.accumulate ? " accumulate" : ""));
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("kernels: which vector code is tested and which path the layers take", "[kernels]") {
  // Not a check: says what this binary runs (ADVX_OWN_GEMM=ON makes the layers use the kernels).
  WARN("engine/kernels vec4: " << kernels::vector_impl() << "; Linear/Conv2d products by default through "
                               << (kernels::use_own_gemm() ? "engine/kernels (ADVX_OWN_GEMM)" : "Eigen"));
  SUCCEED();
}

TEST_CASE("kernels: gemm_nn and gemm_nt match a naive loop on every tile and tail", "[kernels]") {
  Rng rng(101);
  // m: below, at and around the 4-row tile (the streaming kernel takes the 1-3 rows left);
  // n: around the 8- and 4-column tiles and nt's blocks of 4 rows of B; k: around the 4-wide steps.
  const int ms[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13};
  const int ns[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 15, 16, 17, 20, 33};
  const int ks[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 31};
  int cases = 0;
  for (int m : ms)
    for (int n : ns)
      for (int k : ks)
        for (int variant = 0; variant < 3; ++variant) {  // nn, nn with A transposed, nt
          const bool nt = variant == 2, trans_a = variant == 1;
          const bool accumulate = ((m + n + k + variant) % 2) == 1;
          const int pad = (m * 7 + n * 3 + k) % 3;  // 0, 1 or 2 floats of row padding
          check_case({m, n, k, trans_a, nt, accumulate, pad}, rng);
          ++cases;
        }
  CHECK(cases == 12 * 16 * 11 * 3);
}

// gemm_nn's cache panels: B cut into panels of 32768 / k columns (rounded to 8), packed when there
// are at least 8 of them and 8 rows of A. Each C entry must still be summed over p in the one order
// of the register tiles, so a panelled product equals, bit for bit, the same product one column at
// a time (n = 1: neither panels nor packing). Shapes: k = 800 (panels of 40: 333 columns = 8 full
// panels and a tail of 13) and k = 64 (panels of 512), with row padding and A read transposed.
TEST_CASE("kernels: gemm_nn's cache panels (blocked, packed) keep every sum's order", "[kernels]") {
  Rng rng(104);
  struct Shape {
    int m, n, k, pad;
    bool trans_a, accumulate;
  };
  for (const Shape& s : {Shape{12, 333, 800, 0, false, false}, Shape{8, 4100, 64, 3, true, true},
                         Shape{16, 200, 800, 1, false, true}, Shape{4, 700, 100, 0, false, false}}) {
    INFO("m=" << s.m << " n=" << s.n << " k=" << s.k << (s.trans_a ? " A transposed" : ""));
    const std::int64_t a_rows = s.trans_a ? s.k : s.m, a_cols = s.trans_a ? s.m : s.k;
    const std::int64_t lda = a_cols + s.pad, ldb = s.n + s.pad, ldc = s.n + s.pad;
    const std::vector<float> a = random_vec(a_rows * lda, rng), b = random_vec(s.k * ldb, rng);
    const std::vector<float> c0 = random_vec(s.m * ldc, rng);
    const std::int64_t ar = s.trans_a ? 1 : lda, ac = s.trans_a ? lda : 1;
    std::vector<float> whole = c0, by_column = c0;
    kernels::gemm_nn(s.m, s.n, s.k, a.data(), ar, ac, b.data(), ldb, whole.data(), ldc, s.accumulate);
    for (int j = 0; j < s.n; ++j)
      kernels::gemm_nn(s.m, 1, s.k, a.data(), ar, ac, b.data() + j, ldb, by_column.data() + j, ldc, s.accumulate);
    CHECK(whole == by_column);
    check_case({s.m, s.n, s.k, s.trans_a, false, s.accumulate, s.pad}, rng);
  }
}

TEST_CASE("kernels: accumulate adds to C, both settings, every variant", "[kernels]") {
  Rng rng(102);
  for (bool accumulate : {false, true})
    for (int variant = 0; variant < 3; ++variant) {
      check_case({5, 13, 6, variant == 1, variant == 2, accumulate, 1}, rng);
      check_case({8, 8, 4, variant == 1, variant == 2, accumulate, 0}, rng);
      check_case({1, 1, 1, variant == 1, variant == 2, accumulate, 0}, rng);
    }
}

TEST_CASE("kernels: random shapes up to 70 x 70 x 70", "[kernels]") {
  Rng rng(103);
  for (int it = 0; it < 150; ++it) {
    const int m = static_cast<int>(rng.below(70)) + 1, n = static_cast<int>(rng.below(70)) + 1,
              k = static_cast<int>(rng.below(70)) + 1;
    const int variant = static_cast<int>(rng.below(3));
    check_case({m, n, k, variant == 1, variant == 2, rng.below(2) == 1, static_cast<int>(rng.below(4))}, rng);
  }
}

TEST_CASE("kernels: the model shapes (one image) agree with Eigen", "[kernels]") {
  // {m, n, k, variant}: variant 0 = A B, 1 = A^T B, 2 = A B^T, as Linear and Conv2d call them.
  struct Shape3 {
    int m, n, k, variant;
  };
  const Shape3 shapes[] = {
      {1, 1024, 3136, 2},  // cnn fc1 forward (GEMV)
      {1, 3136, 1024, 0},  // cnn fc1 input gradient
      {3, 3136, 1024, 0},  // the same for 3 images (the streaming kernel with 3 rows)
      {1, 10, 1024, 2},    // cnn fc2
      {64, 196, 800, 0},   // cnn conv2 forward W col
      {800, 196, 64, 1},   // cnn conv2 W^T dY
      {64, 800, 196, 2},   // cnn conv2 weight gradient dY col^T
      {25, 784, 32, 1},    // cnn conv1 W^T dY (25 rows: 6 tiles and one streamed row)
      {32, 49, 256, 0},    // small conv2 forward
      {1568, 100, 5, 0},   // small fc1 weight gradient shape, batch 5 (A^T)
  };
  Rng rng(104);
  for (const Shape3& s : shapes) {
    const int m = s.m, n = s.n, k = s.k;
    const std::vector<float> a = random_vec(static_cast<std::int64_t>(m) * k, rng),
                             b = random_vec(static_cast<std::int64_t>(k) * n, rng);
    std::vector<float> c(static_cast<size_t>(m) * n);
    MatR ref;
    if (s.variant == 0) {
      kernels::gemm_nn(m, n, k, a.data(), k, 1, b.data(), n, c.data(), n, false);
      ref = CMapR(a.data(), m, k) * CMapR(b.data(), k, n);
    } else if (s.variant == 1) {
      kernels::gemm_nn(m, n, k, a.data(), 1, m, b.data(), n, c.data(), n, false);  // A stored [k, m]
      ref = CMapR(a.data(), k, m).transpose() * CMapR(b.data(), k, n);
    } else {
      kernels::gemm_nt(m, n, k, a.data(), k, b.data(), k, c.data(), n, false);
      ref = CMapR(a.data(), m, k) * CMapR(b.data(), n, k).transpose();
    }
    // Terms are products of U(-1, 1) values: the sum of |terms| is about k/4, rounding ~ sqrt(k) eps.
    const double tol = 1e-5 * std::max(1.0, k / 4.0);
    double worst = 0.0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j)
        worst = std::max(worst, static_cast<double>(std::fabs(c[static_cast<size_t>(i) * n + j] - ref(i, j))));
    INFO("m=" << m << " n=" << n << " k=" << k << " variant " << s.variant << ": max |own - Eigen| " << worst);
    CHECK(worst <= tol);
  }
}

// ---- layers: own kernels vs Eigen ----------------------------------------------------------------

namespace {

struct LayerRun {
  Tensor y, dx;
  std::vector<Tensor> grads;
};

LayerRun run_layer(Layer& layer, const Tensor& x, const Tensor& r, bool own) {
  OwnGemm scope(own);
  LayerRun out;
  layer.forward(x, out.y, false);
  for (Param& p : layer.params()) p.grad->fill(0.5f);  // weight gradients accumulate: start non-zero
  layer.backward(x, out.y, r, &out.dx, true);
  for (Param& p : layer.params()) out.grads.push_back(*p.grad);
  return out;
}

// max |a - b| / max(1, max |b|)
double rel_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape == b.shape);
  double d = 0.0, s = 1.0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    d = std::max(d, static_cast<double>(std::fabs(a.data[i] - b.data[i])));
    s = std::max(s, static_cast<double>(std::fabs(b.data[i])));
  }
  return d / s;
}

void compare_paths(Layer& layer, const Tensor& x, Rng& rng, const std::string& what) {
  Tensor probe;
  layer.forward(x, probe, false);
  Tensor r(probe.shape);
  for (float& v : r.data) v = rng.uniform(-1.0f, 1.0f);
  const LayerRun e = run_layer(layer, x, r, false), o = run_layer(layer, x, r, true);
  INFO(what);
  CHECK(rel_diff(o.y, e.y) <= 1e-5);
  CHECK(rel_diff(o.dx, e.dx) <= 1e-5);
  REQUIRE(o.grads.size() == e.grads.size());
  for (size_t i = 0; i < o.grads.size(); ++i) CHECK(rel_diff(o.grads[i], e.grads[i]) <= 1e-5);
}

Tensor random_tensor(const Shape& s, Rng& rng) {
  Tensor t(s);
  for (float& v : t.data) v = rng.uniform(-1.0f, 1.0f);
  return t;
}

}  // namespace

TEST_CASE("Linear through the own kernels equals Linear through Eigen (forward, dX, dW, db)", "[kernels]") {
  Rng rng(105);
  // {in, out, batch}: a GEMV, tails everywhere, and a batch above parallel_rows' threshold.
  const int cfgs[][3] = {{7, 5, 1}, {7, 5, 3}, {1, 1, 1}, {33, 17, 6}, {784, 10, 1}, {300, 50, 64}, {3136, 1024, 1}};
  for (const auto& c : cfgs) {
    Linear l(c[0], c[1]);
    l.init(rng);
    compare_paths(l, random_tensor({c[2], c[0]}, rng), rng,
                  "Linear(" + std::to_string(c[0]) + ", " + std::to_string(c[1]) + "), batch " + std::to_string(c[2]));
  }
}

TEST_CASE("Conv2d through the own kernels equals Conv2d through Eigen (forward, dX, dW, db)", "[kernels]") {
  Rng rng(106);
  // {in_ch, out_ch, kernel, stride, padding, batch, size}: the shipped layers, odd channel counts
  // (row tails), 1x1 kernels (k = in_ch), and batches of several chunks.
  const int cfgs[][7] = {{1, 32, 5, 1, 2, 1, 28},  {32, 64, 5, 1, 2, 1, 14}, {1, 16, 4, 2, 1, 1, 28},
                         {16, 32, 4, 2, 1, 1, 14}, {3, 5, 3, 1, 0, 2, 9},    {2, 7, 1, 1, 0, 3, 6},
                         {3, 4, 3, 3, 2, 2, 8},    {2, 5, 4, 2, 1, 37, 28}};
  for (const auto& c : cfgs) {
    Conv2d conv(c[0], c[1], c[2], c[3], c[4]);
    conv.init(rng);
    compare_paths(conv, random_tensor({c[5], c[0], c[6], c[6]}, rng), rng,
                  "Conv2d(" + std::to_string(c[0]) + " -> " + std::to_string(c[1]) + ", k " + std::to_string(c[2]) +
                      ", s " + std::to_string(c[3]) + ", p " + std::to_string(c[4]) + "), batch " +
                      std::to_string(c[5]));
  }
}

TEST_CASE("Every shipped architecture: logits and input gradient agree between own kernels and Eigen", "[kernels]") {
  for (const ArchInfo& a : architectures()) {
    Sequential m = make_model(a.name, 7);
    Rng rng(107);
    Tensor x(test::with_batch(3, m.input_shape()));
    for (float& v : x.data) v = rng.uniform();
    const std::vector<int> y = {1, 5, 9};
    Tensor ge, go;
    Tensor le, lo;
    {
      OwnGemm scope(false);
      le = m.loss_input_gradient(x, y, ge);
    }
    {
      OwnGemm scope(true);
      lo = m.loss_input_gradient(x, y, go);
    }
    INFO(a.name);
    CHECK(rel_diff(lo, le) <= 1e-5);
    CHECK(rel_diff(go, ge) <= 1e-4);
    CHECK(argmax_rows(lo) == argmax_rows(le));
  }
}
