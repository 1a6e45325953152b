// Datasets read from the shared data folder (never downloaded at run time).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace advx {

struct Dataset {
  std::string name;
  Tensor images;            // [N, C, H, W], pixels in [0, 1]
  std::vector<int> labels;  // N
  int num_classes = 10;
  std::vector<std::string> class_names;  // num_classes names, e.g. "0".."9" (MNIST) or "airplane", ... (CIFAR-10)
  int size() const { return images.shape.empty() ? 0 : images.shape[0]; }
  Dataset head(int n) const;              // the first n samples (all if n <= 0 or n > size)
  Dataset slice(int begin, int n) const;  // samples [begin, begin + n), which must lie inside
};

// The data folder: `flag` if not empty, else $ADVX_DATA, else ../shared/data (relative to the
// working directory, then to the source tree). Throws advx::Error saying where it looked.
std::string resolve_data_dir(const std::string& flag);

// "mnist", "fashion-mnist", "cifar10" (all 50,000 / 10,000 images, JPEG-compressed) or
// "cifar10-exact" (the exact pixels of training images 0-3999 / test images 0-999); split "train" or
// "test". Each file is checked by sha256 first.
Dataset load_dataset(const std::string& data_dir, const std::string& name, const std::string& split);

// For the loaders in engine/data/: the bytes of data_dir/rel, after checking that the file exists
// and that its sha256 is the one listed in shared/data/*/README.md (when the file is listed there).
std::vector<std::uint8_t> read_verified(const std::string& data_dir, const std::string& rel);

}  // namespace advx
