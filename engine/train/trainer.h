// The stepwise, resumable training loop behind `advx train`, train() and the playground's "train
// robustly" view.
//
// One step() is one unit of work, in this order:
//   prepare   (static adversarial training only) craft one batch of the adversarial training set
//             on the source model; repeated until the set is complete
//   train     one mini-batch: shuffle at the start of an epoch (Fisher-Yates, our Rng), gather the
//             batch, craft its adversarials on the model (adversarial training), forward, loss,
//             backward, optimiser step
//   evaluate  after an epoch, one batch of the clean + robust evaluation of EpochEval (the
//             engine's resumable Evaluation); its result goes into history()
// so a UI can run a few steps per frame and show the loss, the learning rate and, per epoch, the
// clean and robust accuracy.
//
// Checkpoints: save_checkpoint() writes, as one safetensors file, the model's weights
// ("model.<name>"), the optimiser's state ("optim.<slot>.<name>", its step count), the shuffling
// order ("order"), both Rng states, the position (epoch, batch, phase), the running sums of the
// epoch, the history and the whole configuration ("advx.checkpoint", JSON). A Trainer built with
// the same configuration, model architecture and data and then load_checkpoint() continues exactly
// where the saved one was: a run killed in the middle and resumed ends with the same weights, bit
// for bit, as a run never stopped (same build and thread count; tests/unit/test_trainer.cpp).
// Every random choice of a batch's attack is seeded from (seed, epoch, batch), so nothing else
// needs saving. What is not saved: the static adversarial set (the resumed Trainer crafts it again,
// deterministically, in its prepare steps) and an evaluation in progress (it restarts).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/eval/evaluate.h"
#include "engine/optim.h"
#include "engine/train/train.h"

namespace advx {

struct EpochStats {
  int epoch = 0;
  double loss = 0.0, train_acc = 0.0, seconds = 0.0;  // training loss, accuracy, time of the epoch
  int eval_n = 0;                                     // 0: no evaluation
  double clean_acc = 0.0, robust_acc = 0.0;           // on the first eval_n validation images
  int check_n = 0;                                    // TrainConfig::overfit_check: 0 when off
  double check_acc = 0.0;                             // its accuracy on the first check_n training samples
  bool stopped = false;  // the check fell too far: training stopped, the previous epoch's weights kept
};

class Trainer {
 public:
  enum class Phase { Prepare, Train, Evaluate, Done };

  // `m`, `data`, `val` and `adv_source` must outlive the Trainer. `val`: the validation set of
  // cfg.eval (required when cfg.eval.n > 0). `adv_source`: static adversarial training (see
  // AdvTraining) crafts on it; nullptr crafts per batch on `m`. Checks everything first
  // (check_config, the model fits the data, the source fits the model) and throws advx::Error.
  Trainer(Sequential& m, const Dataset& data, TrainConfig cfg, const Dataset* val = nullptr,
          Classifier* adv_source = nullptr);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One unit of work (see the top); true once every epoch is trained and evaluated.
  bool step();
  // Steps to the end of the current epoch, its evaluation included; true when done.
  bool run_epoch();
  bool done() const { return phase_ == Phase::Done; }
  Phase phase() const { return phase_; }
  double progress() const;  // 0..1 over the whole run (training batches; prepare and evaluation not counted)
  const TrainProgress& last() const { return last_; }                  // after the last training step
  const std::vector<EpochStats>& history() const { return history_; }  // one entry per finished epoch
  const TrainConfig& config() const { return cfg_; }
  int samples() const { return static_cast<int>(order_.size()); }  // training samples per epoch
  int epoch() const { return epoch_; }  // the epoch being trained (1-based; epochs + 1 when done)
  int batch() const { return batch_; }  // the next batch of it (0-based)
  // TrainConfig::overfit_check: the epoch whose check fell too far (0: none); the model then holds the
  // weights of the epoch before it.
  int stopped_epoch() const { return !history_.empty() && history_.back().stopped ? history_.back().epoch : 0; }

  void save_checkpoint(const std::string& path) const;
  // Restores a checkpoint written by a Trainer with the same configuration (checked: the recorded
  // configuration must equal this one's), architecture and number of training samples.
  void load_checkpoint(const std::string& path);

 private:
  void prepare_step();
  void train_step();
  void evaluate_step();
  void gather_batch(int begin, int count);  // order_[begin, begin + count) into xb_, yb_
  // What one shard (or the whole part, without shards) of a batch needs besides its model.
  struct Work {
    Tensor x, xadv, dlogits;  // x, y: the shard's samples (unused for the whole part: xb_, yb_)
    std::vector<int> y;
    double loss = 0.0;  // the mean J~ over these samples
    long correct = 0;   // of them, classified right by the training forward pass
  };
  // Learns from (x, y) on `model`: crafts the adversarials (per-batch adversarial training, seeded
  // by `seed`), then the forward and backward passes that add share * dJ~/dW into its gradients.
  void learn(Sequential& model, const Tensor& x, const std::vector<int>& y, float share, std::uint64_t seed, Work& w);
  // learn() over TrainConfig::shards parts of xb_ (n samples) side by side; the replicas'
  // gradients are added into m_'s. Returns the part's mean J~ and adds to correct_.
  double learn_sharded(int n, float share, std::uint64_t seed);
  void end_epoch();
  // The per-epoch evaluation on eval_set_, or (check) the overfitting check on check_set_, which
  // follows the evaluation when there is one.
  void start_evaluation(bool check);
  void finish_epoch();
  float learning_rate(int epoch, int batch) const;
  // TrainConfig::standardize: the first layer between the pixel and the standardised
  // parametrisation (fold: standardised -> pixels; unfold: pixels -> standardised).
  void fold_standardization(bool fold);

  Sequential& m_;
  const Dataset& data_;
  const Dataset* val_;
  Classifier* source_;
  TrainConfig cfg_;
  std::unique_ptr<Optimizer> opt_;
  std::vector<Param> params_;
  Rng rng_, aug_rng_;
  std::vector<int> order_;    // training sample ids (>= data.size(): the static adversarial copy)
  int base_ = 0, count_ = 0;  // the clean samples used: [base_, base_ + count_)
  Tensor adv_set_;            // static adversarial copies of samples [base_, base_ + count_)
  int prepared_ = 0;          // static copies crafted so far
  Phase phase_ = Phase::Train;
  Phase resume_phase_ = Phase::Train;        // where a run goes once its prepare steps are done
  int epoch_ = 1, batch_ = 0, batches_ = 0;  // the next batch to train (0-based) of epoch epoch_ (1-based)
  int part_ = 0;                             // the next part of that batch (TrainConfig::micro_batch)
  double loss_sum_ = 0.0, seconds_ = 0.0;
  long correct_ = 0, seen_ = 0;
  std::unique_ptr<Evaluation> eval_;
  Dataset eval_set_;
  bool checking_ = false;             // eval_ is the overfitting check, not the per-epoch evaluation
  EpochStats pending_;                // the epoch being evaluated: its evaluation's results so far
  Dataset check_set_;                 // TrainConfig::overfit_check: the first samples of the training set used
  std::vector<Tensor> prev_weights_;  // the last epoch that passed the check (empty before one did)
  std::vector<EpochStats> history_;
  TrainProgress last_;
  std::vector<float> channel_mean_, channel_std_;  // TrainConfig::standardize: the training images'
  // Scratch, reused across batches.
  Tensor xb_;
  std::vector<int> yb_;
  Work whole_;                        // without shards
  std::vector<Work> shard_;           // TrainConfig::shards > 1: one per shard
  std::vector<Sequential> replicas_;  // the models of shards 1.. (shard 0 learns on m_)
  std::vector<std::vector<Param>> replica_params_;
};

const char* phase_name(Trainer::Phase p);  // "prepare", "train", "evaluate", "done"

// The configuration recorded in a checkpoint (to build the Trainer that resumes it), the recorded
// architecture and training set's name. Throws advx::Error if the file is not an advx training
// checkpoint.
TrainConfig checkpoint_config(const std::string& path, std::string* arch = nullptr, std::string* dataset = nullptr);

// A configuration as JSON and back (the checkpoint's record; also the recipe printed by the CLI).
std::string config_to_json(const TrainConfig& cfg);
TrainConfig config_from_json(const std::string& text);

}  // namespace advx
