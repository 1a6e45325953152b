#include "engine/train/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>

#include "engine/error.h"
#include "engine/loss.h"
#include "engine/optim.h"
#include "engine/rng.h"

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
  ADVX_REQUIRE(cfg.epochs >= 1 && cfg.batch >= 1, "epochs and batch size must be >= 1");
  ADVX_REQUIRE(cfg.lr > 0.0f, "learning rate must be > 0");
  ADVX_REQUIRE(cfg.lr_decay > 0.0f && cfg.lr_decay <= 1.0f, "lr decay must be in (0, 1]");
  ADVX_REQUIRE(!cfg.augment || (data.images.rank() == 4 && cfg.augment_pad >= 0 && cfg.augment_pad <= 64),
               "augmentation needs images [N, C, H, W] and a padding of 0-64 pixels, got images " +
                   shape_str(data.images.shape) + " and padding " + std::to_string(cfg.augment_pad));
  const int n = cfg.limit > 0 ? std::min(cfg.limit, data.size()) : data.size();
  ADVX_REQUIRE(n > 0, "no training data");
  std::unique_ptr<Optimizer> opt;
  if (cfg.optimizer == "adam")
    opt = std::make_unique<Adam>(cfg.lr);
  else if (cfg.optimizer == "sgd")
    opt = std::make_unique<SGD>(cfg.lr, cfg.momentum);
  else
    throw Error("unknown optimizer '" + cfg.optimizer + "'; use adam or sgd");

  Rng rng(cfg.seed);
  // A second stream for augmentation, so that switching it on leaves the shuffling order as it was.
  Rng aug_rng(cfg.seed ^ 0x9E3779B97F4A7C15ull);
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const std::int64_t per = data.images.sample_size();
  Shape bshape = data.images.shape;
  Tensor xb, dlogits;
  std::vector<int> yb;
  const std::vector<Param> params = m.params();
  const int batches = (n + cfg.batch - 1) / cfg.batch;

  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    // Fisher-Yates with our own Rng: the same seed gives the same order on every platform.
    for (int i = n - 1; i > 0; --i)
      std::swap(order[static_cast<size_t>(i)],
                order[static_cast<size_t>(rng.below(static_cast<std::uint64_t>(i) + 1))]);
    opt->lr = cfg.lr * std::pow(cfg.lr_decay, static_cast<float>(epoch - 1));
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0.0;
    long correct = 0, seen = 0;
    for (int b = 0; b < batches; ++b) {
      const int begin = b * cfg.batch, count = std::min(cfg.batch, n - begin);
      bshape[0] = count;
      xb.resize(bshape);
      yb.resize(static_cast<size_t>(count));
      for (int k = 0; k < count; ++k) {
        const int i = order[static_cast<size_t>(begin + k)];
        const float* src = data.images.ptr() + i * per;
        float* dst = xb.ptr() + static_cast<std::int64_t>(k) * per;
        if (cfg.augment)
          crop_flip(src, dst, bshape[1], bshape[2], bshape[3], cfg.augment_pad,
                    draw_crop_flip(aug_rng, cfg.augment_pad));
        else
          std::copy_n(src, per, dst);
        yb[static_cast<size_t>(k)] = data.labels[static_cast<size_t>(i)];
      }
      const Tensor& logits = m.forward(xb, true);
      const float loss = cross_entropy(logits, yb, Reduction::Mean, &dlogits);
      const std::vector<int> pred = argmax_rows(logits);
      for (int k = 0; k < count; ++k) correct += pred[static_cast<size_t>(k)] == yb[static_cast<size_t>(k)];
      ADVX_REQUIRE(std::isfinite(loss), "training diverged (loss is not finite) at epoch " + std::to_string(epoch) +
                                            "; lower the learning rate");
      m.zero_grad();
      m.backward(dlogits, nullptr, true);
      opt->step(params);
      loss_sum += static_cast<double>(loss) * count;
      seen += count;
      if (progress) {
        TrainProgress p;
        p.epoch = epoch, p.epochs = cfg.epochs, p.batch = b + 1, p.batches = batches;
        p.loss = loss_sum / static_cast<double>(seen);
        p.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
        p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        p.images_per_s = static_cast<double>(seen) / std::max(p.seconds, 1e-9);
        p.epoch_done = (b + 1 == batches);
        progress(p);
      }
    }
  }
}

}  // namespace advx
