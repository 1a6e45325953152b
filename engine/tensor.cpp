#include "engine/tensor.h"

#include <algorithm>

#include "engine/error.h"

namespace advx {

std::int64_t shape_size(const Shape& s) {
  std::int64_t n = 1;
  for (int d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Tensor::Tensor(Shape s, float fill_value) : shape(std::move(s)) {
  for (int d : shape) ADVX_REQUIRE(d >= 0, "tensor shape " + shape_str(shape) + " has a negative dimension");
  data.assign(static_cast<size_t>(shape_size(shape)), fill_value);
}

void Tensor::resize(const Shape& s) {
  shape = s;
  data.resize(static_cast<size_t>(shape_size(s)));
}

void Tensor::fill(float v) {
  std::fill(data.begin(), data.end(), v);
}

std::int64_t Tensor::sample_size() const {
  if (shape.empty()) return 0;
  std::int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

Tensor Tensor::slice(int begin, int count) const {
  ADVX_REQUIRE(!shape.empty() && begin >= 0 && count >= 0 && begin + count <= shape[0],
               "slice [" + std::to_string(begin) + ", " + std::to_string(begin + count) + ") out of range for " +
                   shape_str(shape));
  Shape s = shape;
  s[0] = count;
  Tensor out;
  out.shape = s;
  const std::int64_t per = sample_size();
  out.data.assign(ptr() + begin * per, ptr() + (begin + count) * per);
  return out;
}

}  // namespace advx
