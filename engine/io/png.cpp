#include "engine/io/png.h"

#include <stb_image.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "engine/io/zip.h"  // crc32

namespace advx {
namespace {

constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
// Deflate writes at most 1032 bytes per input byte: a 258-byte match coded in 2 bits.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
constexpr std::uint32_t kMaxChunk = 0x7FFFFFFFu;  // the spec's largest chunk length

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

bool is_letter(std::uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int samples_per_pixel(int color) {
  switch (color) {
    case 2:
      return 3;
    case 4:
      return 2;
    case 6:
      return 4;
    default:
      return 1;  // 0 grey, 3 palette index
  }
}

// The bit depths the spec allows for each colour type (table 11.1).
bool valid_depth(int color, int depth) {
  const bool low = depth == 1 || depth == 2 || depth == 4;
  switch (color) {
    case 0:
      return low || depth == 8 || depth == 16;
    case 3:
      return low || depth == 8;
    case 2:
    case 4:
    case 6:
      return depth == 8 || depth == 16;
    default:
      return false;
  }
}

// Bytes of the inflated pixel data: each row of each pass is a filter byte plus its packed samples.
std::uint64_t raw_size(const PngInfo& p) {
  const std::uint64_t bits =
      static_cast<std::uint64_t>(samples_per_pixel(p.color)) * static_cast<std::uint64_t>(p.depth);
  auto pass = [bits](std::uint64_t w, std::uint64_t h) { return w == 0 || h == 0 ? 0 : h * (1 + (w * bits + 7) / 8); };
  const auto w = static_cast<std::uint64_t>(p.width), h = static_cast<std::uint64_t>(p.height);
  if (!p.interlaced) return pass(w, h);
  // Adam7: pass k holds the pixels x = x0 + i * dx, y = y0 + j * dy.
  static const std::uint64_t x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1};
  static const std::uint64_t dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
  std::uint64_t total = 0;
  for (int k = 0; k < 7; ++k)
    total += pass(w > x0[k] ? (w - x0[k] + dx[k] - 1) / dx[k] : 0, h > y0[k] ? (h - y0[k] + dy[k] - 1) / dy[k] : 0);
  return total;
}

// " (4096 x 4096)" for a square number of pixels, else "".
std::string square(std::int64_t pixels) {
  const auto side = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(pixels))));
  return side * side == pixels ? " (" + std::to_string(side) + " x " + std::to_string(side) + ")" : "";
}

}  // namespace

bool is_png(const std::uint8_t* data, std::size_t n) {
  return n >= 8 && std::memcmp(data, kSignature, 8) == 0;
}

PngInfo png_check(const std::uint8_t* d, std::size_t n, std::int64_t max_pixels, const std::string& where) {
  ADVX_REQUIRE(is_png(d, n), where + " is not a PNG: it does not start with the PNG signature");
  PngInfo info;
  std::vector<std::uint8_t> idat;  // the zlib stream, split over the IDAT chunks
  bool ihdr = false, plte = false, iend = false;
  int idat_run = 0;  // 0 before the IDAT chunks, 1 inside them, 2 after them
  std::size_t pos = 8;
  while (pos < n) {
    const std::string at = " at byte " + std::to_string(pos);
    ADVX_REQUIRE(!iend, where + ": " + std::to_string(n - pos) +
                            " bytes follow its IEND chunk (two files in one?): save it again as one PNG");
    ADVX_REQUIRE(n - pos >= 12, where + ": the file is truncated (a chunk header is cut short" + at + ")");
    const std::uint8_t* type = d + pos + 4;
    ADVX_REQUIRE(is_letter(type[0]) && is_letter(type[1]) && is_letter(type[2]) && is_letter(type[3]),
                 where + ": no valid chunk" + at + ": the file is corrupt");
    const std::string name(reinterpret_cast<const char*>(type), 4);
    const std::uint32_t len = be32(d + pos);
    ADVX_REQUIRE(len <= kMaxChunk && len <= n - pos - 12, where + ": chunk " + name + at + " claims " +
                                                              std::to_string(len) +
                                                              " bytes but the file ends first: truncated or corrupt");
    const std::uint8_t* data = type + 4;
    ADVX_REQUIRE(crc32(type, len + 4) == be32(data + len),
                 where + ": chunk " + name + at + " fails its CRC-32 check: the file is corrupt");
    ADVX_REQUIRE(ihdr || name == "IHDR", where + ": its first chunk is " + name + ", not IHDR" +
                                             (name == "CgBI" ? " (an Apple-optimised PNG: save it as a standard PNG)"
                                                             : ": the file is corrupt"));
    if (name == "IHDR") {
      ADVX_REQUIRE(!ihdr && len == 13, where + ": a second or malformed IHDR chunk: the file is corrupt");
      const std::uint32_t w = be32(data), h = be32(data + 4);
      info.depth = data[8];
      info.color = data[9];
      info.interlaced = data[12] == 1;
      ADVX_REQUIRE(w >= 1 && h >= 1 && w <= kMaxChunk && h <= kMaxChunk,
                   where + ": its header gives the size " + std::to_string(w) + "x" + std::to_string(h));
      ADVX_REQUIRE(valid_depth(info.color, info.depth), where + ": bit depth " + std::to_string(info.depth) +
                                                            " with colour type " + std::to_string(info.color) +
                                                            " is not a valid PNG");
      ADVX_REQUIRE(data[10] == 0 && data[11] == 0 && data[12] <= 1,
                   where + ": unknown compression, filter or interlace method: not a standard PNG");
      ADVX_REQUIRE(static_cast<std::uint64_t>(w) * h <= static_cast<std::uint64_t>(max_pixels),
                   where + " is " + std::to_string(w) + "x" + std::to_string(h) + ", more than the " +
                       std::to_string(max_pixels) + " pixels" + square(max_pixels) +
                       " advx reads: scale it down first");
      info.width = static_cast<int>(w);
      info.height = static_cast<int>(h);
      ihdr = true;
    } else if (name == "PLTE") {
      ADVX_REQUIRE(!plte && idat_run == 0 && len >= 3 && len <= 768 && len % 3 == 0,
                   where + ": a misplaced or malformed PLTE chunk: the file is corrupt");
      plte = true;
    } else if (name == "IDAT") {
      ADVX_REQUIRE(idat_run != 2, where + ": its IDAT chunks are not consecutive: the file is corrupt");
      ADVX_REQUIRE(info.color != 3 || plte, where + ": a palette image without a palette (PLTE): the file is corrupt");
      idat_run = 1;
      idat.insert(idat.end(), data, data + len);
    } else if (name == "IEND") {
      ADVX_REQUIRE(len == 0, where + ": a malformed IEND chunk: the file is corrupt");
      iend = true;
    } else {
      // Bit 5 of the first letter clear (upper case): a decoder must understand the chunk.
      ADVX_REQUIRE((type[0] & 0x20) != 0,
                   where + ": it has a critical chunk " + name + " that is not standard PNG: save it as a plain PNG");
    }
    if (idat_run == 1 && name != "IDAT") idat_run = 2;
    pos += 12 + static_cast<std::size_t>(len);
  }
  ADVX_REQUIRE(iend, where + ": no IEND chunk at the end: the file is truncated");
  ADVX_REQUIRE(idat_run != 0, where + ": it has no image data (IDAT chunk)");
  info.raw_bytes = raw_size(info);
  const std::string size = std::to_string(info.width) + "x" + std::to_string(info.height);
  ADVX_REQUIRE(info.raw_bytes <= kMaxDeflateRatio * idat.size(),
               where + ": " + std::to_string(idat.size()) + " bytes of compressed pixels cannot hold the " + size +
                   " image its header declares: truncated or corrupt");
  ADVX_REQUIRE(
      info.raw_bytes <= static_cast<std::uint64_t>(INT_MAX) && idat.size() <= static_cast<std::size_t>(INT_MAX),
      where + ": too large");
  // Inflate into exactly the bytes the header implies: anything more is an error, not a bigger buffer.
  std::vector<char> raw(static_cast<std::size_t>(info.raw_bytes));
  const int got = stbi_zlib_decode_buffer(raw.data(), static_cast<int>(raw.size()),
                                          reinterpret_cast<const char*>(idat.data()), static_cast<int>(idat.size()));
  ADVX_REQUIRE(got >= 0, where + ": its compressed pixels are corrupt or more than the " + size + " image holds (" +
                             std::string(stbi_failure_reason() ? stbi_failure_reason() : "bad deflate stream") + ")");
  ADVX_REQUIRE(static_cast<std::uint64_t>(got) == info.raw_bytes,
               where + ": its pixels end after " + std::to_string(got) + " of " + std::to_string(info.raw_bytes) +
                   " bytes: truncated or corrupt");
  return info;
}

}  // namespace advx
