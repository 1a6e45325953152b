// The JPEG decoder, kept apart from the one for user images.
//
// JPEG decoding is for dataset files only, and only after their sha256 matched the value listed
// in shared/data/*/README.md (engine/data/cifar10.cpp reads the CIFAR-10 JPEG archive through
// read_verified). Never call it on a file a user supplies: JPEG decoders are a classic source of
// memory-safety bugs on crafted input, and advx's user-facing image path (engine/io/image.h, for
// PNG drawings and `advx attack --image`) is built without JPEG support for that reason
// (engine/io/stb_impl.cpp). This decoder is a private, JPEG-only copy of stb_image, compiled in
// engine/data/dataset_jpeg.cpp alone.
#pragma once
#include <cstddef>
#include <cstdint>

namespace advx {

// Decodes the JPEG in data[0, n) into rgb: w * h * 3 bytes, interleaved R, G, B per pixel, rows top
// to bottom (HWC). The image must be exactly w x h. Returns nullptr on success, else a short reason
// (a string literal). Thread-safe: stb keeps its failure reason per thread.
const char* decode_dataset_jpeg(const std::uint8_t* data, std::size_t n, int w, int h, std::uint8_t* rgb);

}  // namespace advx
