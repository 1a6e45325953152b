#include "engine/io/gzip.h"

#include <stb_image.h>

#include <climits>
#include <new>

#include "engine/error.h"
#include "engine/io/zip.h"  // crc32

namespace advx {
namespace {

std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}

}  // namespace

std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& in, const std::string& source) {
  if (in.size() < 2 || in[0] != 0x1f || in[1] != 0x8b) return in;
  const std::string where = "'" + source + "'";
  ADVX_REQUIRE(in.size() >= 18 && in[2] == 8, where + " is not a valid gzip file (bad header or truncated)");
  ADVX_REQUIRE(in.size() <= static_cast<std::size_t>(INT_MAX), where + " is over 2 GB, more than advx inflates");
  const std::uint8_t flags = in[3];
  std::size_t p = 10;
  if (flags & 4) {  // FEXTRA
    ADVX_REQUIRE(p + 2 <= in.size(), where + ": truncated gzip header");
    p += 2 + static_cast<std::size_t>(in[p] | (in[p + 1] << 8));
  }
  for (std::uint8_t bit : {std::uint8_t{8}, std::uint8_t{16}})  // FNAME, FCOMMENT: zero-terminated
    if (flags & bit) {
      while (p < in.size() && in[p] != 0) ++p;
      ++p;
    }
  if (flags & 2) p += 2;  // FHCRC
  ADVX_REQUIRE(p + 8 <= in.size(), where + ": truncated gzip file");
  const std::uint32_t crc = le32(in.data() + in.size() - 8), isize = le32(in.data() + in.size() - 4);
  const std::size_t deflated = in.size() - p - 8;
  ADVX_REQUIRE(isize <= kMaxGunzipBytes, where + ": its gzip trailer gives an uncompressed size of " +
                                             std::to_string(isize) + " bytes, more than the " +
                                             std::to_string(kMaxGunzipBytes) + " advx inflates: not a file advx reads");
  ADVX_REQUIRE(isize <= 1032 * static_cast<std::uint64_t>(deflated),
               where + ": its gzip trailer claims " + std::to_string(isize) + " bytes from " +
                   std::to_string(deflated) + " compressed bytes, more than deflate can produce: truncated or corrupt");
  std::vector<std::uint8_t> out;
  try {
    out.resize(isize);
  } catch (const std::bad_alloc&) {
    throw Error(where + ": no memory for its " + std::to_string(isize) + " uncompressed bytes");
  }
  char none = 0;  // an empty file's output buffer: stb may copy 0 bytes to it, and null is not allowed there
  char* dst = isize ? reinterpret_cast<char*>(out.data()) : &none;
  // The length includes the 8-byte trailer: stb's bit reader may look ahead past the last block.
  const int got = stbi_zlib_decode_noheader_buffer(
      dst, static_cast<int>(isize), reinterpret_cast<const char*>(in.data() + p), static_cast<int>(in.size() - p));
  // stb's zlib decoder does not always set a failure reason (null then).
  const char* why = got < 0 ? stbi_failure_reason() : nullptr;
  ADVX_REQUIRE(got >= 0, where + ": gzip data is corrupt or longer than its trailer says (inflate: " +
                             std::string(why ? why : "bad deflate stream") + "); re-copy the file");
  ADVX_REQUIRE(static_cast<std::uint32_t>(got) == isize, where + ": decompressed size " + std::to_string(got) +
                                                             " does not match the gzip trailer (" +
                                                             std::to_string(isize) + "): truncated or corrupt");
  ADVX_REQUIRE(crc32(out.data(), out.size()) == crc,
               where + ": the decompressed data fails the gzip CRC-32 check: the file is corrupt; re-copy it");
  return out;
}

}  // namespace advx
