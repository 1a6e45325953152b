#include "engine/io/model_io.h"

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/safetensors.h"
#include "engine/models.h"

namespace advx {

void save_model(Sequential& m, const std::string& path, const std::map<std::string, std::string>& metadata) {
  TensorFile f;
  f.metadata = metadata;
  f.metadata["advx.arch"] = m.arch;
  f.metadata["format"] = "pt";  // what safetensors.torch writes; tells loaders these are PyTorch tensors
  for (const Param& p : m.params()) f.tensors[p.name] = *p.value;
  safetensors_save(f, path);
}

Sequential load_model_bytes(const std::vector<std::uint8_t>& bytes, const std::string& source,
                            std::map<std::string, std::string>* metadata) {
  TensorFile f = safetensors_decode(bytes, source);
  auto arch = f.metadata.find("advx.arch");
  ADVX_REQUIRE(arch != f.metadata.end(), "weights file '" + source +
                                             "' has no 'advx.arch' metadata, so advx cannot tell which architecture "
                                             "it is; save it with advx (or add __metadata__ {\"advx.arch\": \"cnn\"})");
  Sequential m = make_model(arch->second, 0, false);
  for (const Param& p : m.params()) {
    auto it = f.tensors.find(p.name);
    ADVX_REQUIRE(it != f.tensors.end(), "weights file '" + source + "' lacks tensor '" + p.name + "' needed by the '" +
                                            m.arch + "' architecture");
    ADVX_REQUIRE(it->second.shape == p.value->shape, "weights file '" + source + "': tensor '" + p.name +
                                                         "' has shape " + shape_str(it->second.shape) + " but '" +
                                                         m.arch + "' needs " + shape_str(p.value->shape));
    p.value->data = it->second.data;
    f.tensors.erase(it);
  }
  ADVX_REQUIRE(f.tensors.empty(), "weights file '" + source + "' has tensor '" +
                                      (f.tensors.empty() ? "" : f.tensors.begin()->first) + "' that the '" + m.arch +
                                      "' architecture does not use (wrong architecture in metadata?)");
  if (metadata) *metadata = f.metadata;
  return m;
}

Sequential load_model(const std::string& path, std::map<std::string, std::string>* metadata) {
  return load_model_bytes(read_file(path), path, metadata);
}

}  // namespace advx
