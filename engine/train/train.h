// Mini-batch training with cross-entropy, seeded shuffling, progress through a callback.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "engine/data/dataset.h"
#include "engine/model.h"
#include "engine/rng.h"

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
  // Data augmentation for natural images (CIFAR-10), the usual one since He et al. 2016
  // (arXiv:1512.03385): each time a sample enters a batch, a random crop of its original size from
  // the image zero-padded by `augment_pad` pixels on every side, then a horizontal flip with
  // probability 1/2. Drawn from its own Rng seeded by `seed` (the shuffling order is the same with
  // or without it). Not for digits: a flipped 2 is no 2.
  bool augment = false;
  int augment_pad = 4;
};

// One draw of the augmentation: the crop's origin (oy, ox) in the padded image, each uniform in
// [0, 2 * pad], and whether to flip. Three Rng calls: below(2 pad + 1), below(2 pad + 1), below(2).
struct CropFlip {
  int oy = 0, ox = 0;
  bool flip = false;
};
CropFlip draw_crop_flip(Rng& rng, int pad);

// dst = the crop of src ([C, H, W], zero-padded by `pad`) at (oy, ox), flipped left-right if
// `flip` (crop first, then flip, as torchvision's RandomCrop + RandomHorizontalFlip):
//   dst[c][y][x] = src[c][y + oy - pad][x' + ox - pad], x' = flip ? W - 1 - x : x, 0 outside src.
// With oy = ox = pad and no flip, dst = src. dst must not overlap src.
void crop_flip(const float* src, float* dst, int c, int h, int w, int pad, const CropFlip& t);

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
