// zip_stored_members: the end record, the central directory, every local header and CRC-32. Every
// member it returns must lie inside the archive: reading all of its bytes must be in bounds (ASan).
#include "engine/io/zip.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes = advx::fuzz::bytes_of(data, size);
  advx::fuzz::refused_or_ok([&] {
    for (const advx::ZipMember& m : advx::zip_stored_members(bytes, "fuzz"))
      if (m.offset + m.size > bytes.size() || advx::crc32(bytes.data() + m.offset, m.size) != m.crc32) __builtin_trap();
  });
  return 0;
}
