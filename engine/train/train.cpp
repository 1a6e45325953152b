#include "engine/train/train.h"

#include <algorithm>

#include "engine/train/trainer.h"

namespace advx {

CropFlip draw_crop_flip(Rng& rng, int pad) {
  const std::uint64_t span = 2 * static_cast<std::uint64_t>(pad) + 1;
  CropFlip t;
  t.oy = static_cast<int>(rng.below(span));
  t.ox = static_cast<int>(rng.below(span));
  t.flip = rng.below(2) == 1;
  return t;
}

void crop_flip(const float* src, float* dst, int c, int h, int w, int pad, const CropFlip& t) {
  const int dy = t.oy - pad, dx = t.ox - pad;  // source pixel = destination pixel + (dy, dx), before the flip
  for (int ch = 0; ch < c; ++ch) {
    const float* s = src + static_cast<std::int64_t>(ch) * h * w;
    float* d = dst + static_cast<std::int64_t>(ch) * h * w;
    for (int y = 0; y < h; ++y) {
      float* row = d + static_cast<std::int64_t>(y) * w;
      const int sy = y + dy;
      if (sy < 0 || sy >= h) {
        std::fill(row, row + w, 0.0f);
        continue;
      }
      const float* srow = s + static_cast<std::int64_t>(sy) * w;
      for (int x = 0; x < w; ++x) {
        const int sx = (t.flip ? w - 1 - x : x) + dx;
        row[x] = sx >= 0 && sx < w ? srow[sx] : 0.0f;
      }
    }
  }
}

void train(Sequential& m, const Dataset& data, const TrainConfig& cfg,
           const std::function<void(const TrainProgress&)>& progress) {
  Trainer t(m, data, cfg);
  while (!t.done()) {
    const bool trained = t.phase() == Trainer::Phase::Train;
    t.step();
    if (progress && trained) progress(t.last());
  }
}

}  // namespace advx
