#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "engine/data/dataset.h"
#include "engine/eval/evaluate.h"
#include "engine/io/file.h"
#include "engine/io/model_io.h"
#include "engine/models.h"
#include "engine/parallel.h"
#include "engine/train/autoencoder.h"
#include "engine/train/train.h"

namespace advx::cli {

void setup_train(Command& c) {
  std::string archs;
  for (const ArchInfo& i : architectures())
    archs += (archs.empty() ? "" : ", ") + i.name + (i.autoencoder ? " (autoencoder)" : "");
  c.option("model", "the architecture: " + archs, "NAME");
  c.option("out", "where to save the trained weights (safetensors)", "FILE");
  c.option("epochs", "passes over the training set (default 1)", "N");
  c.option("seed", "initialisation and shuffling seed (default 1)", "S");
  c.option("batch", "batch size (default 64)", "B");
  c.option("lr", "learning rate (default 0.001)", "LR");
  c.option("optimizer", "adam (default) or sgd", "NAME");
  c.option("lr-decay", "learning rate factor per epoch, in (0, 1] (default 1)", "F");
  c.option("limit", "train on the first N images only (default: all)", "N");
  c.option("dataset", "mnist (default), fashion-mnist, cifar10 (the 50k JPEG training images)", "NAME");
  c.flag("augment", "random crop (4-pixel zero padding) and horizontal flip per image, seeded (for cifar10)");
  c.option("data", "the data folder (default $ADVX_DATA, else ../shared/data)", "DIR");
  c.flag("quiet", "no per-batch progress line");
  c.option("noise",
           "autoencoders: Gaussian noise (standard deviation, pixels) on the inputs: a denoising "
           "autoencoder (default 0)",
           "S");
  c.option("contractive",
           "autoencoders: weight of the contractive penalty |dh/dx|_F^2 on the first hidden layer "
           "(default 0)",
           "L");
}

namespace {

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
  ADVX_REQUIRE(a.str("optimizer", "adam") == "adam" && !a.has("augment"),
               "autoencoders train with adam and without --augment");
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
  const std::string arch = a.str("model"), out = a.str("out");
  ADVX_REQUIRE(!arch.empty() && !out.empty(), "train needs --model NAME and --out FILE");
  if (const ArchInfo* info = find_architecture(arch); info && info->autoencoder) return train_ae(a, arch, out);
  if (a.has("noise") || a.has("contractive")) {
    std::string aes;
    for (const ArchInfo& i : architectures())
      if (i.autoencoder) aes += (aes.empty() ? "" : ", ") + i.name;
    throw Error("--noise and --contractive are for autoencoders (" + aes + "), not '" + arch + "'");
  }
  TrainConfig cfg;
  cfg.epochs = a.integer("epochs", 1, 1, 10000);
  cfg.seed = static_cast<std::uint64_t>(a.integer("seed", 1, 0, 2147483647));
  cfg.batch = a.integer("batch", 64, 1, 100000);
  cfg.lr = static_cast<float>(a.number("lr", 1e-3, 1e-9, 10.0));
  cfg.optimizer = a.str("optimizer", "adam");
  ADVX_REQUIRE(cfg.optimizer == "adam" || cfg.optimizer == "sgd",
               "--optimizer must be adam or sgd, got '" + cfg.optimizer + "'");
  cfg.lr_decay = static_cast<float>(a.number("lr-decay", 1.0, 1e-6, 1.0));
  cfg.limit = a.integer("limit", 0, 0, 100000000);
  cfg.augment = a.has("augment");
  // The run is not lost to an unwritable --out: check it before training.
  Sequential m = make_model(arch, cfg.seed);
  check_writable(out);
  const std::string dataset = a.str("dataset", "mnist");
  const std::string dir = resolve_data_dir(a.str("data"));
  const auto t_load = std::chrono::steady_clock::now();
  const Dataset train_set = load_dataset(dir, dataset, "train");
  const Dataset test_set = load_dataset(dir, dataset, "test");
  check_input(m, test_set.images.slice(0, 1), true);  // the model fits the data (e.g. not cnn on cifar10)
  std::printf("loaded %s: %d training and %d test images in %.1f s\n", dataset.c_str(), train_set.size(),
              test_set.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count());
  std::printf("training %s (%lld parameters) on %s: %d epochs, batch %d, %s lr %g%s, seed %llu, %d threads\n",
              arch.c_str(), static_cast<long long>(m.num_params()), dataset.c_str(), cfg.epochs, cfg.batch,
              cfg.optimizer.c_str(), static_cast<double>(cfg.lr),
              cfg.augment ? ", augmented (random crop, pad 4, and flip)" : "",
              static_cast<unsigned long long>(cfg.seed), max_threads());
  const bool quiet = a.has("quiet");
  const auto t0 = std::chrono::steady_clock::now();
  train(m, train_set, cfg, [&](const TrainProgress& p) {
    if (p.epoch_done || (!quiet && p.batch % 100 == 0)) {
      std::printf("%sepoch %d/%d  batch %d/%d  loss %.4f  train acc %.4f  %.0f img/s  %.1f s", p.epoch_done ? "" : "\r",
                  p.epoch, p.epochs, p.batch, p.batches, p.loss, p.accuracy, p.images_per_s, p.seconds);
      if (p.epoch_done) {
        const Dataset probe = test_set.head(2000);
        std::printf("  test acc (first 2000) %.4f\n", accuracy(m, probe.images, probe.labels));
      }
      std::fflush(stdout);
    }
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double acc = accuracy(m, test_set.images, test_set.labels);
  std::printf("test accuracy on all %d %s test images: %.4f (%.1f s training)\n", test_set.size(), dataset.c_str(), acc,
              secs);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", acc);
  std::map<std::string, std::string> meta = {
      {"advx.dataset", dataset},
      {"advx.test_acc", buf},
      {"advx.recipe", "advx train --model " + arch + (dataset != "mnist" ? " --dataset " + dataset : "") +
                          " --epochs " + std::to_string(cfg.epochs) + " --seed " + std::to_string(cfg.seed) +
                          " --batch " + std::to_string(cfg.batch) + " --optimizer " + cfg.optimizer + " --lr " +
                          a.str("lr", "0.001") + (a.has("lr-decay") ? " --lr-decay " + a.str("lr-decay") : "") +
                          (cfg.augment ? " --augment" : "") +
                          (cfg.limit > 0 ? " --limit " + std::to_string(cfg.limit) : "")},
  };
  if (dataset == "cifar10") {
    // The JPEG test images carry compression noise; the exact pixels exist for test images 0-999.
    const Dataset exact = load_dataset(dir, "cifar10-exact", "test");
    const double acc_exact = accuracy(m, exact.images, exact.labels);
    std::printf("test accuracy on the %d exact cifar10-exact test images (0-999): %.4f\n", exact.size(), acc_exact);
    std::snprintf(buf, sizeof buf, "%.4f", acc_exact);
    meta["advx.test_acc_exact1000"] = buf;
  }
  std::snprintf(buf, sizeof buf, "%.1f", secs);
  meta["advx.train_seconds"] = buf;
  save_model(m, out, meta);
  std::printf("saved %s\n", out.c_str());
  return 0;
}

}  // namespace advx::cli
