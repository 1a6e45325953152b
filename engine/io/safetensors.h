// The safetensors format (Hugging Face): 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw little-endian data. We read and write F32 only, and check everything on read.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace advx {

struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

std::vector<std::uint8_t> safetensors_encode(const TensorFile& f);
// `source` names the file in error messages.
TensorFile safetensors_decode(const std::vector<std::uint8_t>& bytes, const std::string& source);
void safetensors_save(const TensorFile& f, const std::string& path);
TensorFile safetensors_load(const std::string& path);

}  // namespace advx
