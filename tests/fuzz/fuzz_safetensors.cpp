// safetensors_decode (the header's JSON, shapes, offsets, tiling, finite values) and
// load_model_bytes (the architecture named in the metadata, every tensor's name and shape).
#include "engine/io/model_io.h"
#include "engine/io/safetensors.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes = advx::fuzz::bytes_of(data, size);
  advx::fuzz::refused_or_ok([&] {
    const advx::TensorFile f = advx::safetensors_decode(bytes, "fuzz");
    // What decoded must encode and decode to the same tensors.
    const advx::TensorFile back = advx::safetensors_decode(advx::safetensors_encode(f), "fuzz-roundtrip");
    if (back.tensors.size() != f.tensors.size() || back.metadata != f.metadata) __builtin_trap();
  });
  advx::fuzz::refused_or_ok([&] {
    std::map<std::string, std::string> meta;
    advx::load_model_bytes(bytes, "fuzz", &meta);
  });
  return 0;
}
