// advx train: natural or adversarial training (engine/train/trainer.h), resumable from a checkpoint.
// The adversarial attack and its parameters come from the attack registry's tables (--adv NAME and
// the same --eps, --steps, --step-size flags as eval), so no attack is spelled here.
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "engine/data/dataset.h"
#include "engine/eval/evaluate.h"
#include "engine/io/file.h"
#include "engine/io/model_io.h"
#include "engine/models.h"
#include "engine/parallel.h"
#include "engine/train/autoencoder.h"
#include "engine/train/trainer.h"

namespace advx::cli {

void setup_train(Command& c) {
  std::string archs;
  for (const ArchInfo& i : architectures())
    archs += (archs.empty() ? "" : ", ") + i.name + (i.autoencoder ? " (autoencoder)" : "");
  c.option("model", "the architecture: " + archs, "NAME");
  c.option("out", "where to save the trained weights (safetensors)", "FILE");
  c.option("epochs", "passes over the training set (default 1)", "N");
  c.option("seed", "initialisation, shuffling and the training attack's seed (default 1)", "S");
  c.option("batch", "batch size (default 64)", "B");
  c.option("lr", "learning rate: the starting one, or the peak of --lr-schedule cyclic (default 0.001)", "LR");
  c.option("optimizer", "adam (default) or sgd", "NAME");
  c.option("lr-decay",
           "learning rate factor per epoch (exp schedule) or at each milestone (step schedule), in (0, 1] (default 1)",
           "F");
  c.option("momentum", "sgd's momentum, in [0, 1) (default 0.9)", "MU");
  c.flag("nesterov", "sgd with Nesterov momentum (torch's form)");
  c.option("weight-decay", "L2 penalty on every weight, as torch's weight_decay (default 0)", "WD");
  c.option("lr-schedule",
           "exp (default: lr * lr-decay^(epoch-1)), cyclic (per batch, 0 -> lr at 2/5 of the run -> 0; Wong, Rice, "
           "Kolter 2020) or step (lr * lr-decay after each of --lr-milestones; torch's MultiStepLR)",
           "NAME");
  c.option("lr-milestones", "the step schedule's epochs after which the rate is multiplied by --lr-decay, e.g. 60,120",
           "E1,E2,...");
  c.option("limit", "train on the first N images only (default: all)", "N");
  c.option("part", "train on part I (0-based) of N equal, contiguous parts of the training set, e.g. 2/5", "I/N");
  c.option("dataset", "mnist (default), fashion-mnist, cifar10 (the 50k JPEG training images)", "NAME");
  c.option("shards",
           "data-parallel shards per batch, each on its own model replica and thread, gradients summed (default 1; "
           "2 is faster for small models on 2 cores, and gives the same weights for any thread count)",
           "K");
  c.flag("augment", "random crop (4-pixel zero padding) and horizontal flip per image, seeded (for cifar10)");
  c.flag("standardize",
         "train on per-channel standardised inputs (the training images' mean and std), folded into the first "
         "convolution so the saved model still reads [0, 1] pixels (for cifar10, as the Keras recipes)");
  std::string list;
  for (const AttackSpec& a : attacks())
    if (a.gradient) list += (list.empty() ? "" : ", ") + a.name;
  c.option("adv",
           "adversarial training: craft every batch's adversarials with this attack (" + list +
               ") and its parameters (--eps, --steps, --step-size, ...; see advx eval --help) on the model being "
               "trained",
           "ATTACK");
  c.table_options(attack_tables());
  c.option("adv-weight", "a in the loss a*J(x,y) + (1-a)*J(x_adv,y), in [0, 1] (default 0; Goodfellow et al.: 0.5)",
           "A");
  c.option("adv-source",
           "craft the adversarials once, on this fixed model, and train on the clean plus the adversarial set "
           "(static, as in ensemble adversarial training)",
           "NAME|FILE");
  c.option("eval-n",
           "after every epoch: accuracy on the first N test images, clean and (with --adv) under PGD-10 at the "
           "training eps (default 2000; 1000 with --adv; 0: none)",
           "N");
  c.option("overfit-check",
           "early stopping against catastrophic overfitting (Wong, Rice, Kolter 2020): after every epoch, the "
           "per-epoch PGD on the first N training images; if its accuracy falls more than --overfit-drop below "
           "the previous epoch's, stop and keep the previous epoch's weights (default 0: off; needs --adv)",
           "N");
  c.option("overfit-drop", "the fall in --overfit-check's accuracy that stops training, in [0, 1] (default 0.2)", "D");
  c.option("checkpoint", "write a resumable checkpoint here after every epoch (and every --checkpoint-every batches)",
           "FILE");
  c.option("checkpoint-every", "also write the checkpoint every N batches (default: only after epochs)", "N");
  c.option("resume",
           "continue the run saved in this checkpoint (its recorded settings; give only --out and "
           "optionally --checkpoint, --data, --quiet)",
           "FILE");
  c.option("noise",
           "autoencoders: Gaussian noise (standard deviation, pixels) on the inputs: a denoising "
           "autoencoder (default 0)",
           "S");
  c.option("contractive",
           "autoencoders: weight of the contractive penalty |dh/dx|_F^2 on the first hidden layer "
           "(default 0)",
           "L");
  c.option("data", "the data folder (default $ADVX_DATA, else ../shared/data)", "DIR");
  c.flag("quiet", "no per-batch progress line");
}

namespace {

// --part I/N
void parse_part(const std::string& s, TrainConfig& cfg) {
  const auto slash = s.find('/');
  ADVX_REQUIRE(slash != std::string::npos, "--part must look like I/N (part I of N, 0-based), got '" + s + "'");
  const ParamSpec parts = int_param("parts", 1, 1000, 1, "");
  cfg.parts = static_cast<int>(parse_value(parts, s.substr(slash + 1), "--part's N"));
  const ParamSpec part = int_param("part", 0, cfg.parts - 1, 0, "");
  cfg.part = static_cast<int>(parse_value(part, s.substr(0, slash), "--part's I"));
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The command that reproduces the run (stored in the weights' metadata).
std::string recipe(const std::string& arch, const std::string& dataset, const TrainConfig& c) {
  std::string r = "advx train --model " + arch + (dataset != "mnist" ? " --dataset " + dataset : "") + " --epochs " +
                  std::to_string(c.epochs) + " --seed " + std::to_string(c.seed) + " --batch " +
                  std::to_string(c.batch) + " --optimizer " + c.optimizer + " --lr " + fmt(c.lr);
  if (c.lr_schedule != LrSchedule::Exp) r += std::string(" --lr-schedule ") + lr_schedule_name(c.lr_schedule);
  if (c.lr_decay != 1.0f) r += " --lr-decay " + fmt(c.lr_decay);
  if (c.optimizer == "sgd" && c.momentum != TrainConfig{}.momentum) r += " --momentum " + fmt(c.momentum);
  if (c.nesterov) r += " --nesterov";
  if (c.weight_decay != 0.0f) r += " --weight-decay " + fmt(c.weight_decay);
  if (!c.lr_milestones.empty()) {
    r += " --lr-milestones ";
    for (size_t i = 0; i < c.lr_milestones.size(); ++i) r += (i ? "," : "") + std::to_string(c.lr_milestones[i]);
  }
  if (c.augment) r += " --augment";
  if (c.standardize) r += " --standardize";
  if (c.shards != 1) r += " --shards " + std::to_string(c.shards);
  if (c.limit > 0) r += " --limit " + std::to_string(c.limit);
  if (c.parts > 1) r += " --part " + std::to_string(c.part) + "/" + std::to_string(c.parts);
  if (c.adv.enabled()) {
    r += " --adv " + c.adv.attack;
    const AttackSpec& a = get_attack(c.adv.attack);
    for (const ParamSpec& p : a.params) {
      const double v = c.adv.params.number(p.key);
      if (p.type == ParamType::Bool) {
        if (v != 0.0) r += " --" + cli_name(p.key);
      } else {
        r += " --" + cli_name(p.key) + " " + format_value(p, v);
      }
    }
    if (c.adv.clean_weight > 0.0f) r += " --adv-weight " + fmt(c.adv.clean_weight);
    if (c.overfit_check > 0)
      r += " --overfit-check " + std::to_string(c.overfit_check) + " --overfit-drop " + fmt(c.overfit_drop);
    if (!c.adv.source.empty()) r += " --adv-source " + c.adv.source;
  }
  return r;
}

// The settings of a new run, from the flags.
TrainConfig config_from_flags(const Command& a) {
  TrainConfig cfg;
  cfg.epochs = a.integer("epochs", 1, 1, 10000);
  cfg.seed = static_cast<std::uint64_t>(a.integer("seed", 1, 0, 2147483647));
  cfg.batch = a.integer("batch", 64, 1, 100000);
  cfg.lr = static_cast<float>(a.number("lr", 1e-3, 1e-9, 10.0));
  cfg.optimizer = a.str("optimizer", "adam");
  ADVX_REQUIRE(cfg.optimizer == "adam" || cfg.optimizer == "sgd",
               "--optimizer must be adam or sgd, got '" + cfg.optimizer + "'");
  cfg.lr_decay = static_cast<float>(a.number("lr-decay", 1.0, 1e-6, 1.0));
  cfg.momentum = static_cast<float>(a.number("momentum", 0.9, 0.0, 0.999999));
  cfg.nesterov = a.has("nesterov");
  cfg.weight_decay = static_cast<float>(a.number("weight-decay", 0.0, 0.0, 0.999999));
  ADVX_REQUIRE(cfg.optimizer == "sgd" || (!a.has("momentum") && !cfg.nesterov),
               "--momentum and --nesterov are sgd's; add --optimizer sgd");
  const std::string sched = a.str("lr-schedule", "exp");
  ADVX_REQUIRE(sched == "exp" || sched == "cyclic" || sched == "step",
               "--lr-schedule must be exp, cyclic or step, got '" + sched + "'");
  cfg.lr_schedule = sched == "cyclic" ? LrSchedule::Cyclic : sched == "step" ? LrSchedule::Step : LrSchedule::Exp;
  if (a.has("lr-milestones")) {
    ADVX_REQUIRE(cfg.lr_schedule == LrSchedule::Step, "--lr-milestones belongs to --lr-schedule step");
    const std::string list = a.str("lr-milestones");
    const ParamSpec epoch = int_param("milestone", 1, 10000, 1, "");
    size_t start = 0;
    while (start <= list.size()) {
      const size_t comma = std::min(list.find(',', start), list.size());
      cfg.lr_milestones.push_back(
          static_cast<int>(parse_value(epoch, list.substr(start, comma - start), "--lr-milestones")));
      start = comma + 1;
    }
  }
  ADVX_REQUIRE(cfg.lr_schedule != LrSchedule::Step || a.has("lr-milestones"),
               "--lr-schedule step needs --lr-milestones E1,E2,... (the epochs after which the rate is multiplied "
               "by --lr-decay)");
  ADVX_REQUIRE(!(a.has("lr-decay") && cfg.lr_schedule == LrSchedule::Cyclic),
               "--lr-decay applies to --lr-schedule exp and step; the cyclic schedule rises and falls by itself");
  cfg.limit = a.integer("limit", 0, 0, 100000000);
  if (a.has("part")) parse_part(a.str("part"), cfg);
  cfg.augment = a.has("augment");
  cfg.standardize = a.has("standardize");
  cfg.shards = a.integer("shards", 1, 1, 64);
  // --adv and the attack's parameters; no attack parameter without --adv.
  const std::string adv = a.str("adv");
  const AttackSpec* spec = nullptr;
  if (!adv.empty()) {
    spec = find_attack(adv);
    ADVX_REQUIRE(spec, "unknown --adv '" + adv + "'; use one of " + attack_names());
    ADVX_REQUIRE(spec->gradient, "--adv needs a gradient attack; '" + adv + "' is black-box");
  }
  const std::string owner = spec ? "--adv " + spec->name : "training without --adv";
  a.reject_others(spec ? spec->params : std::vector<ParamSpec>{}, owner, attack_tables());
  ADVX_REQUIRE(spec || (!a.has("adv-weight") && !a.has("adv-source")),
               "--adv-weight and --adv-source need --adv ATTACK (" + attack_names() + ")");
  if (spec) {
    cfg.adv.attack = spec->name;
    cfg.adv.params = a.params(spec->params, owner);
    cfg.adv.clean_weight = static_cast<float>(a.number("adv-weight", 0.0, 0.0, 1.0));
    ADVX_REQUIRE(!(a.has("adv-weight") && a.has("adv-source")),
                 "--adv-weight is for adversarials crafted per batch; with --adv-source the clean and the adversarial "
                 "set are simply trained on together");
    cfg.adv.source = a.str("adv-source");
  }
  cfg.eval = default_epoch_eval(cfg, a.integer("eval-n", spec ? 1000 : 2000, 0, 1000000));
  cfg.overfit_check = a.integer("overfit-check", 0, 0, 100000000);
  cfg.overfit_drop = static_cast<float>(a.number("overfit-drop", 0.2, 0.0, 1.0));
  ADVX_REQUIRE(!a.has("overfit-drop") || cfg.overfit_check > 0, "--overfit-drop needs --overfit-check N");
  ADVX_REQUIRE(cfg.overfit_check == 0 || spec, "--overfit-check needs adversarial training (--adv ATTACK with an eps)");
  check_config(cfg);
  return cfg;
}

// An autoencoder architecture: reconstruction loss (engine/train/autoencoder.h), test MSE recorded.
int train_ae(const Command& a, const std::string& arch, const std::string& out) {
  AutoencoderConfig cfg;
  cfg.epochs = a.integer("epochs", 1, 1, 10000);
  cfg.seed = static_cast<std::uint64_t>(a.integer("seed", 1, 0, 2147483647));
  cfg.batch = a.integer("batch", 64, 1, 100000);
  cfg.lr = static_cast<float>(a.number("lr", 1e-3, 1e-9, 10.0));
  cfg.lr_decay = static_cast<float>(a.number("lr-decay", 1.0, 1e-6, 1.0));
  cfg.limit = a.integer("limit", 0, 0, 100000000);
  cfg.noise = static_cast<float>(a.number("noise", 0.0, 0.0, 1.0));
  cfg.contractive = static_cast<float>(a.number("contractive", 0.0, 0.0, 1000.0));
  ADVX_REQUIRE(a.str("optimizer", "adam") == "adam" && !a.has("augment") && !a.has("momentum") && !a.has("nesterov") &&
                   !a.has("weight-decay") && !a.has("standardize") && !a.has("lr-milestones") && !a.has("shards"),
               "autoencoders train with adam, without --augment, --standardize, --momentum, --nesterov, "
               "--weight-decay, --lr-milestones or --shards");
  Sequential m = make_model(arch, cfg.seed);
  check_writable(out);
  const std::string dataset = a.str("dataset", "mnist");
  const std::string dir = resolve_data_dir(a.str("data"));
  const Dataset train_set = load_dataset(dir, dataset, "train");
  const Dataset test_set = load_dataset(dir, dataset, "test");
  check_input(m, test_set.images.slice(0, 1), true);
  std::printf(
      "training autoencoder %s (%lld parameters) on %s: %d epochs, batch %d, adam lr %g, noise %g, "
      "contractive %g, seed %llu, %d threads\n",
      arch.c_str(), static_cast<long long>(m.num_params()), dataset.c_str(), cfg.epochs, cfg.batch,
      static_cast<double>(cfg.lr), static_cast<double>(cfg.noise), static_cast<double>(cfg.contractive),
      static_cast<unsigned long long>(cfg.seed), max_threads());
  const bool quiet = a.has("quiet");
  const auto t0 = std::chrono::steady_clock::now();
  train_autoencoder(m, train_set, cfg, [&](const AutoencoderProgress& p) {
    if (p.epoch_done || (!quiet && p.batch % 100 == 0)) {
      std::printf("%sepoch %d/%d  batch %d/%d  mse %.5f  penalty %.5f  %.0f img/s  %.1f s", p.epoch_done ? "" : "\r",
                  p.epoch, p.epochs, p.batch, p.batches, p.mse, p.penalty, p.images_per_s, p.seconds);
      if (p.epoch_done)
        std::printf("  test mse (first 2000) %.5f\n", reconstruction_mse(m, test_set.images.slice(0, 2000)));
      std::fflush(stdout);
    }
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double mse = reconstruction_mse(m, test_set.images);
  std::printf("test reconstruction mse on all %d %s test images: %.6f (%.1f s training)\n", test_set.size(),
              dataset.c_str(), mse, secs);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", mse);
  std::map<std::string, std::string> meta = {
      {"advx.dataset", dataset},
      {"advx.test_mse", buf},
      {"advx.recipe", "advx train --model " + arch + (dataset != "mnist" ? " --dataset " + dataset : "") +
                          " --epochs " + std::to_string(cfg.epochs) + " --seed " + std::to_string(cfg.seed) +
                          " --batch " + std::to_string(cfg.batch) + " --lr " + a.str("lr", "0.001") +
                          (a.has("lr-decay") ? " --lr-decay " + a.str("lr-decay") : "") +
                          (a.has("noise") ? " --noise " + a.str("noise") : "") +
                          (a.has("contractive") ? " --contractive " + a.str("contractive") : "") +
                          (cfg.limit > 0 ? " --limit " + std::to_string(cfg.limit) : "")},
  };
  std::snprintf(buf, sizeof buf, "%.1f", secs);
  meta["advx.train_seconds"] = buf;
  save_model(m, out, meta);
  std::printf("saved %s\n", out.c_str());
  return 0;
}

}  // namespace

int run_train(const Command& a) {
  // Every argument is checked before anything is loaded or computed.
  const std::string out = a.str("out");
  ADVX_REQUIRE(!out.empty(), "train needs --out FILE");
  const bool resume = a.has("resume");
  TrainConfig cfg;
  std::string arch, dataset;
  if (resume) {
    for (const char* f :
         {"model",       "epochs",        "seed",         "batch",         "lr",          "optimizer", "lr-decay",
          "momentum",    "nesterov",      "weight-decay", "lr-schedule",   "limit",       "part",      "dataset",
          "augment",     "adv",           "adv-weight",   "adv-source",    "eval-n",      "noise",     "contractive",
          "standardize", "lr-milestones", "shards",       "overfit-check", "overfit-drop"})
      ADVX_REQUIRE(!a.has(f), std::string("--") + f +
                                  " is recorded in the checkpoint; with --resume give only --out "
                                  "(and --checkpoint, --checkpoint-every, --data, --quiet)");
    a.reject_others({}, "--resume", attack_tables());
    cfg = checkpoint_config(a.str("resume"), &arch, &dataset);
  } else {
    arch = a.str("model");
    ADVX_REQUIRE(!arch.empty(), "train needs --model NAME and --out FILE");
    if (const ArchInfo* info = find_architecture(arch); info && info->autoencoder) return train_ae(a, arch, out);
    if (a.has("noise") || a.has("contractive")) {
      std::string aes;
      for (const ArchInfo& i : architectures())
        if (i.autoencoder) aes += (aes.empty() ? "" : ", ") + i.name;
      throw Error("--noise and --contractive are for autoencoders (" + aes + "), not '" + arch + "'");
    }
    cfg = config_from_flags(a);
    dataset = a.str("dataset", "mnist");
  }
  const std::string ckpt = a.str("checkpoint");
  const int every = a.integer("checkpoint-every", 0, 1, 100000000);
  ADVX_REQUIRE(!a.has("checkpoint-every") || !ckpt.empty(), "--checkpoint-every needs --checkpoint FILE");
  Sequential m = make_model(arch, cfg.seed);
  // The run is not lost to an unwritable --out or --checkpoint: check them before training.
  check_writable(out);
  if (!ckpt.empty()) check_writable(ckpt);
  std::unique_ptr<Sequential> source;
  if (!cfg.adv.source.empty()) source = std::make_unique<Sequential>(load_model(model_path(cfg.adv.source)));
  const std::string dir = resolve_data_dir(a.str("data"));
  const auto t_load = std::chrono::steady_clock::now();
  const Dataset train_set = load_dataset(dir, dataset, "train");
  const Dataset test_set = load_dataset(dir, dataset, "test");
  std::printf("loaded %s: %d training and %d test images in %.1f s\n", dataset.c_str(), train_set.size(),
              test_set.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count());
  Trainer trainer(m, train_set, cfg, &test_set, source.get());
  if (resume) trainer.load_checkpoint(a.str("resume"));
  const std::string rec = recipe(arch, dataset, cfg);
  std::printf(
      "training %s (%lld parameters) on %s, %d samples per epoch, %d threads%s\n  %s\n", arch.c_str(),
      static_cast<long long>(m.num_params()), dataset.c_str(), trainer.samples(), max_threads(),
      resume ? (", resumed at epoch " + std::to_string(trainer.epoch()) + " batch " + std::to_string(trainer.batch()))
                   .c_str()
             : "",
      rec.c_str());
  if (!cfg.eval.attack.empty())
    std::printf("  after every epoch: the first %d test images, clean and under %s %s\n", cfg.eval.n,
                cfg.eval.attack.c_str(), describe(get_attack(cfg.eval.attack).params, cfg.eval.params).c_str());
  std::fflush(stdout);
  const bool quiet = a.has("quiet");
  const auto t0 = std::chrono::steady_clock::now();
  int since = 0;
  while (!trainer.done()) {
    const Trainer::Phase phase = trainer.phase();
    const std::size_t epochs_before = trainer.history().size();
    trainer.step();
    if (phase == Trainer::Phase::Prepare && trainer.phase() != Trainer::Phase::Prepare)
      std::printf("crafted the static adversarial set on %s\n", cfg.adv.source.c_str());
    if (phase == Trainer::Phase::Train) {
      const TrainProgress& p = trainer.last();
      if (p.epoch_done || (!quiet && p.batch % 100 == 0)) {
        std::printf("%sepoch %d/%d  batch %d/%d  loss %.4f  train acc %.4f  lr %.3g  %.0f img/s  %.1f s",
                    p.epoch_done ? "" : "\r", p.epoch, p.epochs, p.batch, p.batches, p.loss, p.accuracy, p.lr,
                    p.images_per_s, p.seconds);
        if (p.epoch_done && cfg.eval.n == 0) std::printf("\n");
        std::fflush(stdout);
      }
      if (!ckpt.empty() && every > 0 && ++since >= every && !p.epoch_done) {
        trainer.save_checkpoint(ckpt);
        since = 0;
      }
    }
    if (trainer.history().size() > epochs_before) {
      const EpochStats& s = trainer.history().back();
      if (s.eval_n > 0) {
        std::printf("  test acc (first %d) %.4f", s.eval_n, s.clean_acc);
        if (!cfg.eval.attack.empty()) std::printf("  robust %.4f", s.robust_acc);
        if (s.check_n == 0) std::printf("\n");
      }
      if (s.check_n > 0) {
        std::printf("  overfitting check (first %d training images) %.4f\n", s.check_n, s.check_acc);
        if (s.stopped)
          std::printf("stopped early: the check fell by more than %g after epoch %d; kept the weights of epoch %d\n",
                      static_cast<double>(cfg.overfit_drop), s.epoch, s.epoch - 1);
      }
      if (!ckpt.empty()) {
        trainer.save_checkpoint(ckpt);
        since = 0;
      }
      std::fflush(stdout);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double acc = accuracy(m, test_set.images, test_set.labels);
  std::printf("test accuracy on all %d %s test images: %.4f (%.1f s training)\n", test_set.size(), dataset.c_str(), acc,
              secs);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", acc);
  std::map<std::string, std::string> meta = {{"advx.dataset", dataset},
                                             {"advx.test_acc", buf},
                                             {"advx.recipe", rec},
                                             {"advx.train_config", config_to_json(cfg)}};
  if (dataset == "cifar10") {
    // The JPEG test images carry compression noise; the exact pixels exist for test images 0-999.
    const Dataset exact = load_dataset(dir, "cifar10-exact", "test");
    const double acc_exact = accuracy(m, exact.images, exact.labels);
    std::printf("test accuracy on the %d exact cifar10-exact test images (0-999): %.4f\n", exact.size(), acc_exact);
    std::snprintf(buf, sizeof buf, "%.4f", acc_exact);
    meta["advx.test_acc_exact1000"] = buf;
  }
  double train_secs = 0.0;
  for (const EpochStats& s : trainer.history()) train_secs += s.seconds;
  std::snprintf(buf, sizeof buf, "%.1f", train_secs);
  meta["advx.train_seconds"] = buf;
  if (trainer.stopped_epoch() > 0)
    meta["advx.overfit_stop"] = "stopped after epoch " + std::to_string(trainer.stopped_epoch()) +
                                "; these are the weights of epoch " + std::to_string(trainer.stopped_epoch() - 1);
  save_model(m, out, meta);
  std::printf("saved %s\n", out.c_str());
  return 0;
}

}  // namespace advx::cli
