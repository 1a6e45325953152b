// Small shared helpers for the Catch2 tests.
#pragma once
#include <cstdint>
#include <string>

#include "engine/rng.h"
#include "engine/tensor.h"

namespace advx::test {

// n random images [n, 1, 28, 28], pixels uniform in [0, 1].
inline Tensor random_images(int n, std::uint64_t seed) {
  Rng rng(seed);
  Tensor t({n, 1, 28, 28});
  for (float& v : t.data) v = rng.uniform();
  return t;
}

// [n, sample...]: a batch of n inputs for a model whose per-sample shape is `sample` (m.input_shape).
inline Shape with_batch(int n, const Shape& sample) {
  Shape s = {n};
  s.insert(s.end(), sample.begin(), sample.end());
  return s;
}

// A fresh path under the build's temporary folder.
inline std::string temp_path(const std::string& name) {
  return std::string("/tmp/advx_test_") + name;
}

}  // namespace advx::test
