// Datasets read from the shared data folder (never downloaded at run time).
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace advx {

struct Dataset {
  std::string name;
  Tensor images;            // [N, C, H, W], pixels in [0, 1]
  std::vector<int> labels;  // N
  int num_classes = 10;
  int size() const { return images.shape.empty() ? 0 : images.shape[0]; }
  Dataset head(int n) const;  // the first n samples (all if n <= 0 or n > size)
};

// The data folder: `flag` if not empty, else $ADVX_DATA, else ../shared/data (relative to the
// working directory, then to the source tree). Throws advx::Error saying where it looked.
std::string resolve_data_dir(const std::string& flag);

// "mnist" or "fashion-mnist"; split "train" or "test". Each file is checked by sha256 first.
Dataset load_dataset(const std::string& data_dir, const std::string& name, const std::string& split);

}  // namespace advx
