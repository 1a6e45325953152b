#include "frontend/app.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/attacks/attack.h"
#include "engine/error.h"
#include "engine/io/image.h"
#include "engine/loss.h"
#include "engine/rng.h"

namespace play {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

advx::Tensor as_chw(const advx::Tensor& x) {
  advx::Tensor t = x;
  t.shape = {1, 28, 28};
  return t;
}

}  // namespace

void quantize(advx::Tensor& t) {
  for (float& v : t.data) v = std::round(std::clamp(v, 0.0f, 1.0f) * 255.0f) / 255.0f;
}

App::App(const std::string& asset_dir)
    : models(asset_dir), samples(load_samples(asset_dir + "/mnist")), input({1, 1, 28, 28}) {
  // The build's default model (see ADVX_DEFAULT_MODEL in frontend/CMakeLists.txt), else the first.
  state.model = models.default_model();
  if (models.index_of(state.model) < 0 && !models.entries().empty()) state.model = models.entries().front().name;
  if (!models.manifest_error().empty()) error = models.manifest_error();
  for (int i = 0; i <= 12; ++i) robust.eps.push_back(0.025f * static_cast<float>(i));
}

// ---- model -----------------------------------------------------------------------------------

advx::Sequential& App::model() {
  return *models.get(state.model).model;
}

ModelStatus App::model_status() const {
  const ModelEntry* e = model_entry();
  return e ? e->status : ModelStatus::kError;
}

void App::models_changed() {
  const ModelEntry* e = model_entry();
  if (e && e->status == ModelStatus::kReady) input_changed();  // compute what waited for this model
}

namespace {

// The first row of probabilities p [N, K] as a Prediction.
Prediction first_row(const advx::Tensor& p, int num_classes) {
  Prediction out;
  out.probs.assign(p.data.begin(), p.data.begin() + num_classes);
  out.top = static_cast<int>(std::max_element(out.probs.begin(), out.probs.end()) - out.probs.begin());
  return out;
}

}  // namespace

Prediction App::classify(const advx::Tensor& x) {
  advx::Sequential& m = model();
  return first_row(m.probabilities(x), m.num_classes);
}

advx::Tensor App::run_attack(const advx::Tensor& x, int label, float eps, int target, int steps,
                             const std::string& kind, std::uint64_t seed, double* ms, Prediction* pred) {
  advx::Sequential& m = model();
  const auto t0 = Clock::now();
  advx::LinfAttack cfg;
  cfg.eps = eps;
  cfg.steps = kind == "fgsm" ? 1 : std::max(1, steps);
  cfg.random_start = kind == "pgd";
  cfg.seed = seed;
  cfg.evaluate = pred != nullptr;  // nobody asks for the prediction (advx.fgsm): skip that forward pass
  std::vector<int> targets;
  if (target >= 0) targets.push_back(target);
  if (eps <= 0.0f) {
    if (ms) *ms = ms_since(t0);
    return x;
  }
  advx::AttackResult r = advx::linf_attack(m, x, {label}, targets, cfg);
  if (ms) *ms = ms_since(t0);
  if (pred) {
    // The attack evaluated its result already (r.logits): no second forward pass. r.pred < 0 would
    // mean it recorded no result (a non-finite loss); then classify.
    *pred = r.pred[0] >= 0 ? first_row(advx::softmax(r.logits), m.num_classes) : classify(r.adv);
  }
  return std::move(r.adv);
}

// ---- input -----------------------------------------------------------------------------------

void App::input_changed() {
  input_dirty_ = true;
  attack_dirty_ = true;
  shown_dirty_ = true;
}

void App::update_image_state() {
  state.test_index = -1;
  state.image = canvas.empty() && !exact_input ? std::string() : base64url_encode(input_png());
}

void App::canvas_changed() {
  const auto t0 = Clock::now();
  exact_input = false;
  true_label = -1;
  advx::Tensor img = canvas.image();
  try {
    if (state.preprocess) {
      advx::Tensor x = advx::mnist_preprocess(img, {}, &prep);
      x.shape = {1, 1, 28, 28};
      input = std::move(x);
    } else {
      prep = advx::PreprocessInfo{};
      input = advx::fit_to_box(img, 28);
      input.shape = {1, 1, 28, 28};
    }
  } catch (const advx::Error& e) {
    error = e.what();
  }
  quantize(input);
  timing.preprocess_ms = ms_since(t0);
  update_image_state();
  input_changed();
}

void App::clear_input() {
  canvas.clear();
  exact_input = false;
  true_label = -1;
  prep = advx::PreprocessInfo{};
  input = advx::Tensor({1, 1, 28, 28});
  state.test_index = -1;
  state.image.clear();
  input_changed();
}

void App::set_exact_input(const advx::Tensor& x) {
  ADVX_REQUIRE(x.size() == 28 * 28, "input must be 28x28 = 784 pixels, got " + std::to_string(x.size()));
  for (float v : x.data)
    ADVX_REQUIRE(std::isfinite(v) && v >= 0.0f && v <= 1.0f, "input pixels must be finite and in [0, 1]");
  input = x;
  input.shape = {1, 1, 28, 28};
  quantize(input);
  exact_input = true;
  true_label = -1;
  prep = advx::PreprocessInfo{};
  canvas.set_image(input);
  update_image_state();
  input_changed();
}

void App::load_test_image(int index) {
  ADVX_REQUIRE(samples.size() > 0, "no MNIST test sample shipped: " + samples.error);
  ADVX_REQUIRE(index >= 0 && index < samples.size(),
               "test image index " + std::to_string(index) + " outside [0, " + std::to_string(samples.size()) + ")");
  input = samples.image(index);
  exact_input = true;
  true_label = samples.labels[static_cast<size_t>(index)];
  prep = advx::PreprocessInfo{};
  canvas.set_image(input);
  state.test_index = index;
  state.image.clear();
  input_changed();
}

void App::random_test_image() {
  if (samples.size() == 0) {
    error = "no MNIST test sample shipped: " + samples.error;
    return;
  }
  advx::Rng rng(state.seed * 0x9E3779B97F4A7C15ull + ++random_draws_);
  load_test_image(static_cast<int>(rng.below(static_cast<std::uint64_t>(samples.size()))));
}

bool App::import_png(const std::vector<std::uint8_t>& bytes, const std::string& name) {
  try {
    advx::Tensor img = advx::decode_image(bytes, 1, name);
    const int h = img.dim(1), w = img.dim(2);
    // MNIST is white ink on black: invert dark-on-light pictures (judged by the border's mean).
    double border = 0.0;
    int nb = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (y == 0 || x == 0 || y == h - 1 || x == w - 1) border += img.data[static_cast<size_t>(y) * w + x], ++nb;
    if (nb > 0 && border / nb > 0.5)
      for (float& v : img.data) v = 1.0f - v;
    if (h == 28 && w == 28) {
      set_exact_input(img);
    } else {
      canvas.set_image(advx::resize_image(img, Canvas::kSize, Canvas::kSize));
      canvas_changed();
    }
    notice = "imported " + name;
    return true;
  } catch (const advx::Error& e) {
    error = e.what();
    return false;
  }
}

std::vector<std::uint8_t> App::adversarial_png() const {
  return advx::encode_png(as_chw(attack.valid ? attack.adv : input), 1);
}

std::vector<std::uint8_t> App::input_png() const {
  return advx::encode_png(as_chw(input), 1);
}

// ---- state -----------------------------------------------------------------------------------

void App::set_state(const ViewState& s) {
  const ViewState old = state;
  state = s;
  if (state.model.empty()) state.model = old.model;
  if (models.index_of(state.model) < 0) {
    error = "unknown model '" + state.model + "'";
    state.model = old.model;
  }
  if (!state.model.empty()) models.request(state.model);  // starts loading it if needed
  try {
    if (state.test_index >= 0 && state.test_index != old.test_index) {
      load_test_image(state.test_index);
    } else if (state.test_index < 0 && !state.image.empty() && state.image != old.image) {
      std::vector<std::uint8_t> png;
      base64url_decode(state.image, png);
      const std::string keep = state.image;
      advx::Tensor img = advx::decode_image(png, 1, "img= in the URL");
      set_exact_input(img);
      state.image = keep;
    } else if (state.test_index < 0 && state.image.empty() && (old.test_index >= 0 || !old.image.empty())) {
      clear_input();
    } else if (state.preprocess != old.preprocess && !exact_input && !canvas.empty()) {
      canvas_changed();
    }
  } catch (const advx::Error& e) {
    error = e.what();
    state.test_index = old.test_index;
    state.image = old.image;
  }
  if (state.model != old.model) input_changed();
  if (state.attack != old.attack || state.eps != old.eps || state.target != old.target || state.steps != old.steps ||
      state.seed != old.seed)
    attack_changed();
}

bool App::apply_query(const std::string& query) {
  std::string errors;
  ViewState s = play::apply_query(state, query, &errors);
  if (s.model != state.model && models.index_of(s.model) < 0) {
    std::string known;
    for (const std::string& n : models.names()) known += (known.empty() ? "" : ", ") + n;
    errors += "'model=" + s.model + "': unknown model (available: " + (known.empty() ? "none" : known) + ")\n";
    s.model = state.model;
  }
  set_state(s);
  if (!errors.empty()) {
    error = "ignored " + errors;
    if (!error.empty() && error.back() == '\n') error.pop_back();
    return false;
  }
  return true;
}

std::string App::hash() const {
  return encode_query(state);
}

std::string App::robust_key() const {
  return state.model + "/" + state.attack + "/" + std::to_string(state.attack == "fgsm" ? 1 : state.steps) + "/" +
         std::to_string(state.seed) + "/" + std::to_string(robust.count);
}

// ---- per frame -------------------------------------------------------------------------------

void App::update(bool run_robustness, bool drawing) {
  if (models.version() != models_seen_) {
    models_seen_ = models.version();
    models_changed();
  }
  if (shown_dirty_) {
    shown_dirty_ = false;
    ++view_version;
  }
  // Until the state's model is loaded there is nothing to compute; the dirty flags stay set.
  const ModelStatus status = state.model.empty() ? ModelStatus::kError : models.request(state.model);
  if (const ModelEntry* e = model_entry(); status == ModelStatus::kError && e) {
    if (model_error_shown_ != e->name + e->error) {  // show a load failure once (top bar, screen readers)
      model_error_shown_ = e->name + e->error;
      error = "model '" + e->name + "' failed to load: " + e->error;
    }
  } else {
    model_error_shown_.clear();
  }
  if (status != ModelStatus::kReady) {
    if (clean.top >= 0 || attack.valid) {
      clean = Prediction{};
      attack.valid = false;
      ++view_version;
    }
    return;
  }
  if (input_dirty_ || attack_dirty_) ++view_version;
  if (input_dirty_) {
    input_dirty_ = false;
    try {
      const auto t0 = Clock::now();
      clean = classify(input);
      timing.classify_ms = ms_since(t0);
    } catch (const advx::Error& e) {
      clean = Prediction{};
      error = e.what();
    }
  }
  if (attack_dirty_ && !drawing) {
    attack_dirty_ = false;
    attack.valid = false;
    if (clean.top >= 0) {
      try {
        attack.label = true_label >= 0 ? true_label : clean.top;
        // The attack's own evaluation of its result gives the adversarial prediction (eps 0: the
        // adversarial is the input, whose prediction is `clean`).
        attack.pred = clean;
        attack.adv = run_attack(input, attack.label, state.eps, state.target, state.steps, state.attack, state.seed,
                                &attack.ms, &attack.pred);
        timing.attack_ms = attack.ms;
        attack.delta = attack.adv;
        attack.linf = attack.l2 = 0.0f;
        attack.l0 = 0;
        double l2 = 0.0;
        for (size_t i = 0; i < attack.delta.data.size(); ++i) {
          const float d = attack.adv.data[i] - input.data[i];
          attack.delta.data[i] = d;
          attack.linf = std::max(attack.linf, std::fabs(d));
          l2 += static_cast<double>(d) * d;
          if (std::fabs(d) > 0.5f / 255.0f) ++attack.l0;
        }
        attack.l2 = static_cast<float>(std::sqrt(l2));
        attack.success = state.target >= 0 ? attack.pred.top == state.target : attack.pred.top != attack.label;
        attack.valid = true;
      } catch (const advx::Error& e) {
        error = e.what();
      }
    }
  }
  if (!run_robustness || drawing || samples.size() == 0 || models.entries().empty()) return;
  robust.count = std::min(robust.count, samples.size());
  const std::string key = robust_key();
  if (key != robust.key) {
    robust.key = key;
    robust.acc.assign(robust.eps.size(), -1.0f);
    robust.correct.assign(robust.eps.size(), 0);
    robust.next_eps = robust.next_sample = 0;
    robust.ms = 0;
  }
  // A time-boxed slice per frame keeps the UI responsive while the curve fills in; the batch size
  // adapts to the model's speed (cnn is ~20x slower than softmax).
  const auto t0 = Clock::now();
  try {
    while (!robust.done() && ms_since(t0) < 10.0) {
      const int n = std::min(robust.batch, robust.count - robust.next_sample);
      const auto tb = Clock::now();
      const float eps = robust.eps[static_cast<size_t>(robust.next_eps)];
      advx::Tensor x = samples.images.slice(robust.next_sample, n);
      std::vector<int> labels(samples.labels.begin() + robust.next_sample,
                              samples.labels.begin() + robust.next_sample + n);
      std::vector<int> pred;
      if (eps <= 0.0f) {
        pred = model().predict(x);
      } else {
        advx::LinfAttack cfg;
        cfg.eps = eps;
        cfg.steps = state.attack == "fgsm" ? 1 : state.steps;
        cfg.random_start = state.attack == "pgd";
        cfg.seed = state.seed;
        pred = advx::linf_attack(model(), x, labels, {}, cfg).pred;
      }
      for (int i = 0; i < n; ++i)
        if (pred[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)])
          ++robust.correct[static_cast<size_t>(robust.next_eps)];
      const double per_image = std::max(ms_since(tb) / n, 1e-3);
      robust.batch = std::clamp(static_cast<int>(6.0 / per_image), 1, 20);
      robust.next_sample += n;
      if (robust.next_sample >= robust.count) {
        robust.acc[static_cast<size_t>(robust.next_eps)] =
            static_cast<float>(robust.correct[static_cast<size_t>(robust.next_eps)]) / static_cast<float>(robust.count);
        robust.next_eps++;
        robust.next_sample = 0;
      }
    }
  } catch (const advx::Error& e) {
    error = e.what();
    robust.next_eps = static_cast<int>(robust.eps.size());
  }
  const double spent = ms_since(t0);
  robust.ms += spent;
  timing.robustness_ms = robust.ms;
}

}  // namespace play
