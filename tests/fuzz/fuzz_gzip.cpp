// gunzip: the gzip header's optional fields, the trailer's size (bounded) and CRC-32, stb's inflater
// writing into a buffer of exactly that size.
#include "engine/io/gzip.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  advx::fuzz::refused_or_ok([&] { advx::gunzip(advx::fuzz::bytes_of(data, size), "fuzz"); });
  return 0;
}
