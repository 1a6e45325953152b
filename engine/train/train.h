// Mini-batch training with cross-entropy, seeded shuffling, progress through a callback.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "engine/data/dataset.h"
#include "engine/model.h"

namespace advx {

struct TrainConfig {
  int epochs = 1;
  int batch = 64;
  std::string optimizer = "adam";  // "adam" or "sgd"
  float lr = 1e-3f;
  float lr_decay = 1.0f;   // per-epoch factor: epoch e uses lr * lr_decay^(e-1) (torch ExponentialLR)
  float momentum = 0.9f;   // sgd only
  std::uint64_t seed = 1;  // shuffling (initialisation is seeded by make_model)
  int limit = 0;           // use only the first `limit` training samples (0 = all)
};

struct TrainProgress {
  int epoch = 0, epochs = 0;
  int batch = 0, batches = 0;
  double loss = 0.0;      // running mean over this epoch so far
  double accuracy = 0.0;  // running training accuracy over this epoch so far
  double seconds = 0.0;   // since the epoch started
  double images_per_s = 0.0;
  bool epoch_done = false;
};

void train(Sequential& m, const Dataset& data, const TrainConfig& cfg,
           const std::function<void(const TrainProgress&)>& progress);

}  // namespace advx
