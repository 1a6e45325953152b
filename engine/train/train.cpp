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

void train(Sequential& m, const Dataset& data, const TrainConfig& cfg,
           const std::function<void(const TrainProgress&)>& progress) {
  ADVX_REQUIRE(cfg.epochs >= 1 && cfg.batch >= 1, "epochs and batch size must be >= 1");
  ADVX_REQUIRE(cfg.lr > 0.0f, "learning rate must be > 0");
  ADVX_REQUIRE(cfg.lr_decay > 0.0f && cfg.lr_decay <= 1.0f, "lr decay must be in (0, 1]");
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
        std::copy_n(data.images.ptr() + i * per, per, xb.ptr() + static_cast<std::int64_t>(k) * per);
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
