// advx patch train / advx patch eval: a universal targeted adversarial patch (Brown, Mané, Roy,
// Abadi, Gilmer 2017, arXiv:1712.09665), trained on a model's training images by expectation over
// placements (engine/attacks/patch_trainer.h), saved as a PNG at the model's pixel scale that says
// in its text chunks what it is (target, area, model); then scored on held-out test images at random
// placements, on the model it was trained on (white-box) or on another one (transfer).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "engine/attacks/patch_trainer.h"
#include "engine/data/dataset.h"
#include "engine/eval/evaluate.h"
#include "engine/io/file.h"
#include "engine/io/image.h"
#include "engine/io/model_io.h"
#include "engine/patch_file.h"

namespace advx::cli {
namespace {

// The two subcommands of `advx patch` (CLI11 nests them under it; they live for the whole run).
struct PatchCommands {
  std::unique_ptr<Command> train, eval;
};
PatchCommands& sub() {
  static PatchCommands s;
  return s;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void setup_patch_train(Command& c) {
  c.option("model", "the model to fool: a shipped model (cnn, small, ...) or a .safetensors file", "NAME|FILE");
  c.option("target", "the class every patched image should be taken for", "T");
  c.option("size", "share of the image area the patch covers, in [0.01, 0.5] (0.1 = 10%)", "F");
  c.option("steps", "Adam steps, one batch each (default 500)", "K");
  c.option("out", "the patch as PNG, one pixel per image pixel at the nominal size", "PNG");
  c.option("seed", "seed of the initial patch, the batches and the placements (default 0)", "S");
  c.option("batch", "training images per step, each at its own random placement (default 32)", "B");
  c.option("lr", "Adam learning rate on the [0, 1] pixels (default 0.05)", "LR");
  c.option("rotation", "largest rotation in degrees, drawn uniformly in +-rotation (default 20)", "D");
  c.option("scale-jitter", "the side drawn uniformly in nominal * [1 - j, 1 + j] (default 0.1)", "J");
  c.option("init", "start from this patch PNG (e.g. to train on; Adam's moments start afresh)", "PNG");
  c.option("dataset", "training images: the model's own dataset (from its metadata; mnist if none)", "NAME");
  c.option("train-n", "draw from the first N training images only (default: all)", "N");
  c.option("print", "also write a printable copy, upscaled by --print-scale (nearest neighbour)", "PNG");
  c.option("print-scale", "pixels per patch pixel in the printable copy, 1..64 (default 16)", "N");
  c.option("data", "the data folder (default $ADVX_DATA, else ../shared/data)", "DIR");
  c.flag("quiet", "no progress lines");
  c.flag("json", "one JSON object at the end (and no progress lines)");
}

void setup_patch_eval(Command& c) {
  c.option("patch", "the patch PNG written by advx patch train (or any square PNG)", "PNG");
  c.option("model", "the model to score: the one it was trained on, or another (transfer)", "NAME|FILE");
  c.option("target", "the target class (default: the one recorded in the PNG)", "T");
  c.option("size", "share of the image area the placed patch covers (default: the PNG's; else its pixel size)", "F");
  c.option("rotation", "largest rotation in degrees (default: the PNG's; else 20)", "D");
  c.option("n", "score on the first N test images (default: all)", "N");
  c.option("seed", "seed of the placements (default 0)", "S");
  c.option("batch", "images per engine call (default 256)", "B");
  c.option("dataset", "test set: the model's own (from its metadata; mnist if none)", "NAME");
  c.option("data", "the data folder (default $ADVX_DATA, else ../shared/data)", "DIR");
  c.flag("json", "one JSON object: success_rate, n, patch_area_fraction, target, clean_acc, ...");
}

std::string model_dataset(const std::map<std::string, std::string>& meta) {
  auto it = meta.find("advx.dataset");
  return it == meta.end() ? "mnist" : it->second;
}

int run_patch_train(const Command& a) {
  ADVX_REQUIRE(a.has("model") && a.has("target") && a.has("size") && a.has("out"),
               "patch train needs --model, --target, --size and --out (see advx patch train --help)");
  const std::string path = model_path(a.str("model")), out = a.str("out");
  std::map<std::string, std::string> meta;
  Sequential m = load_model(path, &meta);
  const int target = a.integer("target", 0, 0, m.num_classes() - 1);
  PatchTrainConfig cfg;
  cfg.eot.area = a.number("size", 0.1, 0.01, 0.5);
  cfg.eot.rotation = a.number("rotation", 20.0, 0.0, 180.0);
  cfg.eot.scale_jitter = a.number("scale-jitter", 0.1, 0.0, 0.9);
  cfg.batch = a.integer("batch", 32, 1, 4096);
  cfg.lr = static_cast<float>(a.number("lr", 0.05, 1e-4, 1.0));
  cfg.seed = static_cast<std::uint64_t>(a.integer("seed", 0, 0, 2147483647));
  const int steps = a.integer("steps", 500, 1, 1000000);
  const int print_scale = a.integer("print-scale", 16, 1, 64);
  ADVX_REQUIRE(!a.has("print-scale") || a.has("print"), "--print-scale goes with --print FILE");
  const bool json = a.has("json"), quiet = a.has("quiet") || json;
  check_writable(out);  // before the training, not after it
  if (a.has("print")) check_writable(a.str("print"));
  const std::string dataset = a.str("dataset", model_dataset(meta));
  Dataset train = load_dataset(resolve_data_dir(a.str("data")), dataset, "train");
  if (a.has("train-n")) train = train.head(a.integer("train-n", train.size(), 1, train.size()));
  check_input(m, train.images.slice(0, 1), true);  // the model reads these images
  std::unique_ptr<Tensor> init;
  if (a.has("init")) init = std::make_unique<Tensor>(load_image(a.str("init"), m.input_shape()[0]));

  PatchTrainer t(m, cross_entropy_objective(), train.images, train.labels, target, cfg, {}, init.get());
  const int s = t.patch().dim(1);
  if (!quiet)
    std::printf(
        "training a %dx%d patch (%.1f%% of the image) for %s towards class %d on %d %s training images: %d "
        "steps of %d, Adam lr %g, rotation +-%g deg, scale jitter %g, seed %llu\n",
        s, s, 100.0 * cfg.eot.area, m.arch.c_str(), target, train.size(), dataset.c_str(), steps, cfg.batch,
        static_cast<double>(cfg.lr), cfg.eot.rotation, cfg.eot.scale_jitter, static_cast<unsigned long long>(cfg.seed));
  const auto t0 = std::chrono::steady_clock::now();
  const int every = std::max(1, steps / 20);
  // The mean of the last `k` steps' numbers (the batches are small and noisy).
  auto recent = [&](int k) {
    PatchStepStats r;
    const int n = std::min(k, t.steps());
    for (int i = t.steps() - n; i < t.steps(); ++i) {
      r.loss += t.history()[static_cast<size_t>(i)].loss / n;
      r.success += t.history()[static_cast<size_t>(i)].success / n;
    }
    return r;
  };
  for (int k = 1; k <= steps; ++k) {
    t.step();
    if (!quiet && (k % every == 0 || k == steps)) {
      const PatchStepStats r = recent(every);
      std::printf("step %d/%d  loss %.4f  targeted success %.3f (mean of the last %d batches)  %.1f s\n", k, steps,
                  r.loss, r.success, std::min(every, k),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      std::fflush(stdout);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const PatchStepStats last = recent(std::max(1, steps / 10));
  std::string recipe = "advx patch train --model " + m.arch + " --target " + std::to_string(target) + " --size " +
                       fmt(cfg.eot.area) + " --steps " + std::to_string(steps) + " --batch " +
                       std::to_string(cfg.batch) + " --lr " + fmt(static_cast<double>(cfg.lr)) + " --rotation " +
                       fmt(cfg.eot.rotation) + " --scale-jitter " + fmt(cfg.eot.scale_jitter) + " --seed " +
                       std::to_string(cfg.seed) + " --dataset " + dataset +
                       (a.has("train-n") ? " --train-n " + std::to_string(train.size()) : "") +
                       (a.has("init") ? " --init " + a.str("init") : "");
  std::map<std::string, std::string> text = {
      {"advx.target", std::to_string(target)},
      {"advx.size", fmt(cfg.eot.area)},
      {"advx.rotation", fmt(cfg.eot.rotation)},
      {"advx.model", model_label(path)},
      {"advx.dataset", dataset},
      {"advx.train_success", fmt(last.success)},
      {"advx.recipe", recipe},
  };
  write_file(out, encode_patch_png(t.patch(), text, 1));
  if (a.has("print")) write_file(a.str("print"), encode_patch_png(t.patch(), text, print_scale));
  if (json) {
    nlohmann::ordered_json j;
    j["model"] = model_label(path);
    j["dataset"] = dataset;
    j["target"] = target;
    j["size"] = cfg.eot.area;
    j["patch_pixels"] = s;
    j["steps"] = steps;
    j["batch"] = cfg.batch;
    j["lr"] = cfg.lr;
    j["rotation"] = cfg.eot.rotation;
    j["scale_jitter"] = cfg.eot.scale_jitter;
    j["seed"] = cfg.seed;
    j["train_loss"] = last.loss;        // mean of the last tenth of the steps
    j["train_success"] = last.success;  // likewise: targeted success on the training batches
    j["gradient_calls"] = t.gradient_calls();
    j["seconds"] = secs;
    j["out"] = out;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("saved %s (%dx%d; targeted success on the last %d training batches %.3f, %.1f s)%s\n", out.c_str(), s,
                s, std::max(1, steps / 10), last.success, secs,
                a.has("print") ? (", printable copy " + a.str("print")).c_str() : "");
    std::printf("score it on held-out images: advx patch eval --patch %s --model %s\n", out.c_str(),
                a.str("model").c_str());
  }
  return 0;
}

int run_patch_eval(const Command& a) {
  ADVX_REQUIRE(a.has("patch") && a.has("model"),
               "patch eval needs --patch PNG and --model (see advx patch eval --help)");
  const std::string file = a.str("patch"), path = model_path(a.str("model"));
  std::map<std::string, std::string> meta;
  Sequential m = load_model(path, &meta);
  const std::vector<std::uint8_t> bytes = read_file(file);
  const std::map<std::string, std::string> text = png_text(bytes, file);
  if (text.count("advx.print_scale"))
    throw Error(file + " is the printable copy (upscaled " + text.at("advx.print_scale") +
                "x): evaluate the --out PNG of advx patch train");
  const Tensor patch = decode_image(bytes, m.input_shape()[0], file);
  const int h = m.input_shape()[1], w = m.input_shape()[2], s = patch.dim(1);
  ADVX_REQUIRE(patch.dim(1) == patch.dim(2), "the patch must be square, " + file + " is " +
                                                 std::to_string(patch.dim(2)) + "x" + std::to_string(patch.dim(1)));
  const std::string dataset = a.str("dataset", model_dataset(meta));
  if (text.count("advx.dataset"))
    ADVX_REQUIRE(text.at("advx.dataset") == dataset, file + " was trained on " + text.at("advx.dataset") +
                                                         " images, but " + m.arch + " is scored on " + dataset);
  ADVX_REQUIRE(a.has("target") || text.count("advx.target"),
               file + " does not record its target class: give --target T");
  const int target = a.has("target")
                         ? a.integer("target", 0, 0, m.num_classes() - 1)
                         : static_cast<int>(patch_text_number(text, "advx.target", 0, m.num_classes() - 1, file));
  PatchEot eot;
  const double own = static_cast<double>(s) * s / (static_cast<double>(h) * w);  // one patch pixel per image pixel
  eot.area = a.has("size")             ? a.number("size", own, 1e-4, 1.0)
             : text.count("advx.size") ? patch_text_number(text, "advx.size", 1e-4, 1.0, file)
                                       : std::min(own, 1.0);
  eot.rotation = a.has("rotation")             ? a.number("rotation", 20.0, 0.0, 180.0)
                 : text.count("advx.rotation") ? patch_text_number(text, "advx.rotation", 0.0, 180.0, file)
                                               : 20.0;
  const std::uint64_t seed = static_cast<std::uint64_t>(a.integer("seed", 0, 0, 2147483647));
  const Dataset test = load_dataset(resolve_data_dir(a.str("data")), dataset, "test");
  const Dataset d = test.head(a.integer("n", test.size(), 1, test.size()));
  check_input(m, d.images.slice(0, 1), true);

  const EvalConfig cfg = patch_eval_config(patch, eot, target, seed, a.integer("batch", 256, 1, 100000));
  const EvalResult r = evaluate(m, d, cfg);
  const std::string trained_on = text.count("advx.model") ? text.at("advx.model") : "";
  // Changed pixels per patched image (the EvalResult's mean is over all n, zero for the others).
  const double changed = r.attacked ? r.l0_mean * r.n / r.attacked : 0.0;
  if (a.has("json")) {
    nlohmann::ordered_json j;
    j["model"] = model_label(path);
    j["dataset"] = dataset;
    j["patch"] = file;
    j["trained_on"] = trained_on;
    // Another model than the one it was trained on (two shipped models may share an architecture:
    // cifar_lenet and cifar_lenet_adam).
    j["transfer"] = !trained_on.empty() && trained_on != model_label(path);
    j["target"] = target;
    j["patch_area_fraction"] = eot.area;
    j["patch_pixels"] = s;
    j["rotation"] = eot.rotation;
    j["seed"] = seed;
    j["n"] = r.n;
    j["clean_acc"] = r.clean_acc;
    j["attacked"] = r.attacked;
    j["success_rate"] = r.success_rate;
    j["adv_acc"] = r.adv_acc;
    j["changed_pixels_mean"] = changed;
    j["seconds"] = r.seconds;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("patch %s (%dx%d%s) on %s, %d %s test images, target %d, %.1f%% of the image, rotation +-%g deg\n",
              file.c_str(), s, s, trained_on.empty() ? "" : (", trained on " + trained_on).c_str(),
              model_label(path).c_str(), r.n, dataset.c_str(), target, 100.0 * eot.area, eot.rotation);
  std::printf(
      "  clean accuracy          %.4f\n  targeted success rate   %.4f (of %d attacked: right, and not of class %d)\n"
      "  accuracy with patch     %.4f\n  changed pixels / image  %.1f of %d\n  seconds                 %.2f\n",
      r.clean_acc, r.success_rate, r.attacked, target, r.adv_acc, changed, h * w, r.seconds);
  return 0;
}

}  // namespace

void setup_patch(Command& c) {
  c.require_subcommand();
  sub().train = std::make_unique<Command>(*c.app(), "train", "train a universal targeted patch on the training images");
  setup_patch_train(*sub().train);
  sub().eval = std::make_unique<Command>(*c.app(), "eval", "targeted success of a patch on held-out test images");
  setup_patch_eval(*sub().eval);
}

int run_patch(const Command&) {
  if (sub().train->chosen()) {
    sub().train->check_unknown();
    return run_patch_train(*sub().train);
  }
  sub().eval->check_unknown();
  return run_patch_eval(*sub().eval);
}

}  // namespace advx::cli
