#include "engine/train/sequence_train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "engine/error.h"
#include "engine/loss.h"
#include "engine/optim.h"
#include "engine/rng.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace advx {
namespace {

// Sets the calling thread's OpenMP thread count (what parallel_rows uses) for one scope.
class ScopedThreads {
 public:
  explicit ScopedThreads(int threads) {
#ifdef _OPENMP
    old_ = omp_get_max_threads();
    if (threads > 0) omp_set_num_threads(threads);
#else
    (void)threads;
#endif
  }
  ~ScopedThreads() {
#ifdef _OPENMP
    omp_set_num_threads(old_);
#endif
  }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
#ifdef _OPENMP
  int old_ = 1;
#endif
};

}  // namespace

void train_sequence_model(SequenceModel& m, const SequenceSplit& all, const SequenceTrainConfig& cfg,
                          const std::function<void(const SequenceEpoch&)>& progress,
                          const std::function<const SequenceSplit&(int epoch)>& epoch_data) {
  ADVX_REQUIRE(cfg.epochs >= 1 && cfg.batch >= 1, "epochs and batch size must be >= 1");
  ADVX_REQUIRE(cfg.lr > 0.0f, "learning rate must be > 0");
  ADVX_REQUIRE(cfg.clip >= 0.0f, "gradient clipping norm must be >= 0 (0 = off)");
  ADVX_REQUIRE(cfg.threads >= 0, "threads must be >= 0 (0 = all)");
  const ScopedThreads scoped(cfg.threads);
  Adam opt(cfg.lr);
  Rng rng(cfg.seed);
  std::vector<int> order;
  const std::vector<Param> params = m.params();
  std::vector<int> idx, yb;
  Tensor dlogits;
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    const SequenceSplit& data = epoch_data ? epoch_data(epoch) : all;
    const int n = cfg.limit > 0 ? std::min(cfg.limit, data.size()) : data.size();
    ADVX_REQUIRE(n > 0, "no training data");
    if (epoch == 1 || epoch_data) {  // the same order carries on from epoch to epoch over the same data
      for (int i = 0; i < n; ++i)
        ADVX_REQUIRE(data.labels[static_cast<size_t>(i)] >= 0 && data.labels[static_cast<size_t>(i)] < m.num_classes,
                     "training label " + std::to_string(data.labels[static_cast<size_t>(i)]) +
                         " is outside the model's " + std::to_string(m.num_classes) + " classes");
      if (static_cast<int>(order.size()) != n) {
        order.resize(static_cast<size_t>(n));
        std::iota(order.begin(), order.end(), 0);
      }
    }
    // Fisher-Yates with our own Rng, as engine/train/train.cpp.
    for (int i = n - 1; i > 0; --i)
      std::swap(order[static_cast<size_t>(i)],
                order[static_cast<size_t>(rng.below(static_cast<std::uint64_t>(i) + 1))]);
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0.0;
    long correct = 0;
    for (int begin = 0; begin < n; begin += cfg.batch) {
      const int count = std::min(cfg.batch, n - begin);
      idx.assign(order.begin() + begin, order.begin() + begin + count);
      yb.resize(static_cast<size_t>(count));
      for (int k = 0; k < count; ++k)
        yb[static_cast<size_t>(k)] = data.labels[static_cast<size_t>(idx[static_cast<size_t>(k)])];
      const Tensor& logits = m.forward(make_batch(data, idx), true);
      const float loss = cross_entropy(logits, yb, Reduction::Mean, &dlogits);
      ADVX_REQUIRE(std::isfinite(loss), "training diverged (loss is not finite) at epoch " + std::to_string(epoch) +
                                            "; lower the learning rate or set a clipping norm");
      const std::vector<int> pred = argmax_rows(logits);
      for (int k = 0; k < count; ++k) correct += pred[static_cast<size_t>(k)] == yb[static_cast<size_t>(k)];
      m.zero_grad();
      m.backward(dlogits, nullptr, true);
      if (cfg.clip > 0.0f) {
        // torch.nn.utils.clip_grad_norm_: g <- g * min(1, clip / (||g||_2 + 1e-6)) over all parameters.
        double sq = 0.0;
        for (const Param& p : params)
          for (float g : p.grad->data) sq += static_cast<double>(g) * g;
        const double coef = cfg.clip / (std::sqrt(sq) + 1e-6);
        if (coef < 1.0)
          for (const Param& p : params)
            for (float& g : p.grad->data) g = static_cast<float>(g * coef);
      }
      opt.step(params);
      loss_sum += static_cast<double>(loss) * count;
    }
    if (progress) {
      SequenceEpoch e;
      e.epoch = epoch, e.epochs = cfg.epochs;
      e.loss = loss_sum / n;
      e.accuracy = static_cast<double>(correct) / n;
      e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress(e);
    }
  }
}

double sequence_accuracy(SequenceModel& m, const SequenceSplit& data, int batch) {
  ADVX_REQUIRE(batch >= 1, "batch size must be >= 1");
  if (data.size() == 0) return 0.0;
  long correct = 0;
  for (int begin = 0; begin < data.size(); begin += batch) {
    const int count = std::min(batch, data.size() - begin);
    const std::vector<int> pred = m.predict(make_batch(data, begin, count));
    for (int k = 0; k < count; ++k)
      correct += pred[static_cast<size_t>(k)] == data.labels[static_cast<size_t>(begin + k)];
  }
  return static_cast<double>(correct) / data.size();
}

}  // namespace advx
