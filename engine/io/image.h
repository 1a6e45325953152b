// Images in and out: PNG only (stb_image / stb_image_write). Images are float pixels in [0, 1].
//
// What a user gives (`advx attack --image`, the playground's import and its img= URL state) goes
// through decode_image, which reads PNG and nothing else: stb_image is compiled with PNG alone
// (engine/io/stb_impl.cpp), because its other loaders decode crafted files wrongly (stb 2.27's JPEG
// writes past a Huffman table on a crafted DHT segment; a truncated PNM decodes to uninitialised
// memory without an error). Before stb allocates anything, the declared size is checked with
// stbi_info_from_memory and the container with png_check (engine/io/png.h: chunk bounds, CRCs, the
// pixel data inflating to exactly the declared size). The CIFAR-10 JPEGs are decoded elsewhere, after
// their sha256 matched (engine/data/dataset_jpeg.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace advx {

// The largest image decode_image reads: 2^24 pixels, e.g. 4096 x 4096 (a 4000 x 4000 drawing
// passes). Decoding holds at most 16 bytes per pixel at once (16-bit RGBA: the inflated rows and
// stb's output, 8 bytes each), 270 MB at the limit, and an 8-bit grey drawing about 6 (100 MB): what
// a browser tab can still afford, where a 16000 x 16000 header would ask for gigabytes. Anything
// larger is refused from its header, before anything is allocated for it.
constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 24;

// Decodes a PNG to grey [1, H, W] (channels = 1) or RGB [3, H, W] (channels = 3; alpha is dropped).
// Errors say what is wrong: not a PNG (and what it looks like), too large, truncated, corrupt.
Tensor load_image(const std::string& path, int channels);
Tensor decode_image(const std::vector<std::uint8_t>& bytes, int channels, const std::string& source);
// Resizes a [C, H, W] image to [C, h, w], each axis on its own: shrinking averages the area each
// output pixel covers (MNIST's own preprocessing does this, and thin strokes keep their ink: a
// 30-pixel stroke in a 4000-pixel drawing stays a stroke at 28 pixels), enlarging interpolates
// bilinearly between pixel centres. engine/preprocess.cpp scales drawings through it too.
Tensor resize_image(const Tensor& img, int h, int w);
// Writes a [C, H, W] (C = 1 or 3) image with values in [0, 1] as PNG, scaled by `scale` (nearest).
void save_png(const std::string& path, const Tensor& img, int scale = 1);
std::vector<std::uint8_t> encode_png(const Tensor& img, int scale = 1);
// PNG text chunks (tEXt: keyword, a zero byte, Latin-1 text), so that a file says what it is (an
// adversarial patch's target, size and model). add_png_text inserts them before IEND; png_text
// reads every tEXt chunk of a PNG (empty when there is none); errors on a damaged chunk structure.
std::vector<std::uint8_t> add_png_text(const std::vector<std::uint8_t>& png,
                                       const std::map<std::string, std::string>& text);
std::map<std::string, std::string> png_text(const std::vector<std::uint8_t>& png, const std::string& source);

}  // namespace advx
