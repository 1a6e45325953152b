// A dataset's images shipped with the playground: the first N test images with their labels and the
// dataset's class names (the playground's test images, its robustness batch), or a whole split that
// a defence needs (MNIST's 60,000 training images for k-NN, its 10,000 test images for the
// detectors' validation half). Read from the sample file format of frontend/tools/make_sample.py:
// gzip of N records, each 1 label byte then C*H*W pixel bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/tensor.h"

namespace play {

struct Samples {
  advx::Dataset set;  // name ("mnist", "cifar10"), images [N, C, H, W] in [0, 1], labels, class names
  std::string error;  // why there is no sample, if so
  int size() const { return set.size(); }
  int label(int i) const { return set.labels[static_cast<std::size_t>(i)]; }
  advx::Tensor image(int i) const;  // [1, C, H, W]
  advx::Dataset head(int n) const;  // the first n as a Dataset (for the evaluator)
};

// Decodes a sample file's bytes (gzip of records); `shape` is [C, H, W]. advx::Error naming
// `source` if the bytes are not whole records of that shape or a label is not a class.
Samples decode_samples(const std::vector<std::uint8_t>& gz, const std::string& dataset, const advx::Shape& shape,
                       const std::vector<std::string>& classes, const std::string& source);

}  // namespace play
