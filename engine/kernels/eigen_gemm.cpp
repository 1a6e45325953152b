// The engine's one instantiation of Eigen's matrix product (why: eigen_gemm.h).
#include "engine/kernels/eigen_gemm.h"

#include <string>

#include "engine/error.h"

namespace advx::kernels {
namespace {

template <class S>
using Stored =
    Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>>;

template <class S>
Stored<S> stored(const MatView<S>& v) {
  return {v.data, static_cast<Eigen::Index>(v.rows), static_cast<Eigen::Index>(v.cols), Eigen::OuterStride<>(v.ld)};
}

template <class S>
std::int64_t op_rows(const MatView<S>& v) {
  return v.transposed ? v.cols : v.rows;
}
template <class S>
std::int64_t op_cols(const MatView<S>& v) {
  return v.transposed ? v.rows : v.cols;
}

template <class S, class A, class B, class C>
void product(const A& a, const B& b, C& c, bool accumulate) {
  if (accumulate)
    c.noalias() += a * b;
  else
    c.noalias() = a * b;
}

template <class S>
void matmul_impl(MatView<S> a, MatView<S> b, S* c, std::int64_t c_rows, std::int64_t c_cols, std::int64_t ldc,
                 bool accumulate) {
  if (op_cols(a) != op_rows(b) || op_rows(a) != c_rows || op_cols(b) != c_cols)
    throw Error("kernels::matmul: shapes do not match: [" + std::to_string(op_rows(a)) + " x " +
                std::to_string(op_cols(a)) + "] times [" + std::to_string(op_rows(b)) + " x " +
                std::to_string(op_cols(b)) + "] into [" + std::to_string(c_rows) + " x " + std::to_string(c_cols) +
                "] (an engine bug)");
  Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>> cm(
      c, static_cast<Eigen::Index>(c_rows), static_cast<Eigen::Index>(c_cols), Eigen::OuterStride<>(ldc));
  const Stored<S> am = stored(a), bm = stored(b);
  if (!a.transposed && !b.transposed)
    product<S>(am, bm, cm, accumulate);
  else if (!a.transposed)
    product<S>(am, bm.transpose(), cm, accumulate);
  else if (!b.transposed)
    product<S>(am.transpose(), bm, cm, accumulate);
  else
    product<S>(am.transpose(), bm.transpose(), cm, accumulate);
}

}  // namespace

void matmul(MatView<float> a, MatView<float> b, float* c, std::int64_t c_rows, std::int64_t c_cols, std::int64_t ldc,
            bool accumulate) {
  matmul_impl(a, b, c, c_rows, c_cols, ldc, accumulate);
}

}  // namespace advx::kernels
