// PNG in and out (stb_image / stb_image_write). Images are float pixels in [0, 1].
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace advx {

// Decodes a PNG (or BMP, GIF, ...: any format stb_image reads except JPEG, see engine/io/stb_impl.cpp) to grey [1, H,
// W] (channels = 1) or RGB [3, H, W]. Errors name the file and stb's reason.
Tensor load_image(const std::string& path, int channels);
Tensor decode_image(const std::vector<std::uint8_t>& bytes, int channels, const std::string& source);
// Resizes (bilinear) a [C, H, W] image to [C, h, w].
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
