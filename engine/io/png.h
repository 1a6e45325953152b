// The PNG container, checked before any decoder sees the bytes (PNG spec, ISO/IEC 15948:2004 / W3C
// PNG 2nd edition, sections 5 and 11):
//
//   89 50 4E 47 0D 0A 1A 0A | IHDR | (PLTE) ... | IDAT ... IDAT | ... | IEND
//   chunk: length (4 B, big-endian, < 2^31) | type (4 ASCII letters) | data | CRC-32 of type + data
//   IHDR data (13 B): width, height (4 B each), bit depth, colour type, compression 0, filter 0,
//                     interlace 0 (none) or 1 (Adam7)
//
// stb_image (engine/io/stb_impl.cpp) decodes what passes; it checks none of the CRCs, allocates an
// IDAT chunk's declared length before reading it, and inflates into a buffer that grows without
// bound. So png_check refuses, before anything is allocated from a declared size:
//  - a chunk running past the end of the file, a CRC mismatch, bytes after IEND, IHDR not first,
//    a critical chunk other than IHDR, PLTE, IDAT, IEND (Apple's CgBI variant included), IDATs not
//    consecutive, a palette image without PLTE;
//  - an IHDR outside the spec (depth/colour combination, compression, filter, interlace, size 0);
//  - more than max_pixels pixels (the caller's limit: engine/io/image.h kMaxImagePixels);
//  - pixel data that does not inflate to exactly the bytes the header implies: raw_bytes =
//    sum over passes of rows * (1 filter byte + ceil(width * bits per pixel / 8)). The stream is
//    inflated into a buffer of exactly raw_bytes (a deflate bomb stops there), and raw_bytes itself
//    may not exceed what deflate can produce from the IDAT bytes (1032 bytes per input byte, its
//    maximum ratio), so a short file cannot make us allocate for a large claimed image.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace advx {

struct PngInfo {
  int width = 0, height = 0;
  int depth = 0;                // bits per sample: 1, 2, 4, 8, 16
  int color = 0;                // 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA
  bool interlaced = false;      // Adam7
  std::uint64_t raw_bytes = 0;  // inflated IDAT size (filter bytes included)
};

// True if the bytes start with the 8-byte PNG signature.
bool is_png(const std::uint8_t* data, std::size_t n);
// Throws advx::Error saying what is wrong (see above), its message starting with `where` (e.g.
// "image 'digit.png'").
PngInfo png_check(const std::uint8_t* data, std::size_t n, std::int64_t max_pixels, const std::string& where);

}  // namespace advx
