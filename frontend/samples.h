// The MNIST test sample shipped with the playground (<assets>/mnist/test-*.idx.gz).
#pragma once
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/tensor.h"

namespace play {

struct Samples {
  advx::Tensor images;      // [N, 1, 28, 28]
  std::vector<int> labels;  // N
  std::string error;        // why there is no sample, if so
  int size() const { return static_cast<int>(labels.size()); }
  advx::Tensor image(int i) const;  // [1, 1, 28, 28]
  advx::Dataset head(int n) const;  // the first n as a Dataset (for the evaluator)
};

Samples load_samples(const std::string& dir);

}  // namespace play
