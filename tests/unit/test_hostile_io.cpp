// Hostile input to the decoders (issue 11): user images are PNG only and checked before stb
// allocates anything, rejected images leak nothing, sizes cannot wrap, JSON is strict, gzip trusts
// neither its trailer nor its stream, files behave (pipes, /proc, folders, failed writes), and
// resizing keeps thin strokes. Each case failed before its fix (see the commit that added it).
#include <malloc.h>
#include <signal.h>
#include <stb_image.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/gzip.h"
#include "engine/io/idx.h"
#include "engine/io/image.h"
#include "engine/io/safetensors.h"
#include "engine/io/zip.h"
#include "tests/unit/helpers.h"

// stb_image_write's deflate (compiled in engine/io/stb_impl.cpp), for building test files.
extern "C" unsigned char* stbi_zlib_compress(unsigned char* data, int data_len, int* out_len, int quality);

using namespace advx;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes str_bytes(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

void put_be32(Bytes& o, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) o.push_back(static_cast<std::uint8_t>(v >> s));
}

Bytes zlib_compress(const Bytes& raw) {
  int n = 0;
  unsigned char* z = stbi_zlib_compress(const_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()), &n, 8);
  REQUIRE(z != nullptr);
  Bytes out(z, z + n);
  std::free(z);
  return out;
}

Bytes png_chunk(const std::string& type, const Bytes& data) {
  Bytes c;
  put_be32(c, static_cast<std::uint32_t>(data.size()));
  c.insert(c.end(), type.begin(), type.end());
  c.insert(c.end(), data.begin(), data.end());
  put_be32(c, crc32(c.data() + 4, data.size() + 4));
  return c;
}

// A PNG of the given header whose IDAT holds `raw` (filter bytes included) deflated; palette images
// get a 256-entry grey palette.
Bytes png_file(std::uint32_t w, std::uint32_t h, int depth, int color, int interlace, const Bytes& raw) {
  Bytes f = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr.insert(ihdr.end(), {static_cast<std::uint8_t>(depth), static_cast<std::uint8_t>(color), 0, 0,
                           static_cast<std::uint8_t>(interlace)});
  const Bytes c = png_chunk("IHDR", ihdr);
  f.insert(f.end(), c.begin(), c.end());
  if (color == 3) {
    Bytes pal;
    for (int i = 0; i < 256; ++i) pal.insert(pal.end(), 3, static_cast<std::uint8_t>(255 - i));
    const Bytes p = png_chunk("PLTE", pal);
    f.insert(f.end(), p.begin(), p.end());
  }
  for (const Bytes& k : {png_chunk("IDAT", zlib_compress(raw)), png_chunk("IEND", {})})
    f.insert(f.end(), k.begin(), k.end());
  return f;
}

// Rows of an 8-bit image, each prefixed with filter type 0.
Bytes rows(int w, int h, int samples, std::uint8_t (*px)(int x, int y, int s)) {
  Bytes raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);
    for (int x = 0; x < w; ++x)
      for (int s = 0; s < samples; ++s) raw.push_back(px(x, y, s));
  }
  return raw;
}

std::uint8_t ramp(int x, int y, int s) {
  return static_cast<std::uint8_t>(17 * x + 5 * y + 80 * s);
}

// Heap bytes in use (glibc: small chunks plus mmapped ones), to catch a leaked decode buffer.
std::int64_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<std::int64_t>(m.uordblks + m.hblkhd);
}

// A safetensors file with one F32 tensor "w" of shape [1] whose header is `json`.
Bytes safetensors_with(const std::string& json) {
  Bytes b;
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(json.size() >> (8 * i)));
  b.insert(b.end(), json.begin(), json.end());
  b.insert(b.end(), {0, 0, 0x80, 0x3f});  // 1.0f
  return b;
}

}  // namespace

TEST_CASE("user images: PNG only, every other format stb_image knows is refused and compiled out", "[io][hostile]") {
  // Each sample decodes with a stb_image built with all its formats (checked when they were written).
  const std::vector<std::pair<std::string, Bytes>> others = {
      {"PGM", str_bytes(std::string("P5\n2 2\n255\n") + std::string("\x00\x40\x80\xff", 4))},
      {"PPM", str_bytes(std::string("P6\n1 1\n255\n\x0a\x14\x1e"))},
      {"BMP", {0x42, 0x4d, 0x3a, 0,    0, 0, 0, 0, 0,    0, 0x36, 0, 0, 0, 0x28, 0,    0,    0, 1,    0,
               0,    0,    1,    0,    0, 0, 1, 0, 0x18, 0, 0,    0, 0, 0, 4,    0,    0,    0, 0x13, 0x0b,
               0,    0,    0x13, 0x0b, 0, 0, 0, 0, 0,    0, 0,    0, 0, 0, 0x1e, 0x14, 0x0a, 0}},
      {"GIF", {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0x80, 0, 0, 0xff, 0xff, 0xff, 0,   0,
               0,    0x2c, 0,    0,    0,    0,    1, 0, 1, 0, 0,    2, 2, 0x44, 0x01, 0,    0x3b}},
      {"TGA", {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 24, 0, 30, 20, 10}},
      {"HDR", str_bytes(std::string("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 1\n\x80\x40\x20\x81"))},
      {"PSD",
       str_bytes(std::string("8BPS\x00\x01", 6) + std::string(6, '\0') + std::string("\x00\x03\x00\x00\x00\x01", 6) +
                 std::string("\x00\x00\x00\x01\x00\x08\x00\x03", 8) + std::string(14, '\0') + "\x0a\x14\x1e")},
      {"JPEG", {0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xD9}},
  };
  for (const auto& [name, bytes] : others) {
    INFO(name);
    REQUIRE_THROWS_WITH(decode_image(bytes, 1, "x." + name),
                        Catch::Contains("cannot decode image 'x." + name + "': it is not a PNG") &&
                            Catch::Contains("advx reads PNG images only"));
    // The decoder is not even compiled in: stb itself refuses the bytes.
    int w = 0, h = 0, n = 0;
    REQUIRE(stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n, 1) == nullptr);
  }
  REQUIRE_THROWS_WITH(decode_image(others[7].second, 3, "photo.jpg"), Catch::Contains("it looks like a JPEG"));
  // A truncated PNM (header, no pixels) decoded to uninitialised memory, a new prediction each run.
  REQUIRE_THROWS_WITH(decode_image(str_bytes("P5\n28 28\n255\n"), 1, "cut.pgm"),
                      Catch::Contains("it looks like a PNM"));
}

TEST_CASE("rejected images leak nothing: an 18-byte PGM header claiming 10000x7000, imported 20 times",
          "[io][hostile]") {
  const Bytes pgm = str_bytes("P5\n10000 7000\n255\n");
  const Bytes bomb = png_file(16000, 16000, 8, 0, 0, Bytes(16001, 0));
  REQUIRE_THROWS(decode_image(pgm, 1, "warm-up"));
  const std::int64_t before = heap_in_use();
  for (int i = 0; i < 20; ++i) {
    REQUIRE_THROWS_AS(decode_image(pgm, 1, "header.pgm"), Error);
    REQUIRE_THROWS_AS(decode_image(bomb, 1, "bomb.png"), Error);
  }
  // Before the fix each PGM import kept its 70 MB buffer (stb's pixels, never freed on the throw).
  REQUIRE(heap_in_use() - before < (1 << 20));
}

TEST_CASE("decoder bombs are refused from the header, before anything is allocated for them", "[io][hostile]") {
  SECTION("a 69-byte PNG declaring 16000x16000") {
    Bytes b = png_file(16000, 16000, 8, 0, 0, Bytes(2, 0));
    REQUIRE(b.size() < 80);
    REQUIRE_THROWS_WITH(decode_image(b, 1, "bomb.png"),
                        Catch::Contains("is 16000x16000, more than the 16777216 pixels (4096 x 4096) advx reads"));
  }
  SECTION("the limit itself: 4096x4096 is read, 4097x4096 is not") {
    const Bytes ok = png_file(4096, 4096, 1, 0, 0, Bytes(4096 * 513, 0));
    const Tensor t = decode_image(ok, 1, "big.png");
    REQUIRE(t.shape == Shape{1, 4096, 4096});
    REQUIRE_THROWS_WITH(decode_image(png_file(4097, 4096, 1, 0, 0, Bytes(4096 * 514, 0)), 1, "big.png"),
                        Catch::Contains("more than the 16777216 pixels"));
  }
  SECTION("a 35-byte GIF declaring 16383x16383 (a full stb_image holds 2.5 GB decoding it)") {
    const Bytes gif = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0xff, 0x3f, 0xff, 0x3f, 0x80, 0,
                       0,    0xff, 0xff, 0xff, 0,    0,    0,    0x2c, 0,    0,    0,    0,
                       0xff, 0x3f, 0xff, 0x3f, 0,    0x02, 0x02, 0x44, 0x01, 0,    0x3b};
    REQUIRE_THROWS_WITH(decode_image(gif, 1, "bomb.gif"), Catch::Contains("it looks like a GIF"));
  }
  SECTION("a deflate bomb: 1x1 declared, 10 MB of pixels inside") {
    const Bytes b = png_file(1, 1, 8, 0, 0, Bytes(10 << 20, 0));
    REQUIRE(b.size() < 120000);  // stb_image_write deflates zeros about 100:1
    REQUIRE_THROWS_WITH(decode_image(b, 1, "zbomb.png"), Catch::Contains("more than the 1x1 image holds"));
  }
  SECTION("a declared size the compressed bytes cannot hold") {
    REQUIRE_THROWS_WITH(decode_image(png_file(4096, 4096, 16, 6, 0, Bytes(10, 0)), 1, "short.png"),
                        Catch::Contains("cannot hold the 4096x4096 image its header declares"));
  }
  SECTION("an IDAT chunk claiming 2 GB in a tiny file") {
    Bytes b = png_file(8, 8, 8, 0, 0, Bytes(72, 0));
    const std::size_t idat = 8 + 25;
    b[idat] = 0x7f, b[idat + 1] = b[idat + 2] = b[idat + 3] = 0xff;
    REQUIRE_THROWS_WITH(decode_image(b, 1, "chunk.png"),
                        Catch::Contains("chunk IDAT at byte 33 claims 2147483647 bytes but the file ends first"));
  }
}

TEST_CASE("PNG container: CRCs, truncation, extra bytes, chunk order and pixel count are checked", "[io][hostile]") {
  const Bytes raw = rows(5, 4, 1, ramp);
  const Bytes good = png_file(5, 4, 8, 0, 0, raw);
  REQUIRE(decode_image(good, 1, "good.png").shape == Shape{1, 4, 5});
  Bytes flipped = good;
  flipped[8 + 25 + 8 + 3] ^= 0x10;  // a byte of the compressed pixels
  REQUIRE_THROWS_WITH(decode_image(flipped, 1, "f.png"),
                      Catch::Contains("chunk IDAT at byte 33 fails its CRC-32 check"));
  REQUIRE_THROWS_WITH(decode_image(Bytes(good.begin(), good.end() - 12), 1, "t.png"),
                      Catch::Contains("no IEND chunk at the end: the file is truncated"));
  Bytes extra = good;
  extra.insert(extra.end(), {'j', 'u', 'n', 'k'});
  REQUIRE_THROWS_WITH(decode_image(extra, 1, "e.png"), Catch::Contains("4 bytes follow its IEND chunk"));
  Bytes more = raw;
  more.insert(more.end(), 6, 0);  // one row too many
  REQUIRE_THROWS_WITH(decode_image(png_file(5, 4, 8, 0, 0, more), 1, "m.png"),
                      Catch::Contains("more than the 5x4 image holds"));
  REQUIRE_THROWS_WITH(decode_image(png_file(5, 4, 8, 0, 0, Bytes(raw.begin(), raw.end() - 6)), 1, "s.png"),
                      Catch::Contains("its pixels end after 18 of 24 bytes"));
  // Apple's CgBI before IHDR; an unknown critical chunk; a palette image without its palette.
  Bytes cgbi = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  const Bytes c = png_chunk("CgBI", {0, 0, 0, 0});
  cgbi.insert(cgbi.end(), c.begin(), c.end());
  cgbi.insert(cgbi.end(), good.begin() + 8, good.end());
  REQUIRE_THROWS_WITH(decode_image(cgbi, 1, "apple.png"), Catch::Contains("Apple-optimised PNG"));
  Bytes crit(good.begin(), good.begin() + 33);
  const Bytes k = png_chunk("ABCD", {1});
  crit.insert(crit.end(), k.begin(), k.end());
  crit.insert(crit.end(), good.begin() + 33, good.end());
  REQUIRE_THROWS_WITH(decode_image(crit, 1, "k.png"), Catch::Contains("critical chunk ABCD"));
  Bytes nopal = png_file(5, 4, 8, 3, 0, raw);
  nopal.erase(nopal.begin() + 33, nopal.begin() + 33 + 12 + 768);
  REQUIRE_THROWS_WITH(decode_image(nopal, 1, "p.png"), Catch::Contains("palette image without a palette"));
}

TEST_CASE("PNG variants decode to the right pixels: grey, 16-bit, palette, alpha, RGB, 1-bit, interlaced", "[io]") {
  const int w = 5, h = 4;
  auto expect = [&](const Bytes& png, int channels, float (*want)(int x, int y, int c)) {
    const Tensor t = decode_image(png, channels, "v.png");
    REQUIRE(t.shape == Shape{channels, h, w});
    for (int c = 0; c < channels; ++c)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) REQUIRE(t.data[static_cast<size_t>((c * h + y) * w + x)] == Approx(want(x, y, c)));
  };
  auto grey = [](int x, int y, int) { return ramp(x, y, 0) / 255.0f; };
  expect(png_file(w, h, 8, 0, 0, rows(w, h, 1, ramp)), 1, grey);
  expect(png_file(w, h, 8, 0, 0, rows(w, h, 1, ramp)), 3, grey);
  expect(png_file(w, h, 8, 4, 0, rows(w, h, 2, ramp)), 1, grey);  // alpha dropped
  expect(png_file(w, h, 8, 2, 0, rows(w, h, 3, ramp)), 3, [](int x, int y, int c) { return ramp(x, y, c) / 255.0f; });
  expect(png_file(w, h, 8, 6, 0, rows(w, h, 4, ramp)), 3, [](int x, int y, int c) { return ramp(x, y, c) / 255.0f; });
  // Palette entry i is grey 255 - i.
  expect(png_file(w, h, 8, 3, 0, rows(w, h, 1, ramp)), 1,
         [](int x, int y, int) { return (255 - ramp(x, y, 0)) / 255.0f; });
  // 16-bit: the high byte is what 8-bit output keeps.
  expect(png_file(w, h, 16, 0, 0,
                  rows(w, h, 2, [](int x, int y, int s) { return s == 0 ? ramp(x, y, 0) : std::uint8_t{7}; })),
         1, grey);
  // 1-bit: 5 pixels in one byte per row, MSB first: x even lit.
  Bytes bits;
  for (int y = 0; y < h; ++y) bits.insert(bits.end(), {0, 0xA8});
  expect(png_file(w, h, 1, 0, 0, bits), 1, [](int x, int, int) { return x % 2 == 0 ? 1.0f : 0.0f; });
  // Adam7: the seven passes' rows, each filtered with type 0.
  Bytes adam;
  const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1}, dx[7] = {8, 8, 4, 4, 2, 2, 1},
            dy[7] = {8, 8, 8, 4, 4, 2, 2};
  for (int p = 0; p < 7; ++p) {
    if (x0[p] >= w || y0[p] >= h) continue;
    for (int y = y0[p]; y < h; y += dy[p]) {
      adam.push_back(0);
      for (int x = x0[p]; x < w; x += dx[p]) adam.push_back(ramp(x, y, 0));
    }
  }
  expect(png_file(w, h, 8, 0, 1, adam), 1, grey);
}

TEST_CASE("IDX: the dimension product cannot wrap", "[io][hostile]") {
  // A 20-byte file with four dimensions of 2^29: the product wrapped to 0 and an empty array passed.
  Bytes u8 = {0, 0, 0x08, 4};
  for (int d = 0; d < 4; ++d) put_be32(u8, 1u << 29);
  REQUIRE_THROWS_WITH(idx_decode(u8, "wrap.idx"),
                      Catch::Contains("should hold over 2^64 data bytes") && Catch::Contains("truncated or corrupt"));
  // float32: 2^62 elements are 2^64 bytes, which wrapped to 0; resize(2^62) threw std::length_error.
  Bytes f32 = {0, 0, 0x0D, 3};
  for (std::uint32_t v : {1u << 29, 1u << 29, 1u << 4}) put_be32(f32, v);
  REQUIRE_THROWS_AS(idx_decode(f32, "wrap.idx"), Error);
  REQUIRE_THROWS_WITH(idx_decode(f32, "wrap.idx"), Catch::Contains("over 2^64"));
  // A zero dimension after huge ones is a valid empty array.
  Bytes empty = {0, 0, 0x08, 3};
  for (std::uint32_t v : {1u << 29, 1u << 29, 0u}) put_be32(empty, v);
  REQUIRE(idx_decode(empty, "empty.idx").u8.empty());
}

TEST_CASE("safetensors: the header is strict JSON and offsets are checked before any conversion", "[io][hostile]") {
  const std::string meta = "{\"__metadata__\":{\"advx.arch\":\"x\"},";
  auto tensor = [&](const std::string& shape, const std::string& offsets) {
    return safetensors_with(meta + "\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":" + offsets +
                            "}}");
  };
  REQUIRE(safetensors_decode(tensor("[1]", "[0,4]"), "ok").tensors.at("w").data[0] == 1.0f);
  for (const char* bad : {"[0x10,4]", "[-inf,4]", "[0,1e999]", "[01,4]", "[1.,4]", "[0,1e3080]", "[NaN,4]", "[0,4,]"}) {
    INFO(bad);
    REQUIRE_THROWS_WITH(safetensors_decode(tensor("[1]", bad), "w.safetensors"),
                        Catch::Contains("weights file 'w.safetensors' header: invalid JSON"));
  }
  REQUIRE_THROWS_WITH(safetensors_decode(safetensors_with(meta + "\"\\uzzzz\":{}}"), "u"),
                      Catch::Contains("invalid JSON"));
  // Valid JSON numbers that are not offsets: refused by type, never converted to an integer.
  for (const char* bad : {"[0,1e300]", "[0,4.0]", "[0,-4]", "[0,18446744073709551616]", "[0,\"4\"]"}) {
    INFO(bad);
    REQUIRE_THROWS_WITH(safetensors_decode(tensor("[1]", bad), "w"),
                        Catch::Contains("bad data_offsets (non-negative integers expected)"));
  }
  for (const char* bad : {"[1e3]", "[-1]", "[2.5]", "[1000000000]"}) {
    INFO(bad);
    REQUIRE_THROWS_WITH(safetensors_decode(tensor(bad, "[0,4]"), "w"), Catch::Contains("shape entries must be"));
  }
  REQUIRE_THROWS_WITH(safetensors_decode(tensor("[1]", "[0,18446744073709551615]"), "w"),
                      Catch::Contains("claims bytes [0, 18446744073709551615)"));
  // A header of nested brackets: 32 bytes of parsed JSON per byte; over 4 MiB it is not parsed.
  const std::string deep = std::string(2500000, '[') + std::string(2500000, ']');
  REQUIRE_THROWS_WITH(safetensors_decode(safetensors_with(deep), "deep"),
                      Catch::Contains("has a 5000000-byte header, more than the 4194304 advx reads"));
}

TEST_CASE("safetensors: a file with an empty tensor encodes and decodes", "[io][hostile]") {
  // Shape [0] between two tensors: encoding it copied from the empty tensor's null pointer
  // (undefined behaviour; UBSan in tests/fuzz/fuzz_safetensors).
  TensorFile f;
  f.tensors["a"] = Tensor({1}, 0.5f);
  f.tensors["b"] = Tensor({0});
  f.tensors["c"] = Tensor({2}, 2.0f);
  const TensorFile back = safetensors_decode(safetensors_encode(f), "empty");
  REQUIRE(back.tensors.size() == 3);
  REQUIRE(back.tensors.at("b").shape == Shape{0});
  REQUIRE(back.tensors.at("b").data.empty());
  REQUIRE(back.tensors.at("c").data == FloatVec{2.0f, 2.0f});
}

TEST_CASE("gzip: the trailer's size and CRC are checked, and bound the output", "[io][hostile]") {
  Bytes data(100000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>((i * i) >> 7);
  const Bytes z = zlib_compress(data);
  const Bytes deflate(z.begin() + 2, z.end() - 4);  // raw deflate: no zlib header, no Adler-32
  auto gz = [&](std::uint32_t crc, std::uint32_t isize) {
    Bytes g(10 + deflate.size() + 8);
    const std::uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    std::copy(header, header + 10, g.begin());
    std::copy(deflate.begin(), deflate.end(), g.begin() + 10);
    for (int s = 0; s < 4; ++s) {
      g[10 + deflate.size() + static_cast<size_t>(s)] = static_cast<std::uint8_t>(crc >> (8 * s));
      g[14 + deflate.size() + static_cast<size_t>(s)] = static_cast<std::uint8_t>(isize >> (8 * s));
    }
    return g;
  };
  const std::uint32_t crc = crc32(data.data(), data.size()), n = static_cast<std::uint32_t>(data.size());
  REQUIRE(gunzip(gz(crc, n), "ok.gz") == data);
  REQUIRE_THROWS_WITH(gunzip(gz(crc ^ 1, n), "c.gz"), Catch::Contains("fails the gzip CRC-32 check"));
  REQUIRE_THROWS_WITH(gunzip(gz(crc, n - 1), "s.gz"), Catch::Contains("longer than its trailer says"));
  REQUIRE_THROWS_WITH(gunzip(gz(crc, n + 1), "l.gz"), Catch::Contains("does not match the gzip trailer"));
  REQUIRE_THROWS_WITH(gunzip(gz(crc, 0xFFFFFFFFu), "h.gz"), Catch::Contains("more than the 268435456 advx inflates"));
  REQUIRE_THROWS_WITH(gunzip(gz(crc, 200u << 20), "r.gz"), Catch::Contains("more than deflate can produce"));
}

TEST_CASE("files: pipes and /proc are read whole, folders and endless files refused", "[io][hostile]") {
  const Bytes status = read_file("/proc/self/status");  // reports size 0 up front
  REQUIRE(std::string(status.begin(), status.end()).find("Name:") != std::string::npos);
  const std::string fifo = test::temp_path("fifo");
  ::unlink(fifo.c_str());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Bytes sent(300000);
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<std::uint8_t>(i * 31);
  std::thread writer([&] {
    std::FILE* f = std::fopen(fifo.c_str(), "wb");
    if (f) std::fwrite(sent.data(), 1, sent.size(), f), std::fclose(f);
  });
  const Bytes got = read_file(fifo);
  writer.join();
  ::unlink(fifo.c_str());
  REQUIRE(got == sent);
  REQUIRE_THROWS_WITH(read_file("/tmp"), Catch::Contains("'/tmp' is a folder, not a file"));
  REQUIRE_THROWS_WITH(read_file("/dev/zero", 1 << 20), Catch::Contains("'/dev/zero' is larger than 1 MiB"));
  REQUIRE_THROWS_WITH(load_image("/tmp", 1), Catch::Contains("is a folder"));
}

TEST_CASE("files: a failed write reports it and leaves the good file in place", "[io][hostile]") {
  const std::string dir = test::temp_path("write_fail");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/weights.safetensors";
  const Bytes good(3000, 7), larger(50000, 9);
  write_file(path, good);
  // A file-size limit (ulimit -f) makes the write fail half-way (EFBIG), like a disk filling up.
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  struct rlimit lim = old;
  lim.rlim_cur = 10000;
  void (*old_handler)(int) = ::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  std::string error;
  try {
    write_file(path, larger);
  } catch (const Error& e) {
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  REQUIRE_THAT(error, Catch::Contains("writing '" + path + "' failed"));
  REQUIRE(read_file(path) == good);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file() ? 1 : 0;
  REQUIRE(files == 1);  // no temporary file left behind
  REQUIRE_THROWS_WITH(write_file("/dev/full", good), Catch::Contains("writing '/dev/full' failed"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("resize: area averaging keeps a thin stroke's ink, integer factors invert exactly", "[io][hostile]") {
  // A 4000x4000 drawing of a 7 with 30-pixel strokes: a bar and a diagonal.
  const int n = 4000, stroke = 30;
  Tensor seven({1, n, n});
  double ink = 0.0;
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const bool bar = y >= 600 && y < 600 + stroke && x >= 900 && x < 3100;
      // Diagonal from (3100, 600) to (1500, 3400): distance to the line along x.
      const double t = (y - 600) / 2800.0, cx = 3100 - 1600 * t;
      const bool diag = y >= 600 && y < 3400 && std::abs(x - cx) < stroke / 2.0;
      if (bar || diag) seven.data[static_cast<size_t>(y) * n + x] = 1.0f, ink += 1.0;
    }
  for (int size : {28, 112}) {
    const Tensor small = resize_image(seven, size, size);
    double sum = 0.0;
    int lit = 0;
    for (float v : small.data) sum += v, lit += v > 0.05f ? 1 : 0;
    const double area = (static_cast<double>(n) / size) * (static_cast<double>(n) / size);
    INFO("size " << size << ": ink " << sum * area << " of " << ink << ", " << lit << " lit pixels");
    REQUIRE(sum * area == Approx(ink).epsilon(1e-3));  // point sampling kept 4 pixels of it at 28
    REQUIRE(lit >= (size == 28 ? 40 : 150));
  }
  // Nearest-neighbour upscaling by 100 and area averaging back give the original.
  const Tensor digit = test::random_images(1, 5).slice(0, 1);
  Tensor d3 = digit;
  d3.shape = {1, 28, 28};
  Tensor big({1, 2800, 2800});
  for (int y = 0; y < 2800; ++y)
    for (int x = 0; x < 2800; ++x)
      big.data[static_cast<size_t>(y) * 2800 + x] = d3.data[static_cast<size_t>(y / 100) * 28 + x / 100];
  const Tensor back = resize_image(big, 28, 28);
  for (size_t i = 0; i < back.data.size(); ++i) REQUIRE(back.data[i] == Approx(d3.data[i]).margin(1e-5));
  // A white page stays exactly white (the area weights' rounding once gave 1.000004, which the
  // engine refuses as a pixel outside [0, 1]), and every value stays within the input's range.
  Tensor page({1, 4000, 4000}, 1.0f);
  page.data[12345] = 0.0f;
  for (int size : {28, 112, 999}) {
    const Tensor r = resize_image(page, size, size);
    for (float v : r.data) REQUIRE((v >= 0.0f && v <= 1.0f));
  }
  for (float v : resize_image(Tensor({1, 4000, 3000}, 1.0f), 28, 28).data) REQUIRE(v == 1.0f);
  // Mixed: shrink one axis, enlarge the other; a constant stays constant.
  const Tensor mixed = resize_image(Tensor({3, 50, 7}, 0.25f), 10, 21);
  REQUIRE(mixed.shape == Shape{3, 10, 21});
  for (float v : mixed.data) REQUIRE(v == Approx(0.25f));
}
