// The engine's own single-precision matrix products (ggml style: flat C++, no templates in the
// interface, raw pointers and strides).
//
// Why: Eigen 3.4 has no WebAssembly SIMD packet path, so in the browser every Eigen product runs
// its scalar kernels (benchmarks/web/engine_analysis.md, section 2). These kernels are written
// against a 4-lane vector (vec4.h: wasm_simd128 intrinsics in the browser, GCC/Clang vector
// extensions natively), so the same source is tested natively and shipped to the browser.
//
// Which path Linear and Conv2d take: ADVX_OWN_GEMM (the CMake option of that name, ON by default
// for Emscripten builds, OFF natively, where Eigen's AVX2/AVX-512 kernels are faster) sets the
// default of use_own_gemm(); set_use_own_gemm() switches it at run time (tests run the layers both
// ways in one binary). All matrices are row-major float32; every function is single-threaded (the
// layers split work over threads themselves) and works for any size >= 0, including empty ones.
#pragma once
#include <cstdint>

namespace advx::kernels {

// C[m, n] = A[m, k] * B[k, n]              (accumulate = false)
// C[m, n] += A[m, k] * B[k, n]             (accumulate = true)
//
// A is read through two strides: A(i, p) = a[i * a_row + p * a_col]. A row-major [m, k] matrix has
// (a_row, a_col) = (lda, 1); the transpose of a row-major [k, m] matrix has (1, lda). B is row-major
// with row stride ldb (its n columns contiguous), C row-major with row stride ldc.
void gemm_nn(int m, int n, int k, const float* a, std::int64_t a_row, std::int64_t a_col, const float* b,
             std::int64_t ldb, float* c, std::int64_t ldc, bool accumulate);

// C[m, n] = A[m, k] * B[n, k]^T            (accumulate = false; += when true)
//
// A and B both row-major with k contiguous (row strides lda, ldb): every C entry is a dot product of
// a row of A and a row of B (a Linear layer's X W^T; a GEMV when m = 1).
void gemm_nt(int m, int n, int k, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
             std::int64_t ldc, bool accumulate);

// Whether Linear and Conv2d use the kernels above (true) or Eigen (false) for their products.
// Default: true if the engine was compiled with ADVX_OWN_GEMM, else false. Not thread-safe to flip
// while a layer runs.
bool use_own_gemm();
void set_use_own_gemm(bool on);

// "wasm_simd128", "vector extensions" or "scalar": how vec4.h was compiled in gemm.cpp.
const char* vector_impl();

}  // namespace advx::kernels
