// IDX files (LeCun's MNIST format): magic 0x0000 <type> <ndims>, big-endian int32 dims, then data.
// Types read: 0x08 unsigned byte, 0x0D float32 (big-endian, as the format specifies).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace advx {

struct IdxArray {
  int type = 0;  // 0x08 or 0x0D
  Shape dims;
  std::vector<std::uint8_t> u8;  // type 0x08
  std::vector<float> f32;        // type 0x0D
};

IdxArray idx_decode(const std::vector<std::uint8_t>& bytes, const std::string& source);
// float32 IDX (type 0x0D) of the tensor's shape; e.g. N x 28 x 28 adversarial images.
std::vector<std::uint8_t> idx_encode_f32(const Tensor& t);

}  // namespace advx
