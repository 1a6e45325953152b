#include "engine/io/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/zip.h"

namespace advx {

Tensor decode_image(const std::vector<std::uint8_t>& bytes, int channels, const std::string& source) {
  ADVX_REQUIRE(channels == 1 || channels == 3, "decode_image: channels must be 1 or 3");
  ADVX_REQUIRE(!bytes.empty(), "image '" + source + "' is empty");
  int w = 0, h = 0, n = 0;
  unsigned char* px = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n, channels);
  if (!px)
    throw Error("cannot decode image '" + source + "': " + stbi_failure_reason() +
                " (expected a PNG; JPEG is not read from user files: convert it to PNG)");
  ADVX_REQUIRE(w > 0 && h > 0 && static_cast<long long>(w) * h <= 64LL * 1024 * 1024,
               "image '" + source + "' has an unusable size " + std::to_string(w) + "x" + std::to_string(h));
  Tensor t({channels, h, w});
  // stb gives interleaved HWC; we store planar CHW.
  for (int c = 0; c < channels; ++c)
    for (int i = 0; i < h * w; ++i)
      t.data[static_cast<size_t>(c * h * w + i)] = static_cast<float>(px[i * channels + c]) / 255.0f;
  stbi_image_free(px);
  return t;
}

Tensor load_image(const std::string& path, int channels) {
  return decode_image(read_file(path), channels, path);
}

Tensor resize_image(const Tensor& img, int h, int w) {
  ADVX_REQUIRE(img.rank() == 3 && h > 0 && w > 0, "resize_image expects [C, H, W] and a positive size");
  const int c = img.dim(0), ih = img.dim(1), iw = img.dim(2);
  Tensor out({c, h, w});
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        // Pixel-centre aligned bilinear sampling.
        const float sy =
            std::clamp((static_cast<float>(y) + 0.5f) * static_cast<float>(ih) / static_cast<float>(h) - 0.5f, 0.0f,
                       static_cast<float>(ih - 1));
        const float sx =
            std::clamp((static_cast<float>(x) + 0.5f) * static_cast<float>(iw) / static_cast<float>(w) - 0.5f, 0.0f,
                       static_cast<float>(iw - 1));
        const int y0 = static_cast<int>(sy), x0 = static_cast<int>(sx);
        const int y1 = std::min(y0 + 1, ih - 1), x1 = std::min(x0 + 1, iw - 1);
        const float fy = sy - static_cast<float>(y0), fx = sx - static_cast<float>(x0);
        const float* p = img.ptr() + static_cast<std::int64_t>(ch) * ih * iw;
        const float top = p[y0 * iw + x0] * (1 - fx) + p[y0 * iw + x1] * fx;
        const float bot = p[y1 * iw + x0] * (1 - fx) + p[y1 * iw + x1] * fx;
        out.data[static_cast<size_t>((ch * h + y) * w + x)] = top * (1 - fy) + bot * fy;
      }
  return out;
}

std::vector<std::uint8_t> encode_png(const Tensor& img, int scale) {
  ADVX_REQUIRE(img.rank() == 3 && (img.dim(0) == 1 || img.dim(0) == 3),
               "encode_png expects [1 or 3, H, W], got " + shape_str(img.shape));
  ADVX_REQUIRE(scale >= 1 && scale <= 64, "encode_png: scale must be in 1..64");
  const int c = img.dim(0), h = img.dim(1), w = img.dim(2), oh = h * scale, ow = w * scale;
  std::vector<unsigned char> px(static_cast<size_t>(oh) * ow * c);
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      for (int ch = 0; ch < c; ++ch) {
        const float v = img.data[static_cast<size_t>((ch * h + y / scale) * w + x / scale)];
        px[static_cast<size_t>((y * ow + x) * c + ch)] =
            static_cast<unsigned char>(std::lround(std::clamp(std::isfinite(v) ? v : 0.0f, 0.0f, 1.0f) * 255.0f));
      }
  std::vector<std::uint8_t> out;
  auto sink = [](void* ctx, void* data, int size) {
    auto* o = static_cast<std::vector<std::uint8_t>*>(ctx);
    o->insert(o->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
  };
  ADVX_REQUIRE(stbi_write_png_to_func(sink, &out, ow, oh, c, px.data(), ow * c) != 0, "PNG encoding failed");
  return out;
}

namespace {

const std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

std::uint32_t read_be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

// Calls f(type, data, size, offset of the chunk) for every chunk; checks the structure.
template <class F>
void for_each_chunk(const std::vector<std::uint8_t>& png, const std::string& source, F f) {
  ADVX_REQUIRE(png.size() >= 8 && std::equal(kPngSignature, kPngSignature + 8, png.begin()),
               "'" + source + "' is not a PNG (no PNG signature)");
  std::size_t at = 8;
  while (at < png.size()) {
    ADVX_REQUIRE(png.size() - at >= 12,
                 "PNG '" + source + "' is truncated (a chunk header at byte " + std::to_string(at) + ")");
    const std::uint32_t len = read_be32(png.data() + at);
    ADVX_REQUIRE(len <= png.size() - at - 12,
                 "PNG '" + source + "' is truncated (a chunk at byte " + std::to_string(at) + " runs past the end)");
    const std::string type(reinterpret_cast<const char*>(png.data() + at + 4), 4);
    f(type, png.data() + at + 8, static_cast<std::size_t>(len), at);
    at += 12 + static_cast<std::size_t>(len);
    if (type == "IEND") return;
  }
  throw Error("PNG '" + source + "' has no IEND chunk (truncated?)");
}

}  // namespace

std::vector<std::uint8_t> add_png_text(const std::vector<std::uint8_t>& png,
                                       const std::map<std::string, std::string>& text) {
  std::size_t iend = 0;
  for_each_chunk(png, "encoded image", [&](const std::string& type, const std::uint8_t*, std::size_t, std::size_t at) {
    if (type == "IEND") iend = at;
  });
  std::vector<std::uint8_t> out(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(iend));
  for (const auto& [key, value] : text) {
    ADVX_REQUIRE(!key.empty() && key.size() <= 79 && key.find('\0') == std::string::npos &&
                     value.find('\0') == std::string::npos,
                 "PNG text: keywords have 1 to 79 characters and neither keyword nor text a zero byte ('" + key + "')");
    std::vector<std::uint8_t> chunk = {'t', 'E', 'X', 't'};
    chunk.insert(chunk.end(), key.begin(), key.end());
    chunk.push_back(0);
    chunk.insert(chunk.end(), value.begin(), value.end());
    put_be32(out, static_cast<std::uint32_t>(chunk.size() - 4));
    out.insert(out.end(), chunk.begin(), chunk.end());
    put_be32(out, crc32(chunk.data(), chunk.size()));  // over the type and the data
  }
  out.insert(out.end(), png.begin() + static_cast<std::ptrdiff_t>(iend), png.end());
  return out;
}

std::map<std::string, std::string> png_text(const std::vector<std::uint8_t>& png, const std::string& source) {
  std::map<std::string, std::string> text;
  for_each_chunk(png, source, [&](const std::string& type, const std::uint8_t* data, std::size_t size, std::size_t) {
    if (type != "tEXt") return;
    const std::string chunk(reinterpret_cast<const char*>(data), size);
    const std::size_t zero = chunk.find('\0');
    ADVX_REQUIRE(zero != std::string::npos && zero >= 1, "PNG '" + source + "' has a damaged tEXt chunk (no keyword)");
    text[chunk.substr(0, zero)] = chunk.substr(zero + 1);
  });
  return text;
}

void save_png(const std::string& path, const Tensor& img, int scale) {
  write_file(path, encode_png(img, scale));
}

}  // namespace advx
