#include "engine/io/gzip.h"

#include <stb_image.h>

#include <cstdlib>
#include <cstring>

#include "engine/error.h"

namespace advx {

std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& in, const std::string& source) {
  if (in.size() < 2 || in[0] != 0x1f || in[1] != 0x8b) return in;
  const std::string where = "'" + source + "'";
  ADVX_REQUIRE(in.size() >= 18 && in[2] == 8, where + " is not a valid gzip file (bad header or truncated)");
  const std::uint8_t flags = in[3];
  std::size_t p = 10;
  if (flags & 4) {  // FEXTRA
    ADVX_REQUIRE(p + 2 <= in.size(), where + ": truncated gzip header");
    p += 2 + (in[p] | (in[p + 1] << 8));
  }
  for (std::uint8_t bit : {std::uint8_t{8}, std::uint8_t{16}})  // FNAME, FCOMMENT: zero-terminated
    if (flags & bit) {
      while (p < in.size() && in[p] != 0) ++p;
      ++p;
    }
  if (flags & 2) p += 2;  // FHCRC
  ADVX_REQUIRE(p + 8 <= in.size(), where + ": truncated gzip file");
  const std::size_t isize = in[in.size() - 4] | (in[in.size() - 3] << 8) | (in[in.size() - 2] << 16) |
                            (static_cast<std::size_t>(in[in.size() - 1]) << 24);
  int out_len = 0;
  // The length includes the 8-byte trailer: stb's bit reader may look ahead past the last block.
  char* out = stbi_zlib_decode_noheader_malloc(reinterpret_cast<const char*>(in.data() + p),
                                               static_cast<int>(in.size() - p), &out_len);
  ADVX_REQUIRE(out != nullptr, where + ": gzip data is corrupt (inflate failed); re-copy the file");
  std::vector<std::uint8_t> result(reinterpret_cast<std::uint8_t*>(out),
                                   reinterpret_cast<std::uint8_t*>(out) + out_len);
  std::free(out);
  ADVX_REQUIRE(static_cast<std::size_t>(out_len) % (1ULL << 32) == isize,
               where + ": decompressed size " + std::to_string(out_len) + " does not match the gzip trailer (" +
                   std::to_string(isize) + "): truncated or corrupt");
  return result;
}

}  // namespace advx
