// A private, JPEG-only copy of stb_image (Debian's libstb-dev header) for sha256-checked dataset
// files; see dataset_jpeg.h for why it is kept apart. STB_IMAGE_STATIC makes every stb function
// static to this file, so it neither clashes with nor can be reached through the PNG decoder that
// engine/io/stb_impl.cpp compiles. stb's SSE2 IDCT, upsampling and colour conversion are written
// to give the same bytes as its plain C paths (stb_image.h says so), so a native build and a
// WebAssembly build decode the dataset to the same pixels.
#include "engine/data/dataset_jpeg.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#endif
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO  // bytes only: this decoder never opens a file itself
#define STBI_NO_LINEAR
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace advx {

const char* decode_dataset_jpeg(const std::uint8_t* data, std::size_t n, int w, int h, std::uint8_t* rgb) {
  if (n == 0 || n > static_cast<std::size_t>(INT_MAX)) return "empty or oversized JPEG";
  int got_w = 0, got_h = 0, channels = 0;
  stbi_uc* px = stbi_load_from_memory(data, static_cast<int>(n), &got_w, &got_h, &channels, 3);
  if (!px) return stbi_failure_reason();
  const bool ok = got_w == w && got_h == h;
  if (ok) std::memcpy(rgb, px, static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
  stbi_image_free(px);
  return ok ? nullptr : "JPEG has another size than expected";
}

}  // namespace advx
