// A dataset's test sample shipped with the playground: the first N test images with their labels
// and the dataset's class names (the playground's test images, its robustness batch, and the data
// of defences that need some). Read from the sample file format of frontend/tools/make_sample.py:
// gzip of N records, each 1 label byte then C*H*W pixel bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/tensor.h"

namespace play {

struct Samples {
  std::string dataset;               // "mnist", "cifar10"
  advx::Tensor images;               // [N, C, H, W], pixels in [0, 1]
  std::vector<int> labels;           // N
  std::vector<std::string> classes;  // class names, index = label
  std::string error;                 // why there is no sample, if so
  int size() const { return static_cast<int>(labels.size()); }
  advx::Tensor image(int i) const;  // [1, C, H, W]
  advx::Dataset head(int n) const;  // the first n as a Dataset (for the evaluator)
};

// Decodes a sample file's bytes (gzip of records); `shape` is [C, H, W]. advx::Error naming
// `source` if the bytes are not whole records of that shape or a label is not a class.
Samples decode_samples(const std::vector<std::uint8_t>& gz, const std::string& dataset, const advx::Shape& shape,
                       const std::vector<std::string>& classes, const std::string& source);

}  // namespace play
