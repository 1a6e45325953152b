// The training loop (engine/train/trainer.h): natural, adversarial per batch, or on a static
// adversarial set, one step at a time.
//
// Per batch B of (x, y), with adversarial training (engine/train/train.h, AdvTraining):
//   x_adv = attack(model, x, y)                      the registered attack, seeded by (seed, epoch, batch),
//                                                    on the model as it is now, eval-mode forward
//   J~    = a * CE(x, y) + (1 - a) * CE(x_adv, y)    CE = mean softmax cross-entropy over the batch
//   grad  = a * dCE(x)/dW + (1 - a) * dCE(x_adv)/dW  two forward/backward passes adding into the
//                                                    weight gradients (only the second when a = 0)
// then one optimiser step. The attack's own backward passes ask for the input gradient only (no
// weight gradients), which is all FGSM / PGD need. The learning rate comes from the position alone
// (lr_schedule), so nothing about it needs saving.
#include "engine/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <numeric>

#include "engine/attacks/attack.h"
#include "engine/error.h"
#include "engine/layers/layers.h"
#include "engine/loss.h"
#include "engine/models.h"
#include "engine/parallel.h"

namespace advx {
namespace {

constexpr int kPrepareBatch = 256;  // images per prepare step (static adversarial set)

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& cfg) {
  std::unique_ptr<Optimizer> o;
  if (cfg.optimizer == "adam")
    o = std::make_unique<Adam>(cfg.lr);
  else
    o = std::make_unique<SGD>(cfg.lr, cfg.momentum, cfg.nesterov);
  o->weight_decay = cfg.weight_decay;
  return o;
}

}  // namespace

const char* lr_schedule_name(LrSchedule s) {
  switch (s) {
    case LrSchedule::Cyclic:
      return "cyclic";
    case LrSchedule::Step:
      return "step";
    case LrSchedule::Exp:
      break;
  }
  return "exp";
}

const char* phase_name(Trainer::Phase p) {
  switch (p) {
    case Trainer::Phase::Prepare:
      return "prepare";
    case Trainer::Phase::Train:
      return "train";
    case Trainer::Phase::Evaluate:
      return "evaluate";
    case Trainer::Phase::Done:
      return "done";
  }
  return "?";
}

EpochEval default_epoch_eval(const TrainConfig& cfg, int n) {
  EpochEval e;
  e.n = n;
  if (!cfg.adv.enabled() || !cfg.adv.params.has("eps")) return e;
  const double eps = cfg.adv.params.number("eps");
  e.attack = "pgd";
  e.params = defaults(get_attack("pgd").params);
  e.params.set("eps", eps);
  e.params.set("steps", 10);
  e.params.set("step_size", eps / 4.0);
  return e;
}

void check_config(const TrainConfig& c) {
  ADVX_REQUIRE(c.epochs >= 1 && c.epochs <= 100000, "epochs must be in 1..100000, got " + std::to_string(c.epochs));
  ADVX_REQUIRE(c.batch >= 1 && c.batch <= 100000, "batch size must be in 1..100000, got " + std::to_string(c.batch));
  ADVX_REQUIRE(std::isfinite(c.lr) && c.lr > 0.0f, "learning rate must be > 0");
  ADVX_REQUIRE(c.lr_decay > 0.0f && c.lr_decay <= 1.0f, "lr decay must be in (0, 1]");
  ADVX_REQUIRE(c.lr_schedule != LrSchedule::Cyclic || c.lr_decay == 1.0f,
               "lr decay applies to the exp and step schedules only; the cyclic one rises and falls by itself");
  ADVX_REQUIRE(c.lr_schedule == LrSchedule::Step || c.lr_milestones.empty(),
               "learning-rate milestones belong to the step schedule (--lr-schedule step)");
  ADVX_REQUIRE(c.lr_schedule != LrSchedule::Step || !c.lr_milestones.empty(),
               "the step schedule needs its milestones, e.g. --lr-milestones 60,120 (the epochs after which "
               "the rate is multiplied by --lr-decay)");
  for (size_t i = 0; i < c.lr_milestones.size(); ++i)
    ADVX_REQUIRE(c.lr_milestones[i] >= 1 && (i == 0 || c.lr_milestones[i] > c.lr_milestones[i - 1]),
                 "learning-rate milestones must be increasing epochs >= 1, got " + std::to_string(c.lr_milestones[i]) +
                     " at position " + std::to_string(i + 1));
  ADVX_REQUIRE(c.optimizer == "adam" || c.optimizer == "sgd",
               "unknown optimizer '" + c.optimizer + "'; use adam or sgd");
  ADVX_REQUIRE(std::isfinite(c.weight_decay) && c.weight_decay >= 0.0f && c.weight_decay < 1.0f,
               "weight decay must be in [0, 1), got " + std::to_string(c.weight_decay));
  ADVX_REQUIRE(std::isfinite(c.momentum) && c.momentum >= 0.0f && c.momentum < 1.0f,
               "momentum must be in [0, 1), got " + std::to_string(c.momentum));
  ADVX_REQUIRE(!c.nesterov || (c.optimizer == "sgd" && c.momentum > 0.0f),
               "Nesterov momentum needs --optimizer sgd with a momentum > 0");
  ADVX_REQUIRE(c.limit >= 0, "limit must be >= 0 (0: all training samples)");
  ADVX_REQUIRE(c.parts >= 1 && c.part >= 0 && c.part < c.parts, "part must be in 0.." + std::to_string(c.parts - 1) +
                                                                    " of " + std::to_string(c.parts) + " parts, got " +
                                                                    std::to_string(c.part));
  ADVX_REQUIRE(!c.augment || (c.augment_pad >= 0 && c.augment_pad <= 64),
               "augmentation needs a padding of 0-64 pixels, got " + std::to_string(c.augment_pad));
  if (c.adv.enabled()) {
    const AttackSpec& a = get_attack(c.adv.attack);
    ADVX_REQUIRE(a.gradient, "adversarial training needs a gradient attack; '" + a.name +
                                 "' is black-box (use one of the white-box attacks)");
    check_values(a.params, c.adv.params, "");
    for (const ParamSpec& p : a.params)
      ADVX_REQUIRE(c.adv.params.has(p.key),
                   "adversarial training with '" + a.name + "' needs its parameter '" + p.key + "' (" + p.help + ")");
    ADVX_REQUIRE(
        c.adv.clean_weight >= 0.0f && c.adv.clean_weight <= 1.0f,
        "the clean weight a of a*J(x) + (1-a)*J(x_adv) must be in [0, 1], got " + std::to_string(c.adv.clean_weight));
    ADVX_REQUIRE(!c.augment, "augmentation and adversarial training together are not supported: choose one");
    ADVX_REQUIRE(!c.standardize,
                 "standardised inputs and adversarial training together are not supported: the attack works on "
                 "pixels; train without --standardize");
  }
  ADVX_REQUIRE(!c.standardize || c.micro_batch == 0,
               "standardised inputs are not supported with micro-batches (the first layer is folded per batch)");
  ADVX_REQUIRE(c.eval.n >= 0, "the per-epoch evaluation size must be >= 0");
  ADVX_REQUIRE(c.eval.batch >= 1, "the per-epoch evaluation batch must be >= 1, got " + std::to_string(c.eval.batch));
  ADVX_REQUIRE(c.shards >= 1 && c.shards <= 64,
               "shards must be in 1..64 (1: no data parallelism), got " + std::to_string(c.shards));
  ADVX_REQUIRE(!c.standardize || c.shards == 1,
               "standardised inputs are not supported with shards (the first layer is folded per batch)");
  ADVX_REQUIRE(c.micro_batch >= 0,
               "micro_batch must be >= 0 (0: the whole batch per step), got " + std::to_string(c.micro_batch));
  ADVX_REQUIRE(c.overfit_check >= 0,
               "the overfitting check's size must be >= 0 (0: off), got " + std::to_string(c.overfit_check));
  ADVX_REQUIRE(std::isfinite(c.overfit_drop) && c.overfit_drop >= 0.0f && c.overfit_drop <= 1.0f,
               "the overfitting check's drop must be in [0, 1] (accuracy points as a fraction, e.g. 0.2), got " +
                   std::to_string(c.overfit_drop));
  ADVX_REQUIRE(c.overfit_check == 0 || (c.adv.enabled() && c.eval.attack == "pgd"),
               "the overfitting check (Wong et al.'s early stopping) runs the per-epoch PGD at the training eps: it "
               "needs adversarial training with an attack that has an eps (e.g. --adv pgd)");
  if (!c.eval.attack.empty()) {
    const AttackSpec& a = get_attack(c.eval.attack);
    check_values(a.params, c.eval.params, "");
    for (const ParamSpec& p : a.params)
      ADVX_REQUIRE(c.eval.params.has(p.key), "the per-epoch evaluation with '" + a.name + "' needs its parameter '" +
                                                 p.key + "' (" + p.help + ")");
  }
}

Trainer::Trainer(Sequential& m, const Dataset& data, TrainConfig cfg, const Dataset* val, Classifier* adv_source)
    : m_(m),
      data_(data),
      val_(val),
      source_(adv_source),
      cfg_(std::move(cfg)),
      rng_(cfg_.seed),
      // A second stream for augmentation, so that switching it on leaves the shuffling order as it was.
      aug_rng_(cfg_.seed ^ 0x9E3779B97F4A7C15ull) {
  check_config(cfg_);
  const int n = cfg_.limit > 0 ? std::min(cfg_.limit, data_.size()) : data_.size();
  ADVX_REQUIRE(n > 0, "no training data");
  ADVX_REQUIRE(static_cast<std::int64_t>(data_.labels.size()) == data_.size(),
               "training set: labels and images differ in number");
  base_ = static_cast<int>(static_cast<std::int64_t>(n) * cfg_.part / cfg_.parts);
  count_ = static_cast<int>(static_cast<std::int64_t>(n) * (cfg_.part + 1) / cfg_.parts) - base_;
  ADVX_REQUIRE(count_ > 0, "part " + std::to_string(cfg_.part) + " of " + std::to_string(cfg_.parts) + " of " +
                               std::to_string(n) + " training samples is empty: use fewer parts");
  ADVX_REQUIRE(!cfg_.augment || data_.images.rank() == 4,
               "augmentation needs images [N, C, H, W], got " + shape_str(data_.images.shape));
  check_input(m_, data_.images.slice(0, 1), true);  // the model fits the data (e.g. not cnn on cifar10)
  if (source_) {
    ADVX_REQUIRE(cfg_.adv.enabled(), "a static adversarial source model needs an attack (AdvTraining::attack)");
    ADVX_REQUIRE(source_->input_shape() == m_.input_shape() && source_->num_classes() == m_.num_classes(),
                 "the adversarial source model '" + source_->name() + "' reads " + shape_str(source_->input_shape()) +
                     " with " + std::to_string(source_->num_classes()) + " classes; the trained model '" + m_.name() +
                     "' reads " + shape_str(m_.input_shape()) + ": they must be the same task");
  }
  if (cfg_.eval.n > 0) {
    ADVX_REQUIRE(val_ && val_->size() > 0, "a per-epoch evaluation needs a validation set");
    check_input(m_, val_->images.slice(0, 1), true);
    eval_set_ = val_->head(std::min(cfg_.eval.n, val_->size()));
  }
  // The first samples of the part trained on, in their stored order.
  if (cfg_.overfit_check > 0) check_set_ = data_.slice(base_, std::min(cfg_.overfit_check, count_));
  order_.resize(static_cast<size_t>(count_ * (source_ ? 2 : 1)));
  std::iota(order_.begin(), order_.begin() + count_, base_);
  if (source_) std::iota(order_.begin() + count_, order_.end(), data_.size());  // the adversarial copies
  ADVX_REQUIRE(static_cast<std::int64_t>(data_.size()) + count_ < (1 << 24),
               "too many training samples for a checkpoint's order (at most 16.7 million)");
  if (cfg_.standardize) {
    auto* conv = m_.layers.empty() ? nullptr : dynamic_cast<Conv2d*>(m_.layers.front().get());
    ADVX_REQUIRE(conv && conv->padding == 0 && data_.images.rank() == 4,
                 "--standardize needs images [N, C, H, W] and a model whose first layer is a convolution without "
                 "padding (where the standardisation folds in exactly), e.g. cifar_lenet");
    const int c = data_.images.shape[1];
    const std::int64_t plane = static_cast<std::int64_t>(data_.images.shape[2]) * data_.images.shape[3];
    channel_mean_.assign(static_cast<size_t>(c), 0.0f);
    channel_std_.assign(static_cast<size_t>(c), 0.0f);
    for (int ch = 0; ch < c; ++ch) {
      double sum = 0.0, sq = 0.0;
      for (int i = base_; i < base_ + count_; ++i) {
        const float* p = data_.images.ptr() + (static_cast<std::int64_t>(i) * c + ch) * plane;
        for (std::int64_t k = 0; k < plane; ++k) sum += p[k], sq += static_cast<double>(p[k]) * p[k];
      }
      const double count = static_cast<double>(count_) * static_cast<double>(plane);
      const double mean = sum / count, var = std::max(0.0, sq / count - mean * mean);
      ADVX_REQUIRE(var > 1e-12, "--standardize: channel " + std::to_string(ch) +
                                    " of the training images is constant; nothing to standardise");
      channel_mean_[static_cast<size_t>(ch)] = static_cast<float>(mean);
      channel_std_[static_cast<size_t>(ch)] = static_cast<float>(std::sqrt(var));
    }
  }
  opt_ = make_optimizer(cfg_);
  params_ = m_.params();
  if (cfg_.shards > 1) {
    for (const LayerPtr& l : m_.layers)
      ADVX_REQUIRE(l->kind() != "Dropout", "--shards: the model '" + m_.name() +
                                               "' has dropout, whose random masks the replicas cannot share; "
                                               "train without --shards");
    shard_.resize(static_cast<size_t>(cfg_.shards));
    for (int s = 1; s < cfg_.shards; ++s) {
      replicas_.push_back(make_model(m_.arch, 0, false));  // weights: m_'s, copied every step
      replica_params_.push_back(replicas_.back().params());
      const std::vector<Param>& rp = replica_params_.back();
      bool same = rp.size() == params_.size();
      for (size_t i = 0; same && i < rp.size(); ++i) same = rp[i].value->shape == params_[i].value->shape;
      ADVX_REQUIRE(same, "--shards: the model's layers differ from the architecture '" + m_.arch +
                             "' it names; train without --shards");
    }
  }
  batches_ = (samples() + cfg_.batch - 1) / cfg_.batch;
  phase_ = source_ ? Phase::Prepare : Phase::Train;
  last_.epochs = cfg_.epochs;
  last_.batches = batches_;
}

Trainer::~Trainer() = default;

double Trainer::progress() const {
  if (phase_ == Phase::Done) return 1.0;
  return (static_cast<double>(epoch_ - 1) * batches_ + batch_) / (static_cast<double>(cfg_.epochs) * batches_);
}

float Trainer::learning_rate(int epoch, int batch) const {
  if (cfg_.lr_schedule == LrSchedule::Exp) return cfg_.lr * std::pow(cfg_.lr_decay, static_cast<float>(epoch - 1));
  if (cfg_.lr_schedule == LrSchedule::Step) {
    float lr = cfg_.lr;
    for (const int m : cfg_.lr_milestones)
      if (epoch > m) lr *= cfg_.lr_decay;
    return lr;
  }
  // Wong et al.'s triangle: 0 -> lr at 2E/5 -> 0 at E, t in epochs.
  const double e = cfg_.epochs, t = (epoch - 1) + static_cast<double>(batch + 1) / batches_;
  const double peak = 0.4 * e;
  const double f = t <= peak ? t / peak : std::max(0.0, (e - t) / (e - peak));
  return static_cast<float>(cfg_.lr * f);
}

bool Trainer::step() {
  switch (phase_) {
    case Phase::Prepare:
      prepare_step();
      break;
    case Phase::Train:
      train_step();
      break;
    case Phase::Evaluate:
      evaluate_step();
      break;
    case Phase::Done:
      break;
  }
  return done();
}

bool Trainer::run_epoch() {
  const std::size_t epochs_before = history_.size();
  while (!done() && history_.size() == epochs_before) step();
  return done();
}

void Trainer::prepare_step() {
  const int b = prepared_, count = std::min(kPrepareBatch, count_ - prepared_);
  if (adv_set_.shape.empty()) {
    Shape s = data_.images.shape;
    s[0] = count_;
    adv_set_ = Tensor(s);
  }
  const Tensor x = data_.images.slice(base_ + b, count);
  Goal goal;
  goal.labels.assign(data_.labels.begin() + base_ + b, data_.labels.begin() + base_ + b + count);
  // A stream of its own, apart from the per-batch seeds of the training loop.
  const std::uint64_t seed = mix_seed(cfg_.seed ^ 0x5851F42D4C957F2Dull, static_cast<std::uint64_t>(b));
  const AttackResult r = run_attack(get_attack(cfg_.adv.attack), AttackInput{*source_, cross_entropy_objective(), x,
                                                                             goal, cfg_.adv.params, seed, false});
  std::copy(r.adv.data.begin(), r.adv.data.end(), adv_set_.ptr() + static_cast<std::int64_t>(b) * x.sample_size());
  prepared_ += count;
  if (prepared_ < count_) return;
  phase_ = resume_phase_;
  if (phase_ == Phase::Evaluate) end_epoch();  // the epoch's evaluation and check restart
}

void Trainer::gather_batch(int begin, int count) {
  Shape s = data_.images.shape;
  s[0] = count;
  xb_.resize(s);
  yb_.resize(static_cast<size_t>(count));
  const std::int64_t per = data_.images.sample_size();
  for (int k = 0; k < count; ++k) {
    const int id = order_[static_cast<size_t>(begin + k)];
    const bool copy = id >= data_.size();  // a static adversarial copy
    const int i = copy ? base_ + (id - data_.size()) : id;
    const float* src =
        copy ? adv_set_.ptr() + static_cast<std::int64_t>(i - base_) * per : data_.images.ptr() + i * per;
    float* dst = xb_.ptr() + static_cast<std::int64_t>(k) * per;
    if (cfg_.augment)
      crop_flip(src, dst, s[1], s[2], s[3], cfg_.augment_pad, draw_crop_flip(aug_rng_, cfg_.augment_pad));
    else
      std::copy_n(src, per, dst);
    yb_[static_cast<size_t>(k)] = data_.labels[static_cast<size_t>(i)];
  }
}

void Trainer::train_step() {
  const auto t0 = std::chrono::steady_clock::now();
  if (batch_ == 0 && part_ == 0) {
    // Fisher-Yates with our own Rng: the same seed gives the same order on every platform.
    for (int i = samples() - 1; i > 0; --i)
      std::swap(order_[static_cast<size_t>(i)],
                order_[static_cast<size_t>(rng_.below(static_cast<std::uint64_t>(i) + 1))]);
    loss_sum_ = 0.0, seconds_ = 0.0, correct_ = 0, seen_ = 0;
  }
  opt_->lr = learning_rate(epoch_, batch_);
  const int begin = batch_ * cfg_.batch, count = std::min(cfg_.batch, samples() - begin);
  // This step's part of the batch (all of it without micro-batches), and its share of the batch's
  // mean loss: the parts' gradients add up to the batch's.
  const int size = cfg_.micro_batch > 0 ? std::min(cfg_.micro_batch, count) : count;
  const int first = part_ * size, n = std::min(size, count - first);
  const float share = static_cast<float>(n) / static_cast<float>(count);
  gather_batch(begin + first, n);
  std::uint64_t seed = 0;  // of this part's adversarials (per-batch adversarial training)
  if (cfg_.adv.enabled() && !source_) {
    seed = mix_seed(cfg_.seed, static_cast<std::uint64_t>(epoch_ - 1) * static_cast<std::uint64_t>(batches_) +
                                   static_cast<std::uint64_t>(batch_));
    if (cfg_.micro_batch > 0) seed = mix_seed(seed, static_cast<std::uint64_t>(part_) + 1);
  }
  if (cfg_.standardize) {
    const int c = xb_.shape[1];
    const std::int64_t plane = xb_.sample_size() / c;
    for (int k = 0; k < n; ++k)
      for (int ch = 0; ch < c; ++ch) {
        float* p = xb_.ptr() + (static_cast<std::int64_t>(k) * c + ch) * plane;
        const float mean = channel_mean_[static_cast<size_t>(ch)], inv = 1.0f / channel_std_[static_cast<size_t>(ch)];
        for (std::int64_t i = 0; i < plane; ++i) p[i] = (p[i] - mean) * inv;
      }
    fold_standardization(false);
  }
  if (part_ == 0) m_.zero_grad();  // the parts of a batch add into the same gradients
  double loss = 0.0;               // this part's mean
  try {
    if (cfg_.shards > 1) {
      loss = learn_sharded(n, share, seed);
    } else {
      learn(m_, xb_, yb_, share, seed, whole_);
      loss = whole_.loss;
      correct_ += whole_.correct;
    }
  } catch (...) {
    if (cfg_.standardize) fold_standardization(true);  // the model the caller keeps reads pixels again
    throw;
  }
  loss_sum_ += loss * n;
  seen_ += n;
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (first + n < count) {  // more parts of this batch to come
    ++part_;
    return;
  }
  part_ = 0;
  opt_->step(params_);
  if (cfg_.standardize) fold_standardization(true);
  ++batch_;
  last_.epoch = epoch_, last_.batch = batch_;
  last_.loss = loss_sum_ / static_cast<double>(seen_);
  last_.accuracy = static_cast<double>(correct_) / static_cast<double>(seen_);
  last_.seconds = seconds_;
  last_.images_per_s = static_cast<double>(seen_) / std::max(seconds_, 1e-9);
  last_.lr = opt_->lr;
  last_.epoch_done = batch_ == batches_;
  if (last_.epoch_done) end_epoch();
}

void Trainer::learn(Sequential& model, const Tensor& x, const std::vector<int>& y, float share, std::uint64_t seed,
                    Work& w) {
  const bool per_batch_adv = cfg_.adv.enabled() && !source_;
  const Tensor* input = &x;  // what the (last) forward pass learns from
  if (per_batch_adv) {
    AttackResult r = run_attack(get_attack(cfg_.adv.attack), AttackInput{model, cross_entropy_objective(), x,
                                                                         Goal{y, {}}, cfg_.adv.params, seed, false});
    w.xadv = std::move(r.adv);
    input = &w.xadv;
  }
  const float a = per_batch_adv ? cfg_.adv.clean_weight : 0.0f;
  w.loss = 0.0, w.correct = 0;
  if (a > 0.0f) {  // the clean term a * J(x, y)
    const float l = cross_entropy(model.forward(x, true), y, Reduction::Mean, &w.dlogits);
    ADVX_REQUIRE(std::isfinite(l), "training diverged (loss is not finite) at epoch " + std::to_string(epoch_) +
                                       "; lower the learning rate");
    for (float& g : w.dlogits.data) g *= a * share;
    model.backward(w.dlogits, nullptr, true);
    w.loss += static_cast<double>(a) * l;
  }
  const Tensor& logits = model.forward(*input, true);
  const float l = cross_entropy(logits, y, Reduction::Mean, &w.dlogits);
  ADVX_REQUIRE(std::isfinite(l), "training diverged (loss is not finite) at epoch " + std::to_string(epoch_) +
                                     "; lower the learning rate");
  const std::vector<int> pred = argmax_rows(logits);
  for (size_t k = 0; k < y.size(); ++k) w.correct += pred[k] == y[k];
  if (a > 0.0f || share < 1.0f)
    for (float& g : w.dlogits.data) g *= (1.0f - a) * share;
  model.backward(w.dlogits, nullptr, true);
  w.loss += static_cast<double>(1.0f - a) * l;
}

double Trainer::learn_sharded(int n, float share, std::uint64_t seed) {
  const int shards = std::min(cfg_.shards, n);  // every shard has a sample
  const std::int64_t per = xb_.sample_size();
  for (int s = 0; s < shards; ++s) {
    Work& w = shard_[static_cast<size_t>(s)];
    const int b = static_cast<int>(static_cast<std::int64_t>(n) * s / shards);
    const int e = static_cast<int>(static_cast<std::int64_t>(n) * (s + 1) / shards);
    Shape sh = xb_.shape;
    sh[0] = e - b;
    w.x.resize(sh);
    std::copy_n(xb_.ptr() + b * per, (e - b) * per, w.x.ptr());
    w.y.assign(yb_.begin() + b, yb_.begin() + e);
    if (s == 0) continue;  // shard 0 learns on m_ itself
    std::vector<Param>& rp = replica_params_[static_cast<size_t>(s - 1)];
    for (size_t i = 0; i < rp.size(); ++i) {  // the replica holds m_'s weights, and no gradient yet
      *rp[i].value = *params_[i].value;
      rp[i].grad->fill(0.0f);
    }
  }
  // Shards side by side. Inside, max_threads() is 1 (engine/parallel.h), so each shard's layers
  // run on its own thread, and what a shard computes does not depend on the thread count.
  std::vector<std::exception_ptr> errors(static_cast<size_t>(shards));
  parallel_for(shards, 1e9, [&](int s) {
    Work& w = shard_[static_cast<size_t>(s)];
    Sequential& model = s == 0 ? m_ : replicas_[static_cast<size_t>(s - 1)];
    const float part = share * static_cast<float>(w.y.size()) / static_cast<float>(n);
    try {
      learn(model, w.x, w.y, part, mix_seed(seed, 0x5AD5000ull + static_cast<std::uint64_t>(s)), w);
    } catch (...) {
      errors[static_cast<size_t>(s)] = std::current_exception();
    }
  });
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  double loss = 0.0;
  for (int s = 0; s < shards; ++s) {
    const Work& w = shard_[static_cast<size_t>(s)];
    loss += w.loss * static_cast<double>(w.y.size()) / n;
    correct_ += w.correct;
    if (s == 0) continue;
    const std::vector<Param>& rp = replica_params_[static_cast<size_t>(s - 1)];
    for (size_t i = 0; i < rp.size(); ++i) {
      float* g = params_[i].grad->ptr();
      const float* r = rp[i].grad->ptr();
      for (std::int64_t k = 0, len = params_[i].grad->size(); k < len; ++k) g[k] += r[k];
    }
  }
  return loss;
}

void Trainer::fold_standardization(bool fold) {
  auto& conv = dynamic_cast<Conv2d&>(*m_.layers.front());
  const int c = conv.in_ch;
  const std::int64_t k = static_cast<std::int64_t>(conv.kernel) * conv.kernel;  // weight [O, C, K, K]
  for (int o = 0; o < conv.out_ch; ++o) {
    double shift = 0.0;  // sum over the filter of W * mean_c (in the pixel parametrisation)
    for (int ch = 0; ch < c; ++ch) {
      float* w = conv.weight.ptr() + (static_cast<std::int64_t>(o) * c + ch) * k;
      const float mean = channel_mean_[static_cast<size_t>(ch)], sd = channel_std_[static_cast<size_t>(ch)];
      for (std::int64_t i = 0; i < k; ++i) {
        if (fold) w[i] /= sd;  // standardised -> pixels: W = W' / std
        shift += static_cast<double>(w[i]) * mean;
        if (!fold) w[i] *= sd;  // pixels -> standardised: W' = W std
      }
    }
    // pixels: b = b' - sum W mean; standardised: b' = b + sum W mean (W the pixel-space weights)
    conv.bias.ptr()[o] += static_cast<float>(fold ? -shift : shift);
  }
}

void Trainer::end_epoch() {
  pending_ = EpochStats{};
  pending_.epoch = epoch_;
  pending_.loss = seen_ ? loss_sum_ / static_cast<double>(seen_) : 0.0;
  pending_.train_acc = seen_ ? static_cast<double>(correct_) / static_cast<double>(seen_) : 0.0;
  pending_.seconds = seconds_;
  if (cfg_.eval.n > 0 || cfg_.overfit_check > 0) {
    phase_ = Phase::Evaluate;
    start_evaluation(cfg_.eval.n == 0);
    return;
  }
  finish_epoch();
}

void Trainer::start_evaluation(bool check) {
  EvalConfig ec;
  if (!cfg_.eval.attack.empty())
    ec.attack = registered_attack(get_attack(cfg_.eval.attack), cfg_.eval.params, cfg_.eval.seed);
  ec.batch = cfg_.eval.batch;
  ec.keep_adv = false;
  checking_ = check;
  eval_ = std::make_unique<Evaluation>(m_, check ? check_set_ : eval_set_, ec);
}

void Trainer::evaluate_step() {
  if (!eval_->step()) return;
  const EvalResult r = eval_->result();
  eval_.reset();
  if (checking_) {
    pending_.check_n = r.n, pending_.check_acc = r.adv_acc;
    checking_ = false;
  } else {
    pending_.eval_n = r.n, pending_.clean_acc = r.clean_acc, pending_.robust_acc = r.adv_acc;
    if (cfg_.overfit_check > 0) {
      start_evaluation(true);
      return;
    }
  }
  finish_epoch();
}

void Trainer::finish_epoch() {
  EpochStats s = pending_;
  if (cfg_.overfit_check > 0) {
    // Every epoch in the history passed the check (a stop ends the run): the last is the one to beat.
    if (!history_.empty() && s.check_acc < history_.back().check_acc - static_cast<double>(cfg_.overfit_drop)) {
      // Catastrophic overfitting (Wong et al. 2020): back to the last epoch that passed.
      for (size_t i = 0; i < params_.size(); ++i) *params_[i].value = prev_weights_[i];
      s.stopped = true;
    } else {
      prev_weights_.resize(params_.size());
      for (size_t i = 0; i < params_.size(); ++i) prev_weights_[i] = *params_[i].value;
    }
  }
  history_.push_back(s);
  ++epoch_;
  batch_ = 0;
  phase_ = epoch_ > cfg_.epochs || s.stopped ? Phase::Done : Phase::Train;
}

}  // namespace advx
