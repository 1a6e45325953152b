// The stepwise Trainer: adversarial training through the attack registry (FGSM-RS is Wong et al.'s
// algorithm), the cyclic learning rate, per-epoch clean and robust accuracy, checkpoints that resume
// to the same weights bit for bit, and clear errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "engine/attacks/attack.h"
#include "engine/data/dataset.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/loss.h"
#include "engine/models.h"
#include "engine/optim.h"
#include "engine/train/recipes.h"
#include "engine/train/trainer.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

// n random images with labels that depend on the image (mean brightness), so there is something to learn.
Dataset toy_set(int n, std::uint64_t seed) {
  Dataset d;
  d.name = "toy";
  d.images = test::random_images(n, seed);
  const std::int64_t per = d.images.sample_size();
  for (int i = 0; i < n; ++i) {
    double s = 0.0;
    for (std::int64_t j = 0; j < per; ++j) s += d.images.data[static_cast<size_t>(i * per + j)] * (j % 7);
    d.labels.push_back(static_cast<int>(s) % 10);
  }
  return d;
}

// Wong et al.'s recipe at toy scale: FGSM with random start = the registry's pgd with one step.
TrainConfig fgsm_rs_config() {
  TrainConfig c;
  c.epochs = 2;
  c.batch = 32;
  c.lr = 5e-3f;
  c.lr_schedule = LrSchedule::Cyclic;
  c.seed = 3;
  c.adv.attack = "pgd";
  c.adv.params = defaults(get_attack("pgd").params);
  c.adv.params.set("eps", 0.3);
  c.adv.params.set("steps", 1);
  c.adv.params.set("step_size", 0.375);
  c.adv.params.set("unclipped_start", 1);
  return c;
}

std::vector<float> weights(Sequential& m) {
  std::vector<float> w;
  for (const Param& p : m.params()) w.insert(w.end(), p.value->data.begin(), p.value->data.end());
  return w;
}

// Natural training (attack "") or Goodfellow et al.'s mixed loss with FGSM (deterministic
// adversarials) at toy scale: one epoch of batches of 32.
TrainConfig one_epoch_config(const char* attack) {
  TrainConfig c;
  c.epochs = 1;
  c.batch = 32;
  c.lr = 1e-3f;
  c.seed = 5;
  if (*attack) {
    c.adv.attack = attack;
    c.adv.params = defaults(get_attack(attack).params);
    c.adv.params.set("eps", 0.1);
    c.adv.clean_weight = 0.5f;
  }
  return c;
}

// Steps a Trainer over `m` to the end; returns the steps taken and its last epoch.
int train_to_end(Sequential& m, const Dataset& d, const TrainConfig& c, EpochStats* last) {
  Trainer t(m, d, c);
  int steps = 1;
  while (!t.step()) ++steps;
  *last = t.history().back();
  return steps;
}

// Two models' weights agree up to float rounding (max |a - b| <= 1e-4 max |a|), and are not equal
// when `differ` (another summation order).
void require_rounding_apart(Sequential& ma, Sequential& mb, bool differ) {
  const std::vector<float> a = weights(ma), b = weights(mb);
  REQUIRE(a.size() == b.size());
  if (differ) REQUIRE(a != b);
  float worst = 0.0f, scale = 0.0f;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i])), scale = std::max(scale, std::abs(a[i]));
  INFO("max |diff| " << worst << " of max |w| " << scale);
  REQUIRE(worst <= 1e-4f * scale);
}

}  // namespace

TEST_CASE("Rng state and optimiser state round-trip", "[trainer]") {
  Rng a(5);
  for (int i = 0; i < 1000; ++i) a.next_u64();
  Rng b(99);
  b.set_state(a.state());
  for (int i = 0; i < 100; ++i) REQUIRE(a.next_u64() == b.next_u64());
  REQUIRE_THROWS_WITH(b.set_state("12 34"), Catch::Contains("not a random generator state"));
  REQUIRE(mix_seed(1, 0) != mix_seed(1, 1));
  REQUIRE(mix_seed(1, 0) != mix_seed(2, 0));

  Sequential m = make_model("softmax", 1);
  const std::vector<Param> params = m.params();
  for (const Param& p : params) p.grad->fill(0.5f);
  Adam opt(0.01f), copy(0.01f);
  opt.step(params);
  copy.set_state(params, opt.state(params));
  Sequential m2 = make_model("softmax", 1);
  const std::vector<Param> p2 = m2.params();
  for (size_t i = 0; i < params.size(); ++i) *p2[i].value = *params[i].value, p2[i].grad->fill(0.25f);
  for (const Param& p : params) p.grad->fill(0.25f);
  opt.step(params);
  copy.step(p2);
  REQUIRE(weights(m) == weights(m2));
  OptimizerState bad = opt.state(params);
  bad.buffers.begin()->second.pop_back();
  REQUIRE_THROWS_WITH(copy.set_state(p2, bad), Catch::Contains("wrong size"));
}

TEST_CASE("FGSM with random start through the registry is Wong, Rice, Kolter 2020's algorithm", "[trainer]") {
  // Their MNIST training: delta = U(-eps, eps) (not clipped: the gradient is taken at x + delta even
  // where that is below 0 or above 1); delta += alpha sign(grad); delta clipped to [-eps, eps], then
  // to [0, 1] - x. With unclipped_start off, the start is clipped to [0, 1] first (Madry's PGD).
  Sequential m = make_model("small", 4);
  const Tensor x = test::random_images(6, 8);
  const std::vector<int> y = {0, 1, 2, 3, 4, 5};
  const float eps = 0.3f, alpha = 0.375f;
  const std::uint64_t seed = 17;
  for (bool unclipped : {true, false}) {
    INFO("unclipped start " << unclipped);
    ParamValues p = defaults(get_attack("pgd").params);
    p.set("eps", eps), p.set("steps", 1), p.set("step_size", alpha), p.set("unclipped_start", unclipped);
    const AttackResult r =
        run_attack(get_attack("pgd"), AttackInput{m, cross_entropy_objective(), x, Goal{y, {}}, p, seed, false});
    Rng rng(seed);
    Tensor start = x;
    for (float& v : start.data) v += rng.uniform(-eps, eps);
    if (!unclipped)
      for (size_t j = 0; j < x.data.size(); ++j)
        start.data[j] =
            std::min(std::max(start.data[j], std::max(x.data[j] - eps, 0.0f)), std::min(x.data[j] + eps, 1.0f));
    Tensor g;
    m.loss_input_gradient(start, y, g);
    int differ = 0;
    for (size_t j = 0; j < x.data.size(); ++j) {
      float delta = start.data[j] - x.data[j] + alpha * static_cast<float>((g.data[j] > 0.0f) - (g.data[j] < 0.0f));
      delta = std::min(std::max(delta, -eps), eps);
      const float expect = std::min(std::max(x.data[j] + delta, 0.0f), 1.0f);
      REQUIRE(r.adv.data[j] == Approx(expect).margin(1e-6));
      differ += std::fabs(start.data[j] - std::min(std::max(start.data[j], 0.0f), 1.0f)) > 0.0f;
    }
    CHECK((differ > 0) == unclipped);  // the unclipped start did leave [0, 1] somewhere
  }
  // With early stop and restarts the unclipped start is never kept as a result: every pixel in [0, 1].
  ParamValues p = defaults(get_attack("pgd").params);
  p.set("eps", 0.3), p.set("steps", 3), p.set("unclipped_start", 1), p.set("early_stop", 1), p.set("restarts", 3);
  const AttackResult r = run_attack(get_attack("pgd"), AttackInput{m, cross_entropy_objective(), x, Goal{y, {}}, p, 5});
  for (float v : r.adv.data) REQUIRE((v >= 0.0f && v <= 1.0f));
}

TEST_CASE("Trainer: cyclic learning rate, mixed loss, per-epoch clean and robust accuracy", "[trainer]") {
  const Dataset d = toy_set(128, 1), val = toy_set(40, 2);
  TrainConfig c = fgsm_rs_config();
  c.eval = default_epoch_eval(c, 40);
  REQUIRE(c.eval.attack == "pgd");
  REQUIRE(c.eval.params.integer("steps") == 10);
  Sequential m = make_model("small", 1);
  Trainer t(m, d, c, &val);
  REQUIRE(t.samples() == 128);
  std::vector<double> lrs;
  while (!t.done()) {
    const bool training = t.phase() == Trainer::Phase::Train;
    t.step();
    if (training) lrs.push_back(t.last().lr);
  }
  // 2 epochs of 4 batches: t = 0.25 .. 2.0; peak at 2E/5 = 0.8 epochs, 0 at the end.
  REQUIRE(lrs.size() == 8);
  CHECK(lrs[0] == Approx(5e-3 * 0.25 / 0.8));
  CHECK(lrs[3] == Approx(5e-3 * (2.0 - 1.0) / 1.2));
  CHECK(lrs[7] == Approx(0.0).margin(1e-9));
  REQUIRE(t.history().size() == 2);
  for (const EpochStats& s : t.history()) {
    CHECK(s.eval_n == 40);
    CHECK(s.robust_acc <= s.clean_acc);
    CHECK(std::isfinite(s.loss));
  }
  // Goodfellow's mixed loss at a = 0.5 trains too, and the clean term changes the weights.
  TrainConfig mixed = c;
  mixed.eval = EpochEval{};
  mixed.adv.clean_weight = 0.5f;
  Sequential m1 = make_model("small", 1), m2 = make_model("small", 1);
  train(m1, d, mixed, nullptr);
  mixed.adv.clean_weight = 0.0f;
  train(m2, d, mixed, nullptr);
  REQUIRE(weights(m1) != weights(m2));
}

TEST_CASE("Trainer: micro-batches (a part per step) and shards give the batch's update, up to float rounding",
          "[trainer]") {
  // Natural and FGSM training (deterministic adversarials): the parts' or shards' gradients, each
  // weighted by its share, add up to the whole batch's, so the weights after an epoch agree to
  // rounding. Micro-batches of 8: the last batch (100 = 3 x 32 + 4) ends in a short part; three
  // shards cut a batch of 32 into 10 + 11 + 11 samples and the last one into 1 + 1 + 2.
  const Dataset d = toy_set(100, 4);
  for (const char* attack : {"", "fgsm"})
    for (const bool shards : {false, true}) {
      INFO(attack << (shards ? " 3 shards" : " micro-batches of 8"));
      const TrainConfig c = one_epoch_config(attack);
      TrainConfig cv = c;
      (shards ? cv.shards : cv.micro_batch) = shards ? 3 : 8;
      Sequential whole = make_model("small", 2), split = make_model("small", 2);
      EpochStats ew, ev;
      REQUIRE(train_to_end(whole, d, c, &ew) == 4);                   // 4 batches
      REQUIRE(train_to_end(split, d, cv, &ev) == (shards ? 4 : 13));  // 3 x 4 parts + 1 part of the last batch
      require_rounding_apart(whole, split, shards);
      REQUIRE(ew.loss == Approx(ev.loss).epsilon(1e-4));
      if (shards) REQUIRE(ew.train_acc == ev.train_acc);
    }
  // A checkpoint is taken between batches only.
  TrainConfig cm;
  cm.batch = 32;
  cm.micro_batch = 8;
  Sequential m = make_model("small", 2);
  Trainer t(m, d, cm);
  t.step();
  REQUIRE_THROWS_WITH(t.save_checkpoint(test::temp_path("micro.safetensors")), Catch::Contains("between batches"));
}

TEST_CASE("Trainer: shards give the same weights for any thread count, clear errors", "[trainer]") {
  const Dataset d = toy_set(100, 4);
#ifdef _OPENMP
  // FGSM-RS (random starts, so each shard's seed counts): one thread and two give the same bits.
  const int threads = omp_get_max_threads();
  std::vector<std::vector<float>> runs;
  for (const int t : {1, 2}) {
    omp_set_num_threads(t);
    TrainConfig c = fgsm_rs_config();
    c.epochs = 1;
    c.shards = 2;
    Sequential m = make_model("small", 2);
    EpochStats e;
    train_to_end(m, d, c, &e);
    runs.push_back(weights(m));
  }
  omp_set_num_threads(threads);
  REQUIRE(runs[0] == runs[1]);
#endif
  // Clear errors.
  TrainConfig bad;
  bad.shards = 0;
  REQUIRE_THROWS_WITH(check_config(bad), Catch::Contains("shards must be in 1..64"));
  bad.shards = 2;
  bad.standardize = true;
  REQUIRE_THROWS_WITH(check_config(bad), Catch::Contains("not supported with shards"));
}

TEST_CASE("Trainer: a run stopped and resumed from its checkpoint ends with the same weights, bit for bit",
          "[trainer]") {
  const Dataset d = toy_set(160, 5), val = toy_set(30, 6);
  const std::string path = test::temp_path("resume.safetensors");
  struct Case {
    const char* what;
    TrainConfig cfg;
    bool source;
  };
  TrainConfig natural;
  natural.epochs = 2, natural.batch = 32, natural.seed = 9, natural.optimizer = "sgd", natural.lr = 0.05f;
  natural.lr_decay = 0.5f;
  TrainConfig adversarial = fgsm_rs_config();
  adversarial.eval = default_epoch_eval(adversarial, 30);
  TrainConfig stat = fgsm_rs_config();
  stat.adv.source = "static source";
  stat.part = 1, stat.parts = 2;
  TrainConfig checked = fgsm_rs_config();  // with the previous epoch's weights in the checkpoint
  checked.epochs = 3;
  checked.eval = default_epoch_eval(checked, 30);
  checked.overfit_check = 40;
  for (const Case& k : {Case{"natural, sgd", natural, false}, Case{"fgsm-rs, evaluated", adversarial, false},
                        Case{"static set, part 1/2", stat, true}, Case{"fgsm-rs, overfitting check", checked, false}}) {
    INFO(k.what);
    Sequential source = make_model("softmax", 2);
    Classifier* src = k.source ? &source : nullptr;
    Sequential ref = make_model("small", 1);
    Trainer whole(ref, d, k.cfg, &val, src);
    int steps = 0;
    while (!whole.step()) ++steps;
    // Stop after s steps (mid-epoch, at the epoch boundary, inside the evaluation), resume in a new
    // Trainer on a freshly initialised model of another seed.
    for (int s : {3, 5, 6, steps - 1}) {
      INFO("stopped after " << s << " steps");
      {
        Sequential m = make_model("small", 1);
        Trainer t(m, d, k.cfg, &val, src);
        for (int i = 0; i < s && !t.done(); ++i) t.step();
        t.save_checkpoint(path);
      }
      std::string arch, dataset;
      const TrainConfig back = checkpoint_config(path, &arch, &dataset);
      REQUIRE(arch == "small");
      REQUIRE(dataset == "toy");
      REQUIRE(config_to_json(back) == config_to_json(k.cfg));
      Sequential m = make_model("small", 77);
      Trainer t(m, d, back, &val, src);
      t.load_checkpoint(path);
      while (!t.step()) {
      }
      REQUIRE(weights(m) == weights(ref));
      REQUIRE(t.history().size() == whole.history().size());
      for (size_t e = 0; e < t.history().size(); ++e) {
        CHECK(t.history()[e].loss == whole.history()[e].loss);
        CHECK(t.history()[e].robust_acc == whole.history()[e].robust_acc);
        CHECK(t.history()[e].check_acc == whole.history()[e].check_acc);
        CHECK(t.history()[e].check_n == (k.cfg.overfit_check > 0 ? 40 : 0));
      }
      REQUIRE(t.stopped_epoch() == whole.stopped_epoch());
    }
  }
  std::remove(path.c_str());
}

TEST_CASE("Trainer: the overfitting check (Wong et al.'s early stopping) goes back to the last epoch that passed",
          "[trainer]") {
  // Real digits (the test set standing in for training data), so that one epoch of FGSM-RS learns
  // some robustness at eps 0.1; then the weights are wiped, as a catastrophic collapse would: a
  // network of zeros predicts one class, and its check falls to that class's share.
  const Dataset d = load_dataset(resolve_data_dir(""), "mnist", "test").head(2000);
  TrainConfig c = fgsm_rs_config();
  c.epochs = 4, c.batch = 50;
  c.lr_schedule = LrSchedule::Exp, c.lr = 2e-3f;  // a constant rate: epoch 1 learns at full speed
  c.adv.params.set("eps", 0.1);
  c.adv.params.set("step_size", 0.125);
  c.eval = default_epoch_eval(c, 0);
  c.overfit_check = 300;
  Sequential m = make_model("small", 1);
  Trainer t(m, d, c);
  REQUIRE_FALSE(t.run_epoch());
  const EpochStats first = t.history().back();
  REQUIRE(first.check_n == 300);
  REQUIRE_FALSE(first.stopped);
  INFO("epoch 1: check accuracy " << first.check_acc);
  REQUIRE(first.check_acc > 0.4);  // 0.477 here
  const std::vector<float> kept = weights(m);
  for (const Param& p : m.params()) p.value->fill(0.0f);
  REQUIRE(t.run_epoch());  // done: stopped after epoch 2 of 4
  const EpochStats second = t.history().back();
  INFO("epoch 2: check accuracy " << second.check_acc);
  REQUIRE(second.check_acc < first.check_acc - 0.2);
  REQUIRE(second.stopped);
  REQUIRE(t.stopped_epoch() == 2);
  REQUIRE(t.history().size() == 2);
  REQUIRE(weights(m) == kept);

  // Off without adversarial training; the drop is a fraction in [0, 1].
  TrainConfig natural;
  natural.overfit_check = 10;
  REQUIRE_THROWS_WITH(check_config(natural), Catch::Contains("needs adversarial training"));
  c.overfit_drop = 2.0f;
  REQUIRE_THROWS_WITH(check_config(c), Catch::Contains("must be in [0, 1]"));
}

namespace {

// n random colour images [n, 3, 32, 32] with channel means unlike 1/2 and labels from their content.
Dataset toy_colour_set(int n, std::uint64_t seed) {
  Dataset d;
  d.name = "toy";
  Rng rng(seed);
  d.images = Tensor({n, 3, 32, 32});
  const std::int64_t plane = 32 * 32;
  for (int i = 0; i < n; ++i) {
    double s = 0.0;
    for (int c = 0; c < 3; ++c)
      for (std::int64_t j = 0; j < plane; ++j) {
        const float v = 0.2f * static_cast<float>(c) + 0.6f * rng.uniform() * (0.5f + 0.25f * static_cast<float>(c));
        d.images.data[static_cast<size_t>((i * 3 + c) * plane + j)] = v;
        s += v * static_cast<double>(j % 5);
      }
    d.labels.push_back(static_cast<int>(s) % 10);
  }
  return d;
}

}  // namespace

TEST_CASE("Trainer: standardised inputs are folded into the first convolution, the step schedule", "[trainer]") {
  const Dataset d = toy_colour_set(48, 4);
  TrainConfig c;
  c.epochs = 3, c.batch = 48, c.seed = 2, c.optimizer = "sgd", c.momentum = 0.0f, c.lr = 0.05f;
  c.lr_schedule = LrSchedule::Step, c.lr_milestones = {1, 2}, c.lr_decay = 0.5f;
  c.standardize = true;
  Sequential m = make_model("cifar_lenet", 1);
  // By hand: the same model with the standardisation unfolded into its first layer, trained on
  // standardised images, then folded back. Same batches (one batch of all 48: the order only
  // changes the summation order), same steps.
  Sequential h = make_model("cifar_lenet", 1);
  std::vector<double> mean(3), sd(3);
  const std::int64_t plane = 32 * 32;
  for (int ch = 0; ch < 3; ++ch) {
    double s = 0.0, q = 0.0;
    for (int i = 0; i < 48; ++i)
      for (std::int64_t j = 0; j < plane; ++j) {
        const double v = d.images.data[static_cast<size_t>((i * 3 + ch) * plane + j)];
        s += v, q += v * v;
      }
    mean[static_cast<size_t>(ch)] = s / (48.0 * plane);
    sd[static_cast<size_t>(ch)] =
        std::sqrt(q / (48.0 * plane) - mean[static_cast<size_t>(ch)] * mean[static_cast<size_t>(ch)]);
  }
  Dataset z = d;
  for (int i = 0; i < 48; ++i)
    for (int ch = 0; ch < 3; ++ch)
      for (std::int64_t j = 0; j < plane; ++j) {
        float& v = z.images.data[static_cast<size_t>((i * 3 + ch) * plane + j)];
        v = static_cast<float>((v - mean[static_cast<size_t>(ch)]) / sd[static_cast<size_t>(ch)]);
      }
  Tensor& w = *h.params()[0].value;  // [6, 3, 5, 5]
  Tensor& b = *h.params()[1].value;
  auto fold = [&](bool to_pixels) {
    for (int o = 0; o < 6; ++o) {
      double shift = 0.0;
      for (int ch = 0; ch < 3; ++ch)
        for (int k = 0; k < 25; ++k) {
          float& x = w.data[static_cast<size_t>((o * 3 + ch) * 25 + k)];
          if (to_pixels) x = static_cast<float>(x / sd[static_cast<size_t>(ch)]);
          shift += x * mean[static_cast<size_t>(ch)];
          if (!to_pixels) x = static_cast<float>(x * sd[static_cast<size_t>(ch)]);
        }
      b.data[static_cast<size_t>(o)] += static_cast<float>(to_pixels ? -shift : shift);
    }
  };
  fold(false);
  Trainer t(m, d, c);
  std::vector<double> rates;
  SGD sgd(0.05f, 0.0f);
  std::vector<Param> hp = h.params();
  Tensor dlogits;
  while (!t.done()) {
    t.step();
    rates.push_back(t.last().lr);
    h.zero_grad();
    cross_entropy(h.forward(z.images, true), z.labels, Reduction::Mean, &dlogits);
    h.backward(dlogits, nullptr, true);
    sgd.lr = static_cast<float>(t.last().lr);
    sgd.step(hp);
  }
  fold(true);
  REQUIRE(rates == std::vector<double>{0.05f, 0.025f, 0.0125f});  // lr * 0.5 after epochs 1 and 2
  const std::vector<float> got = weights(m), want = weights(h);
  REQUIRE(got.size() == want.size());
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
  CHECK(worst < 1e-5);
  // The saved model reads pixels: its logits on the images are the by-hand model's (folded) logits.
  const Tensor a = m.forward(d.images, false), e = h.forward(d.images, false);
  for (size_t i = 0; i < a.data.size(); ++i) CHECK(a.data[i] == Approx(e.data[i]).margin(1e-4));

  // Stopped and resumed from a checkpoint: the same weights, bit for bit (batches of 16, momentum).
  TrainConfig r = c;
  r.batch = 16, r.momentum = 0.9f, r.nesterov = true, r.weight_decay = 1e-3f, r.augment = true;
  Sequential whole = make_model("cifar_lenet", 1);
  Trainer full(whole, d, r);
  while (!full.step()) {
  }
  const std::string path = test::temp_path("standardize.safetensors");
  {
    Sequential part = make_model("cifar_lenet", 1);
    Trainer first(part, d, r);
    for (int i = 0; i < 4; ++i) first.step();
    first.save_checkpoint(path);
  }
  const TrainConfig back = checkpoint_config(path);
  REQUIRE(back.standardize);
  REQUIRE(back.lr_milestones == r.lr_milestones);
  Sequential resumed = make_model("cifar_lenet", 5);
  Trainer rest(resumed, d, back);
  rest.load_checkpoint(path);
  while (!rest.step()) {
  }
  REQUIRE(weights(resumed) == weights(whole));
  std::remove(path.c_str());

  // Clear errors: a first layer with padding, adversarial training, micro-batches, milestones.
  Sequential small = make_model("small", 1);
  REQUIRE_THROWS_WITH(Trainer(small, toy_set(8, 1), c), Catch::Contains("convolution without padding"));
  TrainConfig bad = fgsm_rs_config();
  bad.standardize = true;
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("standardised inputs and adversarial training"));
  bad = c;
  bad.micro_batch = 8;
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("micro-batches"));
  bad = c;
  bad.lr_milestones = {2, 2};
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("milestones must be increasing"));
  bad = c;
  bad.lr_milestones.clear();
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("needs its milestones"));
}

TEST_CASE("Trainer: clear errors before any work", "[trainer][errors]") {
  const Dataset d = toy_set(64, 1);
  Sequential m = make_model("small", 1);
  TrainConfig c = fgsm_rs_config();
  TrainConfig bad = c;
  bad.adv.attack = "nope";
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("unknown attack 'nope'"));
  bad = c;
  bad.adv.attack = "noise";
  bad.adv.params = defaults(get_attack("noise").params);
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("needs a gradient attack"));
  bad = c;
  bad.adv.params.set("eps", 2.0);
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("eps must be"));
  bad = c;
  bad.adv.clean_weight = 1.5f;
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("must be in [0, 1]"));
  bad = c;
  bad.augment = true;
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("augmentation and adversarial training"));
  bad = c;
  bad.part = 3, bad.parts = 3;
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("part must be in 0..2"));
  bad = c;
  bad.lr_decay = 0.5f;
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("lr decay applies to the exp and step schedules"));
  bad = c;
  bad.eval.n = 10;
  REQUIRE_THROWS_WITH(Trainer(m, d, bad), Catch::Contains("needs a validation set"));
  Sequential cifar = make_model("cifar_lenet", 1);
  REQUIRE_THROWS_WITH(Trainer(m, d, c, nullptr, &cifar), Catch::Contains("must be the same task"));
  // A checkpoint of another configuration, or no checkpoint at all.
  const std::string path = test::temp_path("other.safetensors");
  {
    Trainer t(m, d, c);
    t.step();
    t.save_checkpoint(path);
  }
  TrainConfig other = c;
  other.seed = 4;
  Trainer t(m, d, other);
  REQUIRE_THROWS_WITH(t.load_checkpoint(path), Catch::Contains("another configuration"));
  TensorFile f;
  f.tensors["x"] = Tensor({1});
  safetensors_save(f, path);
  REQUIRE_THROWS_WITH(t.load_checkpoint(path), Catch::Contains("not an advx training checkpoint"));
  std::remove(path.c_str());
}

TEST_CASE("Training recipes: the published settings from one parameter table", "[train]") {
  using namespace advx;
  ParamValues p = defaults(recipe_params());
  p.set("train_eps", 0.2);
  p.set("train_epochs", 4);
  p.set("train_images", 3000);
  for (const TrainRecipe& r : train_recipes()) {
    const TrainConfig c = r.config(p);
    INFO(r.name);
    check_config(c);  // throws if the recipe cannot run
    REQUIRE(c.epochs == 4);
    REQUIRE(c.limit == 3000);
    // Every recipe is evaluated the same way: clean and PGD-10 at the recipe's eps.
    REQUIRE(c.eval.attack == "pgd");
    REQUIRE(c.eval.params.number("eps") == Approx(0.2));
    REQUIRE(c.eval.params.integer("steps") == 10);
    if (r.name != "natural") REQUIRE(c.adv.params.number("eps") == Approx(0.2));
  }
  const TrainConfig wong = get_recipe("fgsm_rs").config(p);  // Wong, Rice, Kolter 2020's MNIST recipe
  REQUIRE(wong.adv.attack == "pgd");
  REQUIRE(wong.adv.params.integer("steps") == 1);
  REQUIRE(wong.adv.params.number("step_size") == Approx(0.25));  // 1.25 eps
  REQUIRE(wong.adv.params.flag("unclipped_start"));
  REQUIRE(wong.adv.clean_weight == 0.0f);
  REQUIRE(wong.lr_schedule == LrSchedule::Cyclic);
  REQUIRE(wong.batch == 100);
  REQUIRE(get_recipe("goodfellow").config(p).adv.clean_weight == 0.5f);
  REQUIRE(get_recipe("madry").config(p).adv.params.integer("steps") == 40);
  REQUIRE(!get_recipe("natural").config(p).adv.enabled());
  REQUIRE_THROWS_WITH(get_recipe("nope"), Catch::Contains("fgsm_rs"));
  p.set("train_images", 5);
  REQUIRE_THROWS_WITH(get_recipe("natural").config(p), Catch::Contains("train_images"));
  TrainConfig bad;
  bad.micro_batch = -1;
  REQUIRE_THROWS_WITH(check_config(bad), Catch::Contains("micro_batch must be >= 0"));
  bad.micro_batch = 0;
  bad.eval.batch = 0;
  REQUIRE_THROWS_WITH(check_config(bad), Catch::Contains("evaluation batch must be >= 1"));
}
