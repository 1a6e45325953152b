// The user-facing image path: decode_image (PNG only: png_check, stbi_info_from_memory, stb's PNG
// decoder) as `advx attack --image`, the playground's import and its img= URL state call it, then
// what they do with the pixels: resize_image and the MNIST-style preprocessing.
//
// Each input is tried twice: as it is (png_check's container checks), and with every chunk's CRC-32
// rewritten to match, so that mutated pixel data gets past the CRC check into stb's decoder.
#include "engine/io/image.h"
#include "engine/io/png.h"
#include "engine/io/zip.h"  // crc32
#include "engine/preprocess.h"
#include "tests/fuzz/fuzz.h"

namespace {

void fix_crcs(std::vector<std::uint8_t>& b) {
  std::size_t pos = 8;
  while (pos + 12 <= b.size()) {
    const std::uint32_t len = (std::uint32_t(b[pos]) << 24) | (std::uint32_t(b[pos + 1]) << 16) |
                              (std::uint32_t(b[pos + 2]) << 8) | std::uint32_t(b[pos + 3]);
    if (len > b.size() - pos - 12) return;
    const std::uint32_t crc = advx::crc32(b.data() + pos + 4, len + 4);
    for (int k = 0; k < 4; ++k) b[pos + 8 + len + k] = static_cast<std::uint8_t>(crc >> (24 - 8 * k));
    pos += 12 + len;
  }
}

void decode_and_use(const std::vector<std::uint8_t>& bytes) {
  for (int channels : {1, 3}) {
    advx::fuzz::refused_or_ok([&] {
      const advx::Tensor img = advx::decode_image(bytes, channels, "fuzz");
      if (img.dim(0) != channels || static_cast<std::int64_t>(img.dim(1)) * img.dim(2) > advx::kMaxImagePixels)
        __builtin_trap();
      for (float v : img.data)
        if (!(v >= 0.0f && v <= 1.0f)) __builtin_trap();
      const advx::Tensor small = advx::resize_image(img, 28, 28);
      if (channels == 1) advx::mnist_preprocess(advx::resize_image(img, 112, 112));
      for (float v : small.data)
        if (!(v >= -1e-5f && v <= 1.0f + 1e-5f)) __builtin_trap();
    });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> bytes = advx::fuzz::bytes_of(data, size);
  decode_and_use(bytes);
  if (advx::is_png(bytes.data(), bytes.size())) {
    fix_crcs(bytes);
    decode_and_use(bytes);
  }
  return 0;
}
