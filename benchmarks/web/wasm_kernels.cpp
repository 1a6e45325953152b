// Micro-benchmark for the engine analysis (benchmarks/web/engine_analysis.md): Eigen 3.4 vs small
// hand-written wasm_simd128 kernels on the shapes of one `cnn` / `small` image:
//   fc1 forward  y = W x      (W row-major [1024, 3136], the Linear layer at batch 1: a GEMV)
//   fc1 backward dx = dy W    (the input gradient through it)
//   conv GEMMs   W [out, in*k*k] * col [in*k*k, positions]   (Conv2d::forward at batch 1)
// Eigen has no WebAssembly SIMD packet path, so in wasm it runs its scalar kernels (gebp_kernel with
// a 1x4 register block) even with -msimd128.
//
// Build and run (Emscripten 3.1.6, node 20):
//   em++ -std=c++17 -O3 -msimd128 -DNDEBUG -DEIGEN_MPL2_ONLY -isystem /usr/include/eigen3 \
//        benchmarks/web/wasm_kernels.cpp -o /tmp/wasm_kernels.js -sENVIRONMENT=node -sALLOW_MEMORY_GROWTH=1
//   node --no-experimental-fetch /tmp/wasm_kernels.js
#include <wasm_simd128.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>
using MatR = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapR = Eigen::Map<MatR>;
using CMapR = Eigen::Map<const MatR>;
static double now() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
template <class F>
double best(F f, int reps) {
  f();
  double b = 1e30;
  for (int r = 0; r < 7; ++r) {
    double t0 = now();
    for (int i = 0; i < reps; ++i) f();
    b = std::min(b, (now() - t0) / reps);
  }
  return b;
}
static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}
// y[o] = W[o,:] . x   (W row-major [out, in], in % 16 == 0 here)
__attribute__((noinline)) void gemv_simd(const float* W, const float* x, float* y, int out, int in) {
  for (int o = 0; o < out; ++o) {
    const float* w = W + (long)o * in;
    v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 16 <= in; i += 16) {
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(w + i), wasm_v128_load(x + i)));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(w + i + 4), wasm_v128_load(x + i + 4)));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(w + i + 8), wasm_v128_load(x + i + 8)));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(w + i + 12), wasm_v128_load(x + i + 12)));
    }
    float s = hsum(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)));
    for (; i < in; ++i) s += w[i] * x[i];
    y[o] = s;
  }
}
// dx = dy W: dx[:] += dy[o] * W[o,:]
__attribute__((noinline)) void gemvT_simd(const float* W, const float* dy, float* dx, int out, int in) {
  std::fill(dx, dx + in, 0.0f);
  for (int o = 0; o + 4 <= out; o += 4) {
    const v128_t d0 = wasm_f32x4_splat(dy[o]), d1 = wasm_f32x4_splat(dy[o + 1]), d2 = wasm_f32x4_splat(dy[o + 2]),
                 d3 = wasm_f32x4_splat(dy[o + 3]);
    const float *w0 = W + (long)o * in, *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
    for (int i = 0; i + 4 <= in; i += 4) {
      v128_t acc = wasm_v128_load(dx + i);
      acc = wasm_f32x4_add(
          acc,
          wasm_f32x4_add(
              wasm_f32x4_add(wasm_f32x4_mul(d0, wasm_v128_load(w0 + i)), wasm_f32x4_mul(d1, wasm_v128_load(w1 + i))),
              wasm_f32x4_add(wasm_f32x4_mul(d2, wasm_v128_load(w2 + i)), wasm_f32x4_mul(d3, wasm_v128_load(w3 + i)))));
      wasm_v128_store(dx + i, acc);
    }
  }
}
// C[M,N] = A[M,K] B[K,N], row-major; 4x8 register tile (M % 4 == 0; N tail handled with scalar)
__attribute__((noinline)) void gemm_simd(const float* A, const float* B, float* C, int M, int K, int N) {
  for (int i = 0; i < M; i += 4) {
    int j = 0;
    for (; j + 8 <= N; j += 8) {
      v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      const float* a = A + (long)i * K;
      for (int k = 0; k < K; ++k) {
        const v128_t b0 = wasm_v128_load(B + (long)k * N + j), b1 = wasm_v128_load(B + (long)k * N + j + 4);
        v128_t a0 = wasm_f32x4_splat(a[k]), a1 = wasm_f32x4_splat(a[K + k]), a2 = wasm_f32x4_splat(a[2 * K + k]),
               a3 = wasm_f32x4_splat(a[3 * K + k]);
        c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0));
        c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
        c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0));
        c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
        c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0));
        c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
        c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0));
        c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
      }
      float* c = C + (long)i * N + j;
      wasm_v128_store(c, c00);
      wasm_v128_store(c + 4, c01);
      wasm_v128_store(c + N, c10);
      wasm_v128_store(c + N + 4, c11);
      wasm_v128_store(c + 2 * N, c20);
      wasm_v128_store(c + 2 * N + 4, c21);
      wasm_v128_store(c + 3 * N, c30);
      wasm_v128_store(c + 3 * N + 4, c31);
    }
    for (; j < N; ++j)
      for (int r = 0; r < 4; ++r) {
        float s = 0;
        for (int k = 0; k < K; ++k) s += A[(long)(i + r) * K + k] * B[(long)k * N + j];
        C[(long)(i + r) * N + j] = s;
      }
  }
}
int main() {
  const int out = 1024, in = 3136;
  std::vector<float> W((size_t)out * in), x(in), y(out), y2(out), dx(in), dx2(in);
  for (size_t i = 0; i < W.size(); ++i) W[i] = float((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  for (int i = 0; i < in; ++i) x[i] = float(i % 7) / 7.0f;
  CMapR Wm(W.data(), out, in);
  double te = best(
      [&] {
        Eigen::Map<Eigen::RowVectorXf>(y.data(), out).noalias() =
            Eigen::Map<const Eigen::RowVectorXf>(x.data(), in) * Wm.transpose();
      },
      20);
  double ts = best([&] { gemv_simd(W.data(), x.data(), y2.data(), out, in); }, 20);
  float e = 0;
  for (int o = 0; o < out; ++o) e = std::max(e, std::abs(y[o] - y2[o]));
  double tbe = best(
      [&] {
        Eigen::Map<Eigen::RowVectorXf>(dx.data(), in).noalias() =
            Eigen::Map<const Eigen::RowVectorXf>(y.data(), out) * Wm;
      },
      20);
  double tbs = best([&] { gemvT_simd(W.data(), y.data(), dx2.data(), out, in); }, 20);
  float eb = 0;
  for (int i = 0; i < in; ++i) eb = std::max(eb, std::abs(dx[i] - dx2[i]) / (1 + std::abs(dx[i])));
  std::printf("fc1 forward GEMV : Eigen %.3f ms, wasm_simd128 %.3f ms (%.1fx; max diff %.1e)\n", te, ts, te / ts, e);
  std::printf("fc1 backward GEMV: Eigen %.3f ms, wasm_simd128 %.3f ms (%.1fx; rel diff %.1e)\n", tbe, tbs, tbe / tbs,
              eb);
  for (auto shp :
       {std::tuple{64, 800, 196}, std::tuple{32, 256, 49}, std::tuple{32, 25, 784}, std::tuple{16, 16, 196}}) {
    const int M = std::get<0>(shp), K = std::get<1>(shp), N = std::get<2>(shp);
    std::vector<float> A((size_t)M * K), B((size_t)K * N), C((size_t)M * N), C2((size_t)M * N);
    for (size_t i = 0; i < A.size(); ++i) A[i] = float(i % 13) / 13.0f - 0.5f;
    for (size_t i = 0; i < B.size(); ++i) B[i] = float(i % 11) / 11.0f;
    const int reps = std::max(5, int(2e7 / (2.0 * M * K * N)));
    double tg = best([&] { MapR(C.data(), M, N).noalias() = CMapR(A.data(), M, K) * CMapR(B.data(), K, N); }, reps);
    double tgs = best([&] { gemm_simd(A.data(), B.data(), C2.data(), M, K, N); }, reps);
    float eg = 0;
    for (size_t i = 0; i < C.size(); ++i) eg = std::max(eg, std::abs(C[i] - C2[i]) / (1 + std::abs(C[i])));
    std::printf(
        "GEMM %dx%d * %dx%d: Eigen %.4f ms (%.1f GFLOP/s), wasm_simd128 4x8 tile %.4f ms (%.1f GFLOP/s, %.1fx; rel "
        "diff %.1e)\n",
        M, K, K, N, tg, 2.0 * M * K * N / tg / 1e6, tgs, 2.0 * M * K * N / tgs / 1e6, tg / tgs, eg);
  }
}
