// Tensor: a shape and a flat float buffer, row-major (PyTorch's contiguous layout, batch first).
// Deliberately plain (ggml style): math is done through Eigen maps over `data`.
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

namespace advx {

using Shape = std::vector<int>;

// Row-major Eigen views over a Tensor's storage.
using MatR = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapR = Eigen::Map<MatR>;
using CMapR = Eigen::Map<const MatR>;

std::int64_t shape_size(const Shape& s);
std::string shape_str(const Shape& s);  // "[64, 1, 28, 28]"

// Storage aligned to EIGEN_MAX_ALIGN_BYTES (the widest vector Eigen uses: 16 bytes in wasm, 32
// with AVX, 64 with AVX-512) wherever the heap puts it. Not for speed alone: Eigen peels its vector
// loops by the start address, so with plain malloc alignment the same product could sum in another
// order and training or an attack give other bits depending on the heap layout (seen: `advx train`
// run from another working directory ended at another test accuracy). tests/unit/test_train.cpp.
using FloatVec = std::vector<float, Eigen::aligned_allocator<float>>;

struct Tensor {
  Shape shape;
  FloatVec data;

  Tensor() = default;
  explicit Tensor(Shape s, float fill = 0.0f);

  std::int64_t size() const { return static_cast<std::int64_t>(data.size()); }
  int dim(int i) const { return shape.at(static_cast<size_t>(i)); }
  int rank() const { return static_cast<int>(shape.size()); }
  // Reshape in place; keeps capacity so a steady-state loop does not allocate.
  void resize(const Shape& s);
  void fill(float v);
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  // Rows [begin, begin+count) of the first (batch) dimension, copied.
  Tensor slice(int begin, int count) const;
  // Per-sample size (all dims but the first).
  std::int64_t sample_size() const;
  // View as a [shape[0], sample_size] row-major matrix.
  MapR mat() { return {data.data(), shape.empty() ? 0 : shape[0], static_cast<Eigen::Index>(sample_size())}; }
  CMapR mat() const { return {data.data(), shape.empty() ? 0 : shape[0], static_cast<Eigen::Index>(sample_size())}; }
};

}  // namespace advx
