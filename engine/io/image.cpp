#include "engine/io/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/png.h"
#include "engine/io/zip.h"

namespace advx {
namespace {

// stb's pixels, freed on every path (an exception included).
struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};
using StbPixels = std::unique_ptr<unsigned char, StbFree>;

// What a file that is not a PNG looks like, for the error message ("" if unknown).
std::string looks_like(const std::vector<std::uint8_t>& b) {
  auto starts = [&b](const char* magic, std::size_t at = 0) {
    const std::size_t n = std::strlen(magic);
    return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
  };
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "a JPEG";
  if (starts("GIF8")) return "a GIF";
  if (starts("BM")) return "a BMP";
  if (starts("RIFF") && starts("WEBP", 8)) return "a WebP";
  if (starts("II*") || starts("MM")) return "a TIFF";
  if (starts("8BPS")) return "a Photoshop PSD";
  if (starts("#?RADIANCE") || starts("#?RGBE")) return "a Radiance HDR";
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') return "a PNM (PBM/PGM/PPM)";
  if (starts("<svg") || starts("<?xml")) return "an SVG";
  return "";
}

// One axis of a resize: output pixel o = sum over k of in[first[o] + k] * weight[start[o] + k].
struct AxisTaps {
  std::vector<int> first, count;
  std::vector<std::size_t> start;
  std::vector<float> weight;
};

AxisTaps axis_taps(int in, int out) {
  AxisTaps t;
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int o = 0; o < out; ++o) {
    t.start.push_back(t.weight.size());
    if (out < in) {
      // Area: the input interval [o * scale, (o + 1) * scale), each pixel weighted by its overlap.
      const double a = o * scale, b = (o + 1) * scale;
      const int i0 = static_cast<int>(std::floor(a)), i1 = std::min(in, static_cast<int>(std::ceil(b)));
      for (int i = i0; i < i1; ++i)
        t.weight.push_back(static_cast<float>((std::min(b, i + 1.0) - std::max(a, static_cast<double>(i))) / scale));
      t.first.push_back(i0);
      t.count.push_back(i1 - i0);
    } else {
      // Bilinear between the two nearest pixel centres; edges clamped.
      const double f = std::clamp((o + 0.5) * scale - 0.5, 0.0, static_cast<double>(in - 1));
      const int i0 = static_cast<int>(f);
      const float frac = static_cast<float>(f - i0);
      t.first.push_back(i0);
      t.weight.push_back(1.0f - frac);
      if (i0 + 1 < in) t.weight.push_back(frac);
      t.count.push_back(i0 + 1 < in ? 2 : 1);
    }
  }
  return t;
}

}  // namespace

Tensor decode_image(const std::vector<std::uint8_t>& bytes, int channels, const std::string& source) {
  ADVX_REQUIRE(channels == 1 || channels == 3, "decode_image: channels must be 1 or 3");
  const std::string where = "image '" + source + "'";
  ADVX_REQUIRE(!bytes.empty(), where + " is empty");
  if (!is_png(bytes.data(), bytes.size())) {
    const std::string kind = looks_like(bytes);
    throw Error("cannot decode " + where + ": it is not a PNG" + (kind.empty() ? "" : " (it looks like " + kind + ")") +
                "; advx reads PNG images only: convert it to PNG first");
  }
  ADVX_REQUIRE(bytes.size() <= static_cast<std::size_t>(INT_MAX), where + " is over 2 GB: not an image advx reads");
  // The declared size is refused from the header (png_check, before any IDAT byte is copied), the
  // container checked; stb's own reading of the header must agree. Nothing is decoded before.
  const PngInfo info = png_check(bytes.data(), bytes.size(), kMaxImagePixels, where);
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n))
    throw Error("cannot decode " + where + ": " +
                std::string(stbi_failure_reason() ? stbi_failure_reason() : "corrupt data") + " (a damaged PNG?)");
  ADVX_REQUIRE(w == info.width && h == info.height && static_cast<std::int64_t>(w) * h <= kMaxImagePixels,
               "cannot decode " + where + ": its size is unclear (corrupt header)");
  const std::string size = std::to_string(w) + "x" + std::to_string(h);
  try {
    int dw = 0, dh = 0;
    const StbPixels px(stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &dw, &dh, &n, channels));
    if (!px)
      throw Error("cannot decode " + where + ": " +
                  std::string(stbi_failure_reason() ? stbi_failure_reason() : "corrupt data"));
    ADVX_REQUIRE(dw == w && dh == h, "cannot decode " + where + ": its size changed while decoding (corrupt)");
    Tensor t({channels, h, w});
    // stb gives interleaved HWC; we store planar CHW.
    const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
    for (int c = 0; c < channels; ++c)
      for (std::size_t i = 0; i < plane; ++i)
        t.data[c * plane + i] = static_cast<float>(px.get()[i * channels + c]) / 255.0f;
    return t;
  } catch (const std::bad_alloc&) {
    throw Error(where + " (" + size + ") is too large for the memory available: scale it down first");
  }
}

Tensor load_image(const std::string& path, int channels) {
  return decode_image(read_file(path), channels, path);
}

Tensor resize_image(const Tensor& img, int h, int w) {
  ADVX_REQUIRE(img.rank() == 3 && img.dim(1) > 0 && img.dim(2) > 0 && h > 0 && w > 0,
               "resize_image expects [C, H, W] and a positive size, got " + shape_str(img.shape));
  const int c = img.dim(0), ih = img.dim(1), iw = img.dim(2);
  const AxisTaps tx = axis_taps(iw, w), ty = axis_taps(ih, h);
  // Along x into [C, ih, w], then along y into [C, h, w].
  Tensor mid({c, ih, w});
  for (std::int64_t row = 0; row < static_cast<std::int64_t>(c) * ih; ++row) {
    const float* src = img.ptr() + row * iw;
    float* dst = mid.ptr() + row * w;
    for (int x = 0; x < w; ++x) {
      const float* wt = tx.weight.data() + tx.start[static_cast<std::size_t>(x)];
      const float* s = src + tx.first[static_cast<std::size_t>(x)];
      float sum = 0.0f;
      for (int k = 0; k < tx.count[static_cast<std::size_t>(x)]; ++k) sum += wt[k] * s[k];
      dst[x] = sum;
    }
  }
  Tensor out({c, h, w});
  // Every output pixel is a convex combination of input pixels: clamping to the input's range only
  // removes rounding (a white area summing its weights to 1.000004 must stay a valid pixel, 1).
  const auto [lo, hi] = std::minmax_element(img.data.begin(), img.data.end());
  const float vmin = *lo, vmax = *hi;
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y) {
      float* dst = out.ptr() + (static_cast<std::int64_t>(ch) * h + y) * w;
      const float* wt = ty.weight.data() + ty.start[static_cast<std::size_t>(y)];
      for (int k = 0; k < ty.count[static_cast<std::size_t>(y)]; ++k) {
        const float* src =
            mid.ptr() + (static_cast<std::int64_t>(ch) * ih + ty.first[static_cast<std::size_t>(y)] + k) * w;
        for (int x = 0; x < w; ++x) dst[x] += wt[k] * src[x];
      }
      for (int x = 0; x < w; ++x) dst[x] = std::clamp(dst[x], vmin, vmax);
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
