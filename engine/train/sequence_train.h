// Mini-batch training of a SequenceModel with cross-entropy and Adam, seeded shuffling, optional
// gradient-norm clipping; and accuracy on a split. The loop of train.h, for token sequences.
#pragma once
#include <cstdint>
#include <functional>

#include "engine/data/sequences.h"
#include "engine/sequence_model.h"

namespace advx {

struct SequenceTrainConfig {
  int epochs = 5;
  int batch = 32;
  float lr = 1e-3f;        // Adam (betas 0.9, 0.999)
  float clip = 0.0f;       // > 0: scale the gradient to at most this global L2 norm (torch.nn.utils.clip_grad_norm_)
  std::uint64_t seed = 1;  // shuffling (initialisation is the caller's SequenceModel::init)
  int limit = 0;           // use only the first `limit` training samples (0 = all)
  // OpenMP threads while training (0 = all). Default 1: these models are small (a step's products
  // are [32, 32] x [32, 128]), and with 2 threads every batch's fork/join (the projections, Adam's
  // split of the embedding) cost more than it saved: SMS, embedding 32, hidden 32, batch 32, 1000
  // messages per epoch took 1.07 s on 2 threads against 0.13 s on 1, while other builds shared the
  // 2 cores (the idle OpenMP thread spins and competes with the working one).
  int threads = 1;
};

struct SequenceEpoch {
  int epoch = 0, epochs = 0;
  double loss = 0.0;      // mean training loss over the epoch
  double accuracy = 0.0;  // training accuracy over the epoch (on the fly, before each step)
  double seconds = 0.0;   // of this epoch
};

// Trains in place; calls `progress` after every epoch (may be empty). Throws advx::Error on bad
// settings or a non-finite loss. `epoch_data`, when set, gives the split to train on in each epoch
// (1-based; it must stay valid until the next call), e.g. a training split with adversarials crafted
// against the model as it is (sequence_adversarial.h); `data` is then only the first epoch's size
// hint and is not read. Without it, every epoch trains on `data`.
void train_sequence_model(SequenceModel& m, const SequenceSplit& data, const SequenceTrainConfig& cfg,
                          const std::function<void(const SequenceEpoch&)>& progress,
                          const std::function<const SequenceSplit&(int epoch)>& epoch_data = nullptr);

// Fraction of `data` classified correctly, in batches of `batch`.
double sequence_accuracy(SequenceModel& m, const SequenceSplit& data, int batch = 256);

}  // namespace advx
