// A 4-lane float vector for the kernels in this folder. One kernel source serves every build:
//
//   __wasm_simd128__ (Emscripten -msimd128)   wasm_simd128.h intrinsics (v128 = f32x4)
//   GCC / Clang natively                       vector extensions (float __attribute__((vector_size(16)))),
//                                              which the compiler maps to SSE / AVX / NEON registers
//   anything else, or ADVX_KERNELS_SCALAR      a struct of 4 floats and plain loops
//
// so the native Catch2 suite runs the very algorithm the browser runs (tiles, tails, strides).
//
// Only what the kernels need: unaligned load / store, splat, add, mul and a horizontal sum in a
// fixed order. There is deliberately no fused multiply-add: WebAssembly SIMD 128 has none (FMA is
// in the relaxed-SIMD proposal, which Emscripten 3.1.6 does not target), and gemm.cpp is compiled
// without floating-point contraction, so a native run does the same float operations in the same
// order as the wasm run.
#pragma once
#include <cstring>

#if defined(__wasm_simd128__) && !defined(ADVX_KERNELS_SCALAR)
#include <wasm_simd128.h>
#define ADVX_VEC4_IMPL "wasm_simd128"

namespace advx::kernels::v4 {

using f32x4 = v128_t;

inline f32x4 load(const float* p) {
  return wasm_v128_load(p);
}
inline void store(float* p, f32x4 v) {
  wasm_v128_store(p, v);
}
inline f32x4 splat(float x) {
  return wasm_f32x4_splat(x);
}
inline f32x4 zero() {
  return wasm_f32x4_splat(0.0f);
}
inline f32x4 add(f32x4 a, f32x4 b) {
  return wasm_f32x4_add(a, b);
}
inline f32x4 mul(f32x4 a, f32x4 b) {
  return wasm_f32x4_mul(a, b);
}
// (v0 + v2) + (v1 + v3)
inline float hsum(f32x4 v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 2)) +
         (wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 3));
}

}  // namespace advx::kernels::v4

#elif (defined(__GNUC__) || defined(__clang__)) && !defined(ADVX_KERNELS_SCALAR)
#define ADVX_VEC4_IMPL "vector extensions"

namespace advx::kernels::v4 {

typedef float f32x4 __attribute__((vector_size(16)));

inline f32x4 load(const float* p) {
  f32x4 v;
  std::memcpy(&v, p, sizeof v);  // unaligned load (movups)
  return v;
}
inline void store(float* p, f32x4 v) {
  std::memcpy(p, &v, sizeof v);
}
inline f32x4 splat(float x) {
  return f32x4{x, x, x, x};
}
inline f32x4 zero() {
  return f32x4{0.0f, 0.0f, 0.0f, 0.0f};
}
inline f32x4 add(f32x4 a, f32x4 b) {
  return a + b;
}
inline f32x4 mul(f32x4 a, f32x4 b) {
  return a * b;
}
inline float hsum(f32x4 v) {
  return (v[0] + v[2]) + (v[1] + v[3]);
}

}  // namespace advx::kernels::v4

#else
#define ADVX_VEC4_IMPL "scalar"

namespace advx::kernels::v4 {

struct f32x4 {
  float v[4];
};

inline f32x4 load(const float* p) {
  f32x4 r;
  std::memcpy(r.v, p, sizeof r.v);
  return r;
}
inline void store(float* p, f32x4 a) {
  std::memcpy(p, a.v, sizeof a.v);
}
inline f32x4 splat(float x) {
  return f32x4{{x, x, x, x}};
}
inline f32x4 zero() {
  return splat(0.0f);
}
inline f32x4 add(f32x4 a, f32x4 b) {
  for (int i = 0; i < 4; ++i) a.v[i] += b.v[i];
  return a;
}
inline f32x4 mul(f32x4 a, f32x4 b) {
  for (int i = 0; i < 4; ++i) a.v[i] *= b.v[i];
  return a;
}
inline float hsum(f32x4 a) {
  return (a.v[0] + a.v[2]) + (a.v[1] + a.v[3]);
}

}  // namespace advx::kernels::v4

#endif
