// The patch workbench (App::patch): an adversarial patch (Brown, Mané, Roy, Abadi, Gilmer 2017,
// "Adversarial Patch", arXiv:1712.09665) painted by hand, placed on the input, trained as a
// universal targeted patch and dropped on held-out test images. Every ML step is the engine's:
// engine/patch.h places it (PatchApplier: the pixels changed here are exactly the engine's),
// engine/attacks/patch_trainer.h trains it (EOT over placements, Adam), engine/patch_file.h scores
// it (the Evaluation `advx patch eval` runs) and reads and writes its PNG. This file schedules that
// work across frames and keeps the URL state in sync.
//
// Where the playground deviates from `advx patch train`, stated: it trains on the first 4,000 MNIST
// training images (the CLI: all 60,000), 16 images a step (the CLI: 32) so a step fits in a frame's
// slice; CIFAR-10 ships no training split with the playground, so there the patch trains on the
// second half of the shipped test sample (images 500-999) and is scored on the first 200, which it
// never saw. The patch the model sees on the input is placed by hand (position, angle) at the
// nominal side; training and scoring draw placements at random (the engine's EOT).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/error.h"
#include "engine/io/image.h"
#include "engine/loss.h"
#include "engine/patch_file.h"
#include "engine/rng.h"
#include "engine/timing.h"
#include "frontend/app.h"

namespace play {

namespace {

using Clock = std::chrono::steady_clock;
using advx::ms_since;

constexpr double kPi = 3.14159265358979323846;
constexpr double kTrainRotation = 20.0;  // degrees: the EOT's angle range (the CLI's default)
constexpr double kTrainJitter = 0.1;     // the side drawn in nominal * [0.9, 1.1] while training
constexpr float kTrainLr = 0.05f;        // Adam on the [0, 1] pixels (the CLI's default)
constexpr int kEvalBatch = 25;           // held-out images per Evaluation step

}  // namespace

int App::patch_resolution() const {
  const advx::Shape s = input_shape();
  return advx::patch_resolution(state.patch_size, s[1], s[2]);
}

void App::place_patched() {
  PatchView& p = patch;
  p.seen = advx::Tensor();
  p.covered.clear();
  if (state.patch.empty() || p.pixels.data.empty()) return;
  // The input may still be the previous dataset's while the new one loads: nothing to place then.
  if (input.rank() != 4 || input.dim(1) != p.pixels.dim(0)) return;
  const int c = input.dim(1), h = input.dim(2), w = input.dim(3);
  p.where.cx = state.patch_x < 0.0f ? (w - 1) / 2.0 : static_cast<double>(state.patch_x);
  p.where.cy = state.patch_y < 0.0f ? (h - 1) / 2.0 : static_cast<double>(state.patch_y);
  p.where.side = advx::patch_side(state.patch_size, h, w);
  p.where.angle = static_cast<double>(state.patch_angle) * kPi / 180.0;
  advx::PatchApplier applier;
  applier.place({p.where}, c, h, w, p.pixels.dim(1));
  applier.forward(p.pixels, input, p.seen);
  p.covered = applier.covered(0);
}

void App::patch_pixels_changed() {
  quantize(patch.pixels);  // so the URL (a PNG of k/255 values) reproduces it exactly
  state.patch = base64url_encode(advx::encode_png(patch.pixels, 1));
  place_patched();
  input_changed();
}

void App::apply_patch_state(const ViewState& old) {
  const bool reshaped = state.patch_size != old.patch_size || dataset() != patch_dataset_;
  if (state.patch.empty()) {
    if (!old.patch.empty()) {
      stop_patch_training();
      patch.pixels = advx::Tensor();
      patch.history.clear();
    }
  } else if (state.patch != patch_encoded_ || reshaped || patch.pixels.data.empty()) {
    try {
      std::vector<std::uint8_t> png;
      ADVX_REQUIRE(base64url_decode(state.patch, png), "patch= in the URL is not base64url");
      advx::Tensor px = advx::decode_image(png, input_shape()[0], "patch= in the URL");
      ADVX_REQUIRE(px.dim(1) == px.dim(2), "patch= in the URL must be a square PNG, got " + std::to_string(px.dim(2)) +
                                               "x" + std::to_string(px.dim(1)));
      const int s = patch_resolution();
      if (px.dim(1) != s) px = advx::resize_image(px, s, s);  // a new size (or dataset): resampled
      if (state.patch != patch_encoded_) stop_patch_training(), patch.history.clear();
      patch.pixels = std::move(px);
      patch_dataset_ = dataset();
      patch_pixels_changed();
      patch_encoded_ = state.patch;
    } catch (const advx::Error& e) {
      state_error_ = error = e.what();
      state.patch = old.patch;
      state.patch_size = old.patch_size;
    }
  }
  if (state.patch_target >= static_cast<int>(class_names().size())) {
    state_error_ = error = "patch_target " + std::to_string(state.patch_target) + " is not a class of model '" +
                           state.model + "' (0.." + std::to_string(class_names().size() - 1) + ")";
    state.patch_target = old.patch_target;
  }
  if (state.patch_target != old.patch_target) stop_patch_training();
  if (state.patch != old.patch || state.patch_size != old.patch_size || state.patch_x != old.patch_x ||
      state.patch_y != old.patch_y || state.patch_angle != old.patch_angle) {
    place_patched();
    input_changed();
  }
}

void App::set_patch_pixels(const advx::Tensor& p) {
  const int c = input_shape()[0], s = patch_resolution();
  char size[32];
  std::snprintf(size, sizeof size, "%g", static_cast<double>(state.patch_size));
  ADVX_REQUIRE(p.size() == static_cast<std::int64_t>(c) * s * s,
               "the patch must be " + advx::shape_str({c, s, s}) + " = " + std::to_string(c * s * s) +
                   " values (channels x side x side, side = sqrt(" + size + " x H x W) rounded), got " +
                   std::to_string(p.size()));
  for (float v : p.data)
    ADVX_REQUIRE(std::isfinite(v) && v >= 0.0f && v <= 1.0f, "patch pixels must be finite and in [0, 1]");
  stop_patch_training();
  patch.history.clear();
  patch.pixels = p;
  patch.pixels.shape = {c, s, s};
  patch_dataset_ = dataset();
  patch_pixels_changed();
  patch_encoded_ = state.patch;
}

void App::fill_patch(bool random) {
  const int c = input_shape()[0], s = patch_resolution();
  advx::Tensor p({c, s, s});
  if (random) {
    advx::Rng rng(state.seed * 0x9E3779B97F4A7C15ull + 0x5041544348ull + ++patch_draws_);
    for (float& v : p.data) v = rng.uniform();
  }
  set_patch_pixels(p);
}

void App::paint_patch(float a, float b, float radius, const float* colour) {
  if (patch.pixels.data.empty()) fill_patch(false);
  advx::Tensor p = patch.pixels;
  const int c = p.dim(0), s = p.dim(1);
  bool changed = false;
  // Pixel (i, j) covers [i, i + 1) x [j, j + 1); painted when its centre lies in the disc, and the
  // pixel under the brush always (a radius below half a pixel paints one pixel).
  for (int i = 0; i < s; ++i)
    for (int j = 0; j < s; ++j) {
      const float di = static_cast<float>(i) + 0.5f - a, dj = static_cast<float>(j) + 0.5f - b;
      const bool under = static_cast<int>(std::floor(a)) == i && static_cast<int>(std::floor(b)) == j;
      if (!under && di * di + dj * dj > radius * radius) continue;
      for (int k = 0; k < c; ++k) {
        float& v = p.data[(static_cast<size_t>(k) * s + i) * s + j];
        const float want = std::clamp(colour[k], 0.0f, 1.0f);
        changed |= v != want;
        v = want;
      }
    }
  if (changed) set_patch_pixels(p);
}

void App::remove_patch() {
  ViewState s = state;
  s.patch.clear();
  set_state(s);
}

void App::place_patch(float x, float y, float angle) {
  ViewState s = state;
  s.patch_x = std::round(x * 100.0f) / 100.0f;  // so the URL's six digits reproduce it exactly
  s.patch_y = std::round(y * 100.0f) / 100.0f;
  s.patch_angle = std::round(std::clamp(angle, -180.0f, 180.0f) * 10.0f) / 10.0f;
  set_state(s);
}

void App::set_patch_size(float size) {
  ViewState s = state;
  s.patch_size = std::clamp(size, 0.01f, 0.5f);
  set_state(s);
}

void App::set_patch_target(int target) {
  ViewState s = state;
  s.patch_target = target;
  set_state(s);
}

// ---- training -------------------------------------------------------------------------------

void App::stop_patch_training() {
  patch.trainer.reset();
  patch.waiting.clear();
  patch.paused = false;
}

void App::train_patch(int steps) {
  PatchView& p = patch;
  p.error.clear();
  try {
    ADVX_REQUIRE(steps >= 1 && steps <= 100000,
                 "patch training: steps must be in 1..100000, got " + std::to_string(steps));
    if (p.pixels.data.empty()) fill_patch(true);
    if (p.trainer && (p.trained_model != state.model || p.trainer->target() != state.patch_target))
      stop_patch_training();
    p.goal = (p.trainer ? p.trainer->steps() : 0) + steps;
    p.paused = false;
    if (!p.trainer) {
      p.history.clear();
      p.ms = 0;
      p.waiting = "starting";  // patch_slice() builds the trainer once the images are there
    }
  } catch (const advx::Error& e) {
    p.error = e.what();
  }
}

void App::patch_slice(double ms) {
  PatchView& p = patch;
  const auto t0 = Clock::now();
  try {
    if (p.trainer && p.trained_model != state.model) {
      stop_patch_training();
      p.error = "training stopped: the model changed (train again for '" + state.model + "')";
      return;
    }
    if (!p.trainer) {
      const std::string ds = dataset(), file = ds + "/train";
      const bool whole = models.find_dataset(file) != nullptr;
      if (whole && models.request_dataset(file) == ModelStatus::kLoading) {
        const DatasetEntry* d = models.find_dataset(file);
        char buf[96];
        std::snprintf(buf, sizeof buf, "loading the %s images (%.1f of %.1f MB)", file.c_str(),
                      static_cast<double>(d->received) / 1048576.0, static_cast<double>(d->total) / 1048576.0);
        p.waiting = buf;
        return;
      }
      if (model_status() != ModelStatus::kReady) return;
      const Samples& s = models.samples(whole ? file : ds);  // throws the load error, or while it loads
      // The first kPatchTrainImages training images, or the test sample's second half: a copy, so the
      // trainer's checks and draws see only these.
      const int lo = whole ? 0 : s.size() / 2, hi = whole ? std::min(s.size(), kPatchTrainImages) : s.size();
      p.train_images = s.set.images.slice(lo, hi - lo);
      p.train_labels.assign(s.set.labels.begin() + lo, s.set.labels.begin() + hi);
      advx::PatchTrainConfig cfg;
      cfg.eot = {state.patch_size, kTrainRotation, kTrainJitter};
      cfg.batch = kPatchBatch;
      cfg.lr = kTrainLr;
      cfg.seed = state.seed;
      // Batches come from the images not of the target class (the trainer's default pool).
      p.trainer =
          std::make_unique<advx::PatchTrainer>(model(), advx::cross_entropy_objective(), p.train_images, p.train_labels,
                                               state.patch_target, cfg, std::vector<int>{}, &p.pixels);
      p.trained_model = state.model;
      p.waiting.clear();
    }
    // Steps while the next one (its cost estimated from the last ones) still fits in `ms`; at least one.
    do {
      const auto ts = Clock::now();
      p.trainer->step();
      p.step_ms = p.step_ms <= 0.0 ? ms_since(ts) : 0.8 * p.step_ms + 0.2 * ms_since(ts);
    } while (p.trainer->steps() < p.goal && ms_since(t0) + p.step_ms < ms);
    p.history = p.trainer->history();
    p.pixels = p.trainer->patch();
    patch_pixels_changed();  // the model sees the patch as it evolves
    patch_encoded_ = state.patch;
  } catch (const advx::Error& e) {
    p.error = e.what();
    stop_patch_training();
  }
  p.ms += ms_since(t0);
  timing.patch_ms = p.ms;
}

// ---- held-out success ---------------------------------------------------------------------------

std::string App::patch_eval_key() const {
  return state.model + "/" + state.patch + "/" + std::to_string(state.patch_size) + "/" +
         std::to_string(state.patch_target) + "/" + std::to_string(state.seed);
}

void App::patch_eval_slice(double ms) {
  PatchView& p = patch;
  if (state.patch.empty() || p.pixels.data.empty() || samples().size() == 0 || model_status() != ModelStatus::kReady)
    return;
  const std::string key = patch_eval_key();
  if (key == p.eval_key && !p.eval) return;  // done for this patch
  const auto t0 = Clock::now();
  try {
    if (key != p.eval_key) {
      p.eval.reset();  // it refers to held_out
      p.eval_key = key;
      p.success = -1;
      p.attacked = 0;
      p.held_out = samples().head(std::min(kPatchHeldOut, samples().size()));
      const advx::PatchEot eot{state.patch_size, kTrainRotation, 0.0};
      p.eval = std::make_unique<advx::Evaluation>(
          model(), p.held_out, advx::patch_eval_config(p.pixels, eot, state.patch_target, state.seed, kEvalBatch));
    }
    while (!p.eval->done() && ms_since(t0) < ms) p.eval->step();
    if (p.eval->done()) {
      const advx::EvalResult r = p.eval->result();
      p.success = r.success_rate;
      p.attacked = r.attacked;
      p.evaluated_step = p.trainer ? p.trainer->steps() : -1;
      p.eval.reset();
      ++view_version;
    }
  } catch (const advx::Error& e) {
    p.error = e.what();
    p.eval.reset();
  }
  timing.patch_ms += ms_since(t0);
}

// ---- files ------------------------------------------------------------------------------------

std::vector<std::uint8_t> App::patch_png(int scale) const {
  ADVX_REQUIRE(!patch.pixels.data.empty(), "there is no patch to export: paint, fill or train one first");
  char size[32];
  std::snprintf(size, sizeof size, "%g", static_cast<double>(state.patch_size));
  std::map<std::string, std::string> text = {{"advx.target", std::to_string(state.patch_target)},
                                             {"advx.size", size},
                                             {"advx.rotation", std::to_string(static_cast<int>(kTrainRotation))},
                                             {"advx.model", state.model},
                                             {"advx.dataset", dataset()}};
  if (!patch.history.empty()) text["advx.steps"] = std::to_string(patch.history.size());
  return advx::encode_patch_png(patch.pixels, text, scale);
}

bool App::import_patch_png(const std::vector<std::uint8_t>& bytes, const std::string& name) {
  try {
    const advx::Shape shape = input_shape();
    advx::PatchFile f = advx::decode_patch_png(bytes, shape[0], name);
    // Its recorded size, else one patch pixel per image pixel.
    const double own =
        static_cast<double>(f.patch.dim(1)) * f.patch.dim(1) / (static_cast<double>(shape[1]) * shape[2]);
    const float size = static_cast<float>(std::clamp(f.size > 0.0 ? f.size : own, 0.01, 0.5));
    stop_patch_training();
    state.patch_size = size;
    if (f.target >= 0 && f.target < static_cast<int>(class_names().size())) state.patch_target = f.target;
    const int side = patch_resolution();
    if (f.patch.dim(1) != side) f.patch = advx::resize_image(f.patch, side, side);
    set_patch_pixels(f.patch);
    notice = "imported the patch " + name;
    return true;
  } catch (const advx::Error& e) {
    error = e.what();
    return false;
  }
}

}  // namespace play
