// C = op(A) op(B) through Eigen's kernels, compiled in one translation unit for the whole engine.
//
// Why not an Eigen product expression at each call site: every translation unit with one compiled
// its own copy of Eigen's GEMM kernels (packing, blocking, the register micro-kernel), 10-40 s per
// file under ASan + UBSan and 5-10 s at -O3, in eight files (Linear, Conv2d, the recurrent layers,
// k-NN, MMD, the sequence attacks, the CLI's benchmark; MMD's double-precision Gram matrix is a plain
// loop now). Here they are compiled once. The products are the same Eigen products (same kernels,
// same blocking, same runtime choice of GEMV or coefficient-wise product for small sizes), so
// results are unchanged.
//
// Operands are row-major with contiguous rows (any row stride): N(m) is the matrix m, T(m) its
// transpose. m is anything with data(), rows(), cols(), outerStride() and a row-major layout: a
// Tensor's mat(), a middleRows/middleCols block of it, a Map. Single-threaded (EIGEN_DONT_PARALLELIZE);
// the callers split rows over threads themselves.
//
//   kernels::matmul(N(x), T(w), z);          // z = x w^T
//   kernels::matmul(T(dy), N(x), dw, true);  // dw += dy^T x
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <type_traits>

namespace advx::kernels {

template <class S>
struct MatView {
  const S* data;
  std::int64_t rows, cols;  // of the stored (row-major) matrix
  std::int64_t ld;          // its row stride
  bool transposed;          // the operand is the stored matrix's transpose
};

template <class M>
constexpr void check_layout() {
  using D = std::decay_t<M>;
  static_assert(D::IsRowMajor, "kernels::matmul takes row-major operands");
  static_assert(D::InnerStrideAtCompileTime == 1, "kernels::matmul takes operands with contiguous rows");
}

template <class M>
MatView<typename std::decay_t<M>::Scalar> N(const M& m) {
  check_layout<M>();
  return {m.data(), m.rows(), m.cols(), m.outerStride(), false};
}
template <class M>
MatView<typename std::decay_t<M>::Scalar> T(const M& m) {
  check_layout<M>();
  return {m.data(), m.rows(), m.cols(), m.outerStride(), true};
}

// C[m, n] = op(A)[m, k] op(B)[k, n], or C += ... when accumulate. Throws advx::Error on mismatched
// shapes; C must not overlap A or B. Float only (one instantiation is the point).
void matmul(MatView<float> a, MatView<float> b, float* c, std::int64_t c_rows, std::int64_t c_cols, std::int64_t ldc,
            bool accumulate);

template <class S, class M>
void matmul(MatView<S> a, MatView<S> b, M&& c, bool accumulate = false) {
  check_layout<M>();
  static_assert(std::is_same<typename std::decay_t<M>::Scalar, S>::value, "one scalar type per product");
  matmul(a, b, c.data(), c.rows(), c.cols(), c.outerStride(), accumulate);
}

}  // namespace advx::kernels
