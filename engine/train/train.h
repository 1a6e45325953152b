// Mini-batch training with cross-entropy, seeded shuffling, natural or adversarial
// (engine/train/trainer.h has the stepwise, resumable Trainer that does the work; train() runs it
// to the end).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/model.h"
#include "engine/params.h"
#include "engine/rng.h"

namespace advx {

// Adversarial training: which examples the model learns from besides (or instead of) the clean ones.
//   loss  J~(x, y) = a J(x, y) + (1 - a) J(x_adv, y),   a = clean_weight
// with x_adv crafted for each batch, on the model being trained, by a registered gradient attack
// (engine/attacks/list.inc) with its parameter table's values. The three published recipes are
// three settings of it:
//   Goodfellow, Shlens, Szegedy 2015 (arXiv:1412.6572, section 6): fgsm, a = 0.5
//   Madry et al. 2018 (arXiv:1706.06083): pgd (random start, 40 steps of 0.01 at eps 0.3), a = 0
//   Wong, Rice, Kolter 2020 (arXiv:2001.03994), "FGSM with random start": pgd with one step of
//       size alpha = 1.25 eps from a uniform start in the eps-ball, a = 0 (with their cyclic
//       learning rate: TrainConfig::lr_schedule)
// Static: with a source model given to the Trainer, the adversarials are crafted once, before
// training, on that fixed model, and the model trains on the union of the clean and the
// adversarial set, shuffled together (the static sets of ensemble adversarial training: Tramer et
// al. 2018, arXiv:1705.07204). `clean_weight` does not apply then (each set is half the data).
struct AdvTraining {
  std::string attack;  // "" = natural training
  ParamValues params;  // the attack's parameters (defaults filled in by the caller)
  float clean_weight = 0.0f;
  std::string source;  // static: the source model as the caller names it (recorded, not loaded)
  bool enabled() const { return !attack.empty(); }
};

// The accuracy shown after every epoch: clean and under an attack, on the first `n` images of a
// validation set given to the Trainer (0: none).
struct EpochEval {
  int n = 0;
  std::string attack;  // "" = clean only
  ParamValues params;
  std::uint64_t seed = 0;
  int batch = 250;  // images per evaluation step (a UI takes fewer, to keep its frames short)
};

enum class LrSchedule {
  Exp,     // epoch e uses lr * lr_decay^(e-1) (torch ExponentialLR stepped per epoch)
  Cyclic,  // per batch, one triangle over the run: lr * interp(t, [0, 2E/5, E], [0, 1, 0]),
           // t = epochs done + (batch + 1) / batches (Wong et al. 2020's schedule, with 2E/5 as a real
           // number where their code floors it: the same for their E = 10)
  Step,    // epoch e uses lr * lr_decay^(number of milestones m < e): the rate is multiplied by
           // lr_decay after each milestone epoch (torch MultiStepLR, milestones counted from 1)
};
const char* lr_schedule_name(LrSchedule s);  // "exp", "cyclic", "step"

struct TrainConfig {
  int epochs = 1;
  int batch = 64;
  std::string optimizer = "adam";  // "adam" or "sgd"
  float lr = 1e-3f;                // the constant or starting rate (Exp), the peak (Cyclic)
  float lr_decay = 1.0f;           // Exp: per-epoch factor; Step: the factor at each milestone
  LrSchedule lr_schedule = LrSchedule::Exp;
  std::vector<int> lr_milestones;  // Step only: increasing epochs (1-based) after which lr *= lr_decay
  float momentum = 0.9f;           // sgd only
  bool nesterov = false;           // sgd only: Nesterov momentum (torch's form)
  float weight_decay = 0.0f;       // L2 penalty (wd / 2) |w|^2 on every parameter, torch's weight_decay
  std::uint64_t seed = 1;          // shuffling and the attack's random choices (initialisation is seeded by make_model)
  int limit = 0;                   // use only the first `limit` training samples (0 = all)
  // Train on part `part` (0-based) of `parts` contiguous, equal parts of the (limited) training set:
  // the members of a subsequence ensemble each see a different part. parts = 1: all of it.
  int part = 0, parts = 1;
  // Data augmentation for natural images (CIFAR-10), the usual one since He et al. 2016
  // (arXiv:1512.03385): each time a sample enters a batch, a random crop of its original size from
  // the image zero-padded by `augment_pad` pixels on every side, then a horizontal flip with
  // probability 1/2. Drawn from its own Rng seeded by `seed` (the shuffling order is the same with
  // or without it). Not for digits: a flipped 2 is no 2. Not with adversarial training.
  bool augment = false;
  int augment_pad = 4;
  // Per-channel standardisation of the inputs while training, (x - mean_c) / std_c with the training
  // images' own channel statistics, as the Keras CIFAR-10 recipes do (e.g. the LeNet of
  // Hyperparticle's one-pixel-attack-keras, after BIGBALLON/cifar-10-cnn). The shipped model still
  // reads [0, 1] pixels: between steps the first layer (a convolution without padding) holds the
  // standardisation folded in, W' = W / std_c, b' = b - sum W mean_c / std_c, which is exact; each
  // step unfolds it, trains on standardised inputs and folds it back. The optimiser's state lives in
  // the standardised parametrisation, where the step is taken (a different path from training on
  // raw pixels: the first layer's effective step size is scaled by 1 / std_c^2). Not with adversarial
  // training or micro-batches.
  bool standardize = false;
  AdvTraining adv;
  EpochEval eval;
  // Images per Trainer::step() (0: the whole batch). Smaller splits each batch into parts whose
  // gradients add up before the batch's one optimiser step: the same update up to float rounding
  // (each part's mean loss weighted by its share of the batch), with the adversarials of each part
  // seeded by (seed, epoch, batch, part). For a UI that must keep its frames short; a checkpoint
  // is written between batches only.
  int micro_batch = 0;
  // Data-parallel shards: each batch (or micro-batch part) is cut into `shards` contiguous parts,
  // each learnt on its own replica of the model (its adversarials crafted there, seeded by (seed,
  // epoch, batch, part, shard)), the shards side by side on the engine's threads, every shard's
  // layers on one thread; their weight gradients are summed in shard order before the one optimiser
  // step. The same update as one pass over the batch up to float rounding, and the same weights,
  // bit for bit, for any thread count. Why: small models' layers on a batch of 100 are too small to
  // keep two threads busy inside each layer (every layer call is a fork and a join; BENCHMARKS.md,
  // FGSM-RS epoch), while whole shards are. 1: off. Models of a known architecture (make_model)
  // without dropout only.
  int shards = 1;
  // Early stopping against catastrophic overfitting, as Wong, Rice, Kolter 2020 (arXiv:2001.03994)
  // use it in their CIFAR-10 code: after every epoch, the per-epoch evaluation's attack (EpochEval:
  // PGD-10 at the training eps) on the first `overfit_check` samples of the training set used; when
  // that accuracy falls more than `overfit_drop` below the previous epoch's, training stops and the
  // model goes back to the previous epoch's weights. Theirs checks one training batch with PGD-5 and
  // a drop of 0.2. Training images, never test images: the choice of an epoch must not see the
  // test set. 0: off. Needs adversarial training whose attack has an eps.
  int overfit_check = 0;
  float overfit_drop = 0.2f;
};

// The per-epoch evaluation `advx train` shows on the first n validation images: clean and, with
// adversarial training whose attack has an "eps", PGD-10 at that eps (step eps / 4, random start,
// seed 0): a stronger check than the FGSM-like attacks some recipes train with.
EpochEval default_epoch_eval(const TrainConfig& cfg, int n);

// Throws advx::Error for a configuration that cannot run (what is wrong and how to fix it), before
// any work: ranges, an unknown optimiser, an unknown or non-gradient attack or bad parameters for
// it, augmentation with adversarial training, a part outside its parts.
void check_config(const TrainConfig& cfg);

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
  double loss = 0.0;      // running mean over this epoch so far (the mixed loss J~ when adversarial)
  double accuracy = 0.0;  // running training accuracy over this epoch so far (on the adversarials
                          // when adversarial, on the clean images otherwise)
  double seconds = 0.0;   // training time in this epoch so far (the epoch's evaluation excluded)
  double images_per_s = 0.0;
  double lr = 0.0;  // the rate of the last batch
  bool epoch_done = false;
};

// Trains to the end (a Trainer stepped until done, engine/train/trainer.h); `progress` after every
// batch. Natural training when cfg.adv is empty; per-epoch evaluation needs the Trainer itself.
void train(Sequential& m, const Dataset& data, const TrainConfig& cfg,
           const std::function<void(const TrainProgress&)>& progress);

}  // namespace advx
