#include "frontend/app.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "engine/error.h"
#include "engine/io/image.h"
#include "engine/loss.h"
#include "engine/pipeline.h"
#include "engine/rng.h"
#include "engine/timing.h"
#include "frontend/time_slice.h"

namespace play {

namespace {

using Clock = std::chrono::steady_clock;
using advx::ms_since;

// [1, C, H, W] -> [C, H, W] (what the PNG encoder takes).
advx::Tensor as_chw(const advx::Tensor& x) {
  advx::Tensor t = x;
  if (t.rank() == 4) t.shape.erase(t.shape.begin());
  return t;
}

}  // namespace

void quantize(advx::Tensor& t) {
  for (float& v : t.data) v = std::round(std::clamp(v, 0.0f, 1.0f) * 255.0f) / 255.0f;
}

App::App(const std::string& asset_dir) : models(asset_dir), input({1, 1, 28, 28}) {
  // The build's default model (see ADVX_DEFAULT_MODEL in frontend/CMakeLists.txt), else the first.
  state.model = models.default_model();
  if (models.index_of(state.model) < 0 && !models.entries().empty()) state.model = models.entries().front().name;
  if (!models.manifest_error().empty()) error = models.manifest_error();
  input_dataset_ = dataset();
  advx::Shape s = input_shape();
  s.insert(s.begin(), 1);
  input = advx::Tensor(s);
  models.request_dataset(input_dataset_);
}

std::string App::dataset() const {
  const ModelEntry* e = model_entry();
  return e ? e->dataset : std::string("mnist");
}

advx::Shape App::input_shape() const {
  const DatasetEntry* d = models.find_dataset(dataset());
  return d && d->shape.size() == 3 ? d->shape : advx::Shape{1, 28, 28};
}

std::vector<std::string> App::class_names() const {
  const DatasetEntry* d = models.find_dataset(dataset());
  if (d && !d->classes.empty()) return d->classes;
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

const Samples& App::samples() const {
  static const Samples none;
  const DatasetEntry* d = models.find_dataset(dataset());
  return d && d->status == ModelStatus::kReady ? d->samples : none;
}

std::vector<float> budget_grid(const advx::ParamSpec& budget, double eps_max) {
  std::vector<float> grid;
  if (budget.type == advx::ParamType::Int) {
    for (int v = static_cast<int>(budget.min); v <= static_cast<int>(std::min(budget.max, budget.min + 9.0)); ++v)
      grid.push_back(static_cast<float>(v));
    return grid;
  }
  // L-infinity budgets: 13 points from 0 to the dataset's range of interest (0.3 on MNIST).
  const double end = std::min(budget.max, eps_max);
  for (int i = 0; i <= 12; ++i) grid.push_back(static_cast<float>(budget.min + (end - budget.min) * i / 12.0));
  return grid;
}

// ---- model -----------------------------------------------------------------------------------

advx::Sequential& App::model() {
  ModelEntry& e = models.get(state.model);
  ADVX_REQUIRE(e.model, "model '" + state.model + "' is a sequence model; the image view takes an image model");
  return *e.model;
}

ModelStatus App::model_status() const {
  const ModelEntry* e = model_entry();
  return e ? e->status : ModelStatus::kError;
}

void App::models_changed() {
  stop_live();
  if (seq_job_) {  // a live sequence attack refers to a model and a defence: start it again
    seq_drop_attack();
    seq_attack_dirty_ = true;
  }
  // A defence refers to the models it was built on; the curves' evaluation may refer to a defence.
  built_.clear();
  defended_ = nullptr;
  defended_key_.clear();
  building_.reset();  // it refers to the models and data too; so do the kept precomputations
  kept_->clear();
  robust.eval.reset();
  robust.key.clear();
  patch.eval.reset();  // it refers to the model; computed again
  patch.eval_key.clear();
  const ModelEntry* e = model_entry();
  if (e && e->status == ModelStatus::kReady) input_changed();  // compute what waited for this model
  // The sequence view: what waited for its model, its dataset or a defence's companion models.
  if (seq.clean.top < 0 || !seq.defence.waiting.empty()) seq_input_dirty_ = seq_attack_dirty_ = true;
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
  return first_row(m.probabilities(x), m.num_classes());
}

advx::Tensor App::probabilities(const advx::Tensor& x, bool with_defence) {
  advx::Classifier* d = with_defence ? defended() : nullptr;
  return d ? d->probabilities(x) : model().probabilities(x);
}

std::string App::defence_key(const advx::DefenceSpec& spec) const {
  std::string key = state.model + "/" + spec.name + "/" + (state.bpda ? "bpda" : "true");
  for (const advx::ParamSpec& p : spec.params) key += "/" + advx::format_value(p, state.params.number(p.key));
  return key;
}

advx::Classifier* App::defended() {
  const advx::DefenceSpec* spec = defence_spec();
  if (!spec) {
    if (defended_) stop_live();
    defended_ = nullptr;
    defended_key_.clear();
    return nullptr;
  }
  model();  // throws while the model loads
  const std::string key = defence_key(*spec);
  if (!defended_ || key != defended_key_) {
    auto it = std::find_if(built_.begin(), built_.end(), [&](const auto& b) { return b.first == key; });
    if (it == built_.end()) {
      // Not built yet: a call outside the frames' slices (the JS API) finishes the build at once.
      defence_build_slice(std::numeric_limits<double>::infinity());
      it = std::find_if(built_.begin(), built_.end(), [&](const auto& b) { return b.first == key; });
      ADVX_REQUIRE(it != built_.end(), "the defence '" + spec->name + "' could not be built");
      if (!defence.waiting.empty()) input_dirty_ = true;  // the frames were showing its build: show the defence
    }
    stop_live();                            // a live run may refer to the old defended model
    std::rotate(it, it + 1, built_.end());  // now the most recently used
    defended_ = built_.back().second.get();
    defended_key_ = key;
  }
  return defended_;
}

std::string App::defence_build_slice(double budget_ms) {
  const advx::DefenceSpec* spec = defence_spec();
  const std::string key = spec ? defence_key(*spec) : "";
  if (!spec || std::any_of(built_.begin(), built_.end(), [&](const auto& b) { return b.first == key; })) {
    building_.reset();  // another defence's (its precomputations stay kept for when it comes back)
    return "";
  }
  advx::Sequential& m = model();
  if (!building_ || building_key_ != key) {
    building_.reset();
    building_ = advx::start_defence(*spec, defence_context(), m, defence_values(*spec), state.bpda);
    building_key_ = key;
    build_step_ms_ = 0;
  }
  bool done = false;
  try {
    done = step_within(*building_, budget_ms, build_step_ms_);
  } catch (const advx::Error&) {
    building_.reset();  // started again when the state changes
    throw;
  }
  if (!done) {
    defence.progress = building_->fraction();
    const std::string what = building_->progress();
    return what.empty() ? "preparing the defence" : what;
  }
  std::unique_ptr<advx::Classifier> d = building_->result();
  building_.reset();
  stop_live();  // the least recently used defence may go, and a live run may refer to it
  defended_ = nullptr;
  defended_key_.clear();
  if (built_.size() >= kDefencesKept) built_.erase(built_.begin());
  built_.emplace_back(key, std::move(d));
  return "";
}

advx::Tensor App::training_image(int i) const {
  const DatasetEntry* d = models.find_dataset(dataset() + "/train");
  if (!d || d->status != ModelStatus::kReady || i < 0 || i >= d->samples.size()) return {};
  return d->samples.image(i);
}

advx::ParamValues App::defence_values(const advx::DefenceSpec& spec) const {
  advx::ParamValues v;
  for (const advx::ParamSpec& p : spec.params) v.set(p.key, state.params.number(p.key));
  return v;
}

std::string App::defence_waiting() {
  const advx::DefenceSpec* spec = defence_spec();
  if (!spec) return "";
  const advx::ParamValues v = defence_values(*spec);
  std::string out;
  auto add = [&out](const Asset& a, ModelStatus st, const std::string& what) {
    if (st != ModelStatus::kLoading) return;
    char buf[64];
    std::snprintf(buf, sizeof buf, " (%.1f of %.1f MB)", static_cast<double>(a.received) / 1048576.0,
                  static_cast<double>(a.total) / 1048576.0);
    out += (out.empty() ? "loading " : ", ") + what + buf;
  };
  if (spec->models)
    for (const std::string& name : spec->models(v))
      if (const ModelEntry* e = models.find(name)) add(*e, models.request(name), "model " + name);
  if (spec->data)
    for (const auto& [set, split] : spec->data(v)) {
      // As defence_context() serves them: a whole split's file, the validation half from the test one.
      const std::string file = (set.empty() ? dataset() : set) + "/" + (split == "validation" ? "test" : split);
      if (const DatasetEntry* d = models.find_dataset(file)) add(*d, models.request_dataset(file), file + " images");
    }
  if (out.empty() && building_ && building_key_ == defence_key(*spec)) {  // its build, a slice per frame
    const std::string what = building_->progress();
    return what.empty() ? "preparing the defence" : what;
  }
  return out;
}

advx::DefenceContext App::defence_context() {
  advx::DefenceContext c;
  // Companion models come from the model store (web: downloaded on first use; until then this
  // throws "still loading" and the defence is built again on a later frame).
  c.model = [this](const std::string& name) -> advx::Sequential& {
    models.request(name);
    ModelEntry& e = models.get(name);
    ADVX_REQUIRE(e.model, "model '" + name + "' is not an image model");
    return *e.model;
  };
  // Data: a whole split ships as its own file ("mnist/train", "mnist/test": frontend/CMakeLists.txt),
  // fetched when a defence first asks for it (until then this throws "still loading"). Validation is
  // the odd-indexed half of the test split (advx::validation_split), as in the CLI, so a detector's
  // threshold here is the CLI's. A dataset without whole splits (CIFAR-10) has its shipped test
  // sample, whose odd half then validates.
  c.data = [this](const std::string& name, const std::string& split) -> const advx::Dataset& {
    const std::string file = name + "/" + (split == "validation" ? std::string("test") : split);
    const bool whole = models.find_dataset(file) != nullptr;
    ADVX_REQUIRE(whole || split != "train",
                 "this build of the playground ships no " + name + " training images, which this defence needs");
    if (whole) models.request_dataset(file);
    const Samples& s = models.samples(whole ? file : name);  // throws while it loads
    if (split != "validation") return s.set;
    auto it = validation_sets_.find(name);
    if (it == validation_sets_.end() || it->second.size() != s.size() / 2)  // odd indices of s
      it = validation_sets_.insert_or_assign(name, advx::validation_split(s.set)).first;
    return it->second;
  };
  c.dataset = dataset();
  c.kept = kept_;
  return c;
}

int App::rows_for(double ms) const {
  const double per_row = std::max(timing.classify_ms, 0.005);
  return static_cast<int>(std::clamp(ms / per_row, 4.0, 4096.0));
}

std::unique_ptr<advx::AttackRun> App::start_run(const advx::Tensor& x, const std::vector<int>& labels,
                                                const ViewState& s, bool evaluate, int max_rows) {
  const advx::AttackSpec& spec = advx::get_attack(s.attack);
  advx::ParamValues params;
  for (const advx::ParamSpec& p : spec.params) params.set(p.key, s.params.number(p.key));
  advx::Classifier* target_model = &model();
  if (s.adaptive && advx::find_defence(s.defence)) {
    ADVX_REQUIRE(s.defence == state.defence && s.bpda == state.bpda,
                 "an adaptive attack runs on the playground's defence: set it with setState first");
    target_model = defended();
  }
  const int k = target_model->num_classes();
  ADVX_REQUIRE(s.target < k, "target " + std::to_string(s.target) + " is not a class of model '" + state.model +
                                 "' (0.." + std::to_string(k - 1) + ")");
  advx::Goal goal{labels, s.target >= 0 ? std::vector<int>(labels.size(), s.target) : std::vector<int>{}};
  const advx::AttackInput in{*target_model, advx::cross_entropy_objective(), x, goal, params, s.seed, evaluate,
                             max_rows};
  return advx::start_attack(spec, in);  // the run copies x and the goal; the objective is static
}

advx::AttackResult App::run_attack(const advx::Tensor& x, const std::vector<int>& labels, const ViewState& s,
                                   bool evaluate, double max_seconds) {
  const auto t0 = Clock::now();
  std::unique_ptr<advx::AttackRun> run = start_run(x, labels, s, evaluate);
  while (!run->step())
    if (max_seconds > 0.0 && ms_since(t0) > 1000.0 * max_seconds)
      throw advx::Error("the attack was stopped after " + std::to_string(static_cast<int>(max_seconds)) + " s at " +
                        std::to_string(static_cast<int>(run->progress() * 100.0)) + "% (" + std::to_string(x.dim(0)) +
                        " images); give fewer images or a smaller budget of steps");
  return run->result();
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
  if (!drawable()) return;  // drawing is for MNIST's grey digits only
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
  advx::Shape shape = input_shape();
  shape.insert(shape.begin(), 1);
  input = advx::Tensor(shape);
  state.test_index = -1;
  state.image.clear();
  input_changed();
}

void App::set_exact_input(const advx::Tensor& x) {
  advx::Shape shape = input_shape();
  const std::int64_t n = advx::shape_size(shape);
  ADVX_REQUIRE(x.size() == n, "input must be " + advx::shape_str(shape) + " = " + std::to_string(n) + " values for " +
                                  dataset() + ", got " + std::to_string(x.size()));
  for (float v : x.data)
    ADVX_REQUIRE(std::isfinite(v) && v >= 0.0f && v <= 1.0f, "input pixels must be finite and in [0, 1]");
  input = x;
  shape.insert(shape.begin(), 1);
  input.shape = shape;
  quantize(input);
  exact_input = true;
  true_label = -1;
  prep = advx::PreprocessInfo{};
  if (drawable()) canvas.set_image(input);
  update_image_state();
  input_changed();
}

void App::load_test_image(int index) {
  const Samples& s = models.samples(dataset());  // throws while it loads
  ADVX_REQUIRE(index >= 0 && index < s.size(),
               "test image index " + std::to_string(index) + " outside [0, " + std::to_string(s.size()) + ")");
  input = s.image(index);
  exact_input = true;
  true_label = s.label(index);
  prep = advx::PreprocessInfo{};
  if (drawable()) canvas.set_image(input);
  state.test_index = index;
  state.image.clear();
  input_changed();
}

void App::random_test_image() {
  if (samples().size() == 0) {
    error = "the " + dataset() + " test images are not loaded yet";
    return;
  }
  advx::Rng rng(state.seed * 0x9E3779B97F4A7C15ull + ++random_draws_);
  load_test_image(static_cast<int>(rng.below(static_cast<std::uint64_t>(samples().size()))));
}

bool App::import_png(const std::vector<std::uint8_t>& bytes, const std::string& name) {
  try {
    // A patch written by `advx patch train` or the patch workbench says so: it goes to the workbench.
    const std::map<std::string, std::string> text = advx::png_text(bytes, name);
    if (auto it = text.find("advx.kind"); it != text.end() && it->second == "adversarial patch")
      return import_patch_png(bytes, name);
    const advx::Shape shape = input_shape();
    advx::Tensor img = advx::decode_image(bytes, shape[0], name);
    if (!drawable()) {  // colour images: resized to the model's input and used as given
      if (img.dim(1) != shape[1] || img.dim(2) != shape[2]) img = advx::resize_image(img, shape[1], shape[2]);
      set_exact_input(img);
      notice = "imported " + name;
      return true;
    }
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

void App::apply_source() {
  if (!source_pending_) return;
  const std::string ds = dataset();
  const bool switched = ds != input_dataset_;
  // A test image (or a switch of dataset) needs the dataset's sample: wait until it is there.
  if (state.test_index >= 0 || switched) {
    const ModelStatus st = models.request_dataset(ds);
    if (st == ModelStatus::kLoading || st == ModelStatus::kNotLoaded) return;
  }
  source_pending_ = false;
  try {
    if (switched) {
      input_dataset_ = ds;
      exact_input = false;
      canvas.clear();
      if (state.test_index < 0 && state.image.empty()) {  // the old input means nothing here
        if (drawable())
          clear_input();
        else
          load_test_image(0);
        return;
      }
    }
    if (state.test_index >= 0) {
      load_test_image(state.test_index);
    } else if (!state.image.empty()) {
      std::vector<std::uint8_t> png;
      base64url_decode(state.image, png);
      const std::string keep = state.image;
      advx::Tensor img = advx::decode_image(png, input_shape()[0], "img= in the URL");
      set_exact_input(img);
      state.image = keep;
    } else {
      clear_input();
    }
  } catch (const advx::Error& e) {
    state_error_ = error = e.what();
    state.test_index = old_test_index_;
    state.image = old_image_;
  }
}

// ---- state -----------------------------------------------------------------------------------

bool App::set_state(const ViewState& s) {
  const ViewState old = state;
  state_error_.clear();
  state = s;
  if (state.model.empty()) state.model = old.model;
  if (models.index_of(state.model) < 0) {
    state_error_ = error = "unknown model '" + state.model + "'";
    state.model = old.model;
  } else if (models.find(state.model)->domain != kImages) {
    state_error_ = error = "model '" + state.model + "' is a sequence model: it belongs to view=seq";
    state.model = old.model;
  }
  seq_state_changed(old);
  // The image view's model loads when that view is shown.
  if (!state.seq() && !state.model.empty()) models.request(state.model);
  if (old.seq() && !state.seq()) input_changed();
  if (state.test_index != old.test_index || state.image != old.image || dataset() != input_dataset_) {
    if (!source_pending_) old_test_index_ = old.test_index, old_image_ = old.image;
    source_pending_ = true;
    apply_source();  // now, or once the dataset's sample has loaded
  } else if (state.preprocess != old.preprocess && !exact_input && !canvas.empty()) {
    canvas_changed();
  }
  if (state.target >= static_cast<int>(class_names().size())) {
    state_error_ = error = "target " + std::to_string(state.target) + " is not a class of model '" + state.model +
                           "' (0.." + std::to_string(class_names().size() - 1) + ")";
    state.target = old.target;
  }
  if (!state.seq()) apply_patch_state(old);
  const bool defence_changed =
      state.defence != old.defence || state.bpda != old.bpda || (state.defence != "none" && state.params != old.params);
  if (state.model != old.model || defence_changed) input_changed();
  if (state.hide != old.hide) ++view_version;  // the page is laid out again: draw it
  if (state.attack != old.attack || state.params != old.params || state.target != old.target ||
      state.seed != old.seed || state.adaptive != old.adaptive)
    attack_changed();
  return state_error_.empty();
}

bool App::apply_query(const std::string& query) {
  std::string errors;
  ViewState s = play::apply_query(state, query, &errors);
  const ModelEntry* picked = models.find(s.model);
  // A defence's companion (autoencoders/dae, ensemble/regular_0) is no model to pick; a sequence
  // model gets set_state's own message (it belongs to the sequence view).
  if (s.model != state.model && (!picked || (picked->companion && picked->domain != kSequences))) {
    std::string known;
    for (const std::string& n : models.names()) known += (known.empty() ? "" : ", ") + n;
    errors += "'model=" + s.model + "': unknown model (available: " + (known.empty() ? "none" : known) + ")\n";
    s.model = state.model;
  }
  if (!set_state(s)) errors += state_error_ + "\n";
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
  // Everything the curves depend on: the model, the attack and its parameters (but the budget,
  // which the curve sweeps), the seed, the defence and its parameters, the image count.
  const advx::AttackSpec* a = advx::find_attack(state.attack);
  std::string k = state.model + "/" + state.attack;
  if (a)
    for (const advx::ParamSpec& p : a->params)
      if (p.key != a->budget) k += "/" + p.key + "=" + advx::format_value(p, state.params.number(p.key));
  k += "/" + dataset() + "/seed=" + std::to_string(state.seed) + "/n=" + std::to_string(robust.count) + "/" +
       state.defence;
  if (const advx::DefenceSpec* d = defence_spec()) {
    for (const advx::ParamSpec& p : d->params) k += "/" + advx::format_value(p, state.params.number(p.key));
    k += state.bpda ? "/bpda" : "/true";
  }
  return k;
}

// ---- per frame -------------------------------------------------------------------------------

void App::update(bool run_robustness, bool drawing) {
  const auto t0 = Clock::now();
  models.advance(kReadSliceMs);  // a sequence dataset's file read a slice per frame
  // A patch in training changes what the model sees every frame: only the predictions follow it
  // (as they follow a pen); the attack and the curves wait until it stops.
  const bool patch_training = !state.seq() && (patch.running() || !patch.waiting.empty());
  if (patch_training) patch_slice(kPatchSliceMs);
  update_work(run_robustness, drawing || patch_training);
  if (!state.seq() && !patch_training && !drawing) patch_eval_slice(kPatchSliceMs);
  if (training.running() || !training.waiting.empty()) training_slice(kTrainSliceMs);
  timing.update_ms = ms_since(t0);
}

void App::update_work(bool run_robustness, bool drawing) {
  if (models.version() != models_seen_) {
    models_seen_ = models.version();
    models_changed();
  }
  if (state.seq()) {
    seq_update();
    return;
  }
  if (shown_dirty_) {
    shown_dirty_ = false;
    ++view_version;
  }
  apply_source();
  // Until the state's model (and its test sample) is loaded there is nothing to compute; the dirty
  // flags stay set.
  const ModelStatus status = state.model.empty() ? ModelStatus::kError : models.request(state.model);
  if (const ModelEntry* e = model_entry(); status == ModelStatus::kError && e) {
    if (model_error_shown_ != e->name + e->error) {  // show a load failure once (top bar, screen readers)
      model_error_shown_ = e->name + e->error;
      error = "model '" + e->name + "' failed to load: " + e->error;
    }
  } else {
    model_error_shown_.clear();
  }
  if (status != ModelStatus::kReady || source_pending_) {
    stop_live();
    if (clean.top >= 0 || attack.valid || defence.on) {
      clean = Prediction{};
      defence = DefenceView{};
      attack.valid = false;
      ++view_version;
    }
    return;
  }
  // A defence's first build, a slice per frame; the defended prediction (and the attack, the curves)
  // follow in the frame after the one that finishes it.
  if (building_ && !input_dirty_) {
    try {
      const auto t0 = Clock::now();
      defence.waiting = defence_build_slice(kDefenceSliceMs);
      defence.ms = timing.defence_ms = ms_since(t0);
    } catch (const advx::Error& e) {
      defence = DefenceView{};
      error = e.what();
    }
    if (defence.waiting.empty()) input_dirty_ = true;
    return;
  }
  if (input_dirty_ || attack_dirty_) ++view_version;
  if (input_dirty_) {
    input_dirty_ = false;
    try {
      place_patched();  // the input (or the patch) changed: place it again
      const auto t0 = Clock::now();
      clean = classify(model_input());
      timing.classify_ms = ms_since(t0);
    } catch (const advx::Error& e) {
      clean = Prediction{};
      error = e.what();
    }
    defence = DefenceView{};
    try {
      const auto t0 = Clock::now();
      // A defence whose models or data are still downloading waits (the panel shows the progress);
      // when they arrive the store's version bumps and models_changed() recomputes the input.
      defence.waiting = defence_waiting();
      if (defence.waiting.empty()) defence.waiting = defence_build_slice(kDefenceSliceMs);
      advx::Classifier* d = defence.waiting.empty() ? defended() : nullptr;
      if (d) {
        defence.on = true;
        defence.clean = first_row(d->probabilities(model_input()), d->num_classes());
        defence.gradient = d->gradient_kind();
        if (const auto* pipe = dynamic_cast<const advx::Pipeline*>(d)) defence.seen = pipe->transformed();
        if (auto* r = dynamic_cast<advx::Reporter*>(d)) defence.report = r->report(model_input());
      }
      defence.ms = timing.defence_ms = ms_since(t0);
    } catch (const advx::Error& e) {
      defence = DefenceView{};
      error = e.what();
    }
  }
  if (!defence.waiting.empty()) return;  // the attack and the curves wait for the defence's files
  if (attack_dirty_ && !drawing) {
    attack_dirty_ = false;
    compute_attack();
  } else if (live_ && !attack.paused && !drawing) {
    advance_attack(kAttackSliceMs, false);
  }
  // The attack being watched comes first: the curves wait while its run is live (a frame holds
  // one or the other, so it stays short).
  if (!run_robustness || drawing || samples().size() == 0 || models.entries().empty()) return;
  if (live_ && !attack.paused) return;
  robustness_slice();
}

void App::compute_attack() {
  stop_live();
  attack.valid = false;
  attack.snapshot = advx::AttackSnapshot{};
  if (clean.top < 0) return;
  try {
    attack.label = true_label >= 0 ? true_label : clean.top;
    const auto t0 = Clock::now();
    live_ = start_run(model_input(), {attack.label}, state, true, rows_for(kAttackSliceMs / 2));
    live_ms_ = ms_since(t0);
  } catch (const advx::Error& e) {
    error = e.what();
    return;
  }
  advance_attack(kAttackSliceMs, false);
}

void App::step_attack() {
  if (live_) advance_attack(0.0, true);
}

void App::advance_attack(double budget_ms, bool one_step) {
  if (!live_) return;
  try {
    const auto t0 = Clock::now();
    bool done = live_->done();
    // A manual step is one iteration as the run counts them (a DE generation, which may take
    // several chunks); a slice is at least one step, then more while it lasts.
    const int iteration = one_step ? live_->snapshot().iteration : 0;
    while (!done) {
      done = live_->step();
      if (one_step ? live_->snapshot().iteration != iteration : ms_since(t0) >= budget_ms) break;
    }
    live_ms_ += ms_since(t0);
    attack.progress = live_->progress();
    attack.snapshot = live_->snapshot();
    attack.running = !done;
    if (!done) {
      ++view_version;
      return;
    }
    advx::AttackResult r = live_->result();
    live_.reset();
    finish_attack(std::move(r));
  } catch (const advx::Error& e) {
    stop_live();
    error = e.what();
  }
}

void App::finish_attack(advx::AttackResult r) {
  try {
    attack.ms = timing.attack_ms = live_ms_;
    ++view_version;
    advx::Sequential& m = model();
    advx::Classifier* d = defended();
    const bool adaptive = d && state.adaptive;
    attack.crafted_on = adaptive ? d->name() : m.name();
    // The attack's own evaluation gives the prediction of the model it ran on (no extra forward).
    const Prediction own = r.pred[0] >= 0 ? first_row(advx::softmax(r.logits), m.num_classes()) : Prediction{};
    attack.pred = adaptive || own.top < 0 ? classify(r.adv) : own;
    attack.defended =
        d ? (adaptive && own.top >= 0 ? own : first_row(d->probabilities(r.adv), d->num_classes())) : Prediction{};
    const int shown = d ? attack.defended.top : attack.pred.top;
    attack.success = advx::attack_succeeded(shown, attack.label, state.target);
    attack.norms = advx::perturbation_norms(r.adv, model_input(), 0, 0.5f / 255.0f);
    attack.queries = r.queries;
    attack.gradient_calls = r.gradient_calls;
    attack.adv = std::move(r.adv);
    attack.delta = attack.adv;
    for (size_t i = 0; i < attack.delta.data.size(); ++i) attack.delta.data[i] -= model_input().data[i];
    attack.valid = true;
  } catch (const advx::Error& e) {
    error = e.what();
  }
}

void App::reset_robustness(const std::string& key) {
  robust.key = key;
  const advx::AttackSpec& spec = attack_spec();
  const advx::ParamSpec* budget = advx::find_param(spec.params, spec.budget);
  robust.budget = budget ? budget->key : "";
  const DatasetEntry* d = models.find_dataset(dataset());
  robust.grid = budget ? budget_grid(*budget, d ? d->eps_max : 0.3) : std::vector<float>{};
  robust.curves = {{"bare", {}}};
  if (defence_spec()) robust.curves.push_back({"oblivious", {}}), robust.curves.push_back({"adaptive", {}});
  for (RobustnessCurve::Curve& c : robust.curves) c.acc.assign(robust.grid.size(), -1.0f);
  robust.next_point = 0;
  robust.eval.reset();
  // One image first: the batch adapts from the measured cost, and the previous attack's batch (20
  // images of noise) was 20 one-pixel DE runs in one frame (a 109 s freeze in the browser soak).
  robust.batch = 1;
  robust.batch_ms = 0;
  robust.data = samples().head(robust.count);
  robust.ms = 0;
}

void App::robustness_slice() {
  robust.count = std::min(robust.count, samples().size());
  const std::string key = robust_key();
  if (key != robust.key) reset_robustness(key);
  // A time-boxed slice per frame keeps the UI responsive while the curves fill in; the batch size
  // adapts to the model's speed (cnn is ~20x slower than softmax).
  const auto t0 = Clock::now();
  try {
    while (!robust.done() && ms_since(t0) < 10.0) {
      const int curves = static_cast<int>(robust.curves.size());
      const int e = robust.next_point / curves, c = robust.next_point % curves;
      if (!robust.eval) {
        const float budget = robust.grid[static_cast<size_t>(e)];
        advx::EvalConfig cfg;
        cfg.batch = robust.batch;
        cfg.keep_adv = false;
        if (budget > 0.0f) {  // budget 0: the clean accuracy
          const advx::AttackSpec& spec = attack_spec();
          advx::ParamValues params;
          for (const advx::ParamSpec& p : spec.params) params.set(p.key, state.params.number(p.key));
          params.set(robust.budget, budget);
          cfg.attack = advx::registered_attack(spec, params, state.seed, nullptr, rows_for(5.0));
        }
        advx::Sequential& bare = model();
        advx::Classifier* d = defended();
        const std::string& name = robust.curves[static_cast<size_t>(c)].name;
        if (name == "bare")
          robust.eval = std::make_unique<advx::Evaluation>(bare, robust.data, cfg);
        else if (name == "oblivious")
          robust.eval = std::make_unique<advx::Evaluation>(*d, robust.data, cfg, &bare);
        else
          robust.eval = std::make_unique<advx::Evaluation>(*d, robust.data, cfg);
      }
      // One step is one unit of the attack (a gradient step, a DE generation), so a long attack on
      // one image is spread over frames too; the batch size adapts from the time a batch took.
      const auto tb = Clock::now();
      const int before = robust.eval->images_done();
      robust.eval->set_batch(robust.batch);
      robust.eval->step();
      robust.batch_ms += ms_since(tb);
      if (const int finished = robust.eval->images_done() - before; finished > 0) {
        const double per_image = std::max(robust.batch_ms / finished, 1e-3);
        robust.batch = std::clamp(static_cast<int>(6.0 / per_image), 1, 20);
        robust.batch_ms = 0;
      }
      if (robust.eval->done()) {
        robust.curves[static_cast<size_t>(c)].acc[static_cast<size_t>(e)] =
            static_cast<float>(robust.eval->result().adv_acc);
        robust.eval.reset();
        ++robust.next_point;
      }
    }
  } catch (const advx::Error& e) {
    error = e.what();
    robust.eval.reset();
    robust.next_point = robust.points();
  }
  robust.ms += ms_since(t0);
  timing.robustness_ms = robust.ms;
}

}  // namespace play
