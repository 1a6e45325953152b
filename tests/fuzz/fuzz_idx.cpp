// idx_decode: magic, element type, dimensions (their product in saturating arithmetic), data size.
#include "engine/io/idx.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  advx::fuzz::refused_or_ok([&] {
    const advx::IdxArray a = advx::idx_decode(advx::fuzz::bytes_of(data, size), "fuzz");
    std::uint64_t count = 1;
    for (int d : a.dims) count *= static_cast<std::uint64_t>(d);
    if (count != (a.type == 0x08 ? a.u8.size() : a.f32.size())) __builtin_trap();
  });
  return 0;
}
