// The architectures advx ships, exactly as in the papers they come from.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/model.h"

namespace advx {

struct ArchInfo {
  std::string name;
  std::string description;  // one line: layers and the paper
  Shape input;              // per-sample input shape ({1, 28, 28} MNIST, {3, 32, 32} CIFAR-10)
  // An autoencoder's "logits" are its reconstruction, flattened ([N, C*H*W], pixels in (0, 1)); it
  // is trained on reconstruction (engine/train/autoencoder.h), never as a classifier.
  bool autoencoder = false;
};

const std::vector<ArchInfo>& architectures();
// The entry of `name`, or nullptr.
const ArchInfo* find_architecture(const std::string& name);
// Builds the named architecture with PyTorch-default initialisation from `seed` (weights left at
// zero when init_weights is false, for loaders that overwrite them).
// Throws advx::Error listing the known names if `name` is unknown.
Sequential make_model(const std::string& name, std::uint64_t seed, bool init_weights = true);

}  // namespace advx
