// Saving and loading models as safetensors with PyTorch's names and layouts, so the same file
// loads with `model.load_state_dict(safetensors.torch.load_file(path))` on the matching
// nn.Sequential (see tests/reference/arch.py).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/model.h"

namespace advx {

// metadata is stored in the safetensors "__metadata__" map; "advx.arch" is always written.
void save_model(Sequential& m, const std::string& path, const std::map<std::string, std::string>& metadata = {});
// Builds the architecture named in the file's metadata and loads its weights. Throws advx::Error
// with the file name and what is wrong (truncated, bad header, dtype, missing/extra/mis-shaped tensor).
Sequential load_model(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);
Sequential load_model_bytes(const std::vector<std::uint8_t>& bytes, const std::string& source_name,
                            std::map<std::string, std::string>* metadata = nullptr);

}  // namespace advx
