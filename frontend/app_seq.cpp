// The sequence view of App (app.h): a typed or picked SMS or API-call trace, its prediction on every
// edit, a registered sequence defence's report and a registered sequence attack's adversarial. The
// engine does the work (engine/sequence_text.h encodes the text; engine/seqattacks and
// engine/seqdefences attack and defend); this file keeps the results in step with the state.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/error.h"
#include "engine/rng.h"
#include "frontend/app.h"
#include "frontend/time_slice.h"

namespace play {

namespace {

using Clock = std::chrono::steady_clock;

double now_ms() {
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

Prediction prediction_of(std::vector<float> probs) {
  Prediction p;
  p.probs = std::move(probs);
  if (!p.probs.empty()) p.top = static_cast<int>(std::max_element(p.probs.begin(), p.probs.end()) - p.probs.begin());
  return p;
}

// The parameters of `table` from the state's values.
advx::ParamValues values_of(const std::vector<advx::ParamSpec>& table, const advx::ParamValues& all) {
  advx::ParamValues v;
  for (const advx::ParamSpec& p : table) v.set(p.key, all.number(p.key));
  return v;
}

}  // namespace

const advx::SequenceTask& App::seq_task() const {
  const advx::SequenceTask* t = advx::find_sequence_task(state.seq_dataset);
  return t ? *t : advx::sequence_tasks().front();
}

std::vector<const ModelEntry*> App::seq_models() const {
  std::vector<const ModelEntry*> out;
  for (const ModelEntry& e : models.entries())
    if (e.domain == kSequences && e.dataset == seq_task().dataset) out.push_back(&e);
  return out;
}

std::string App::seq_model_name() const {
  if (!state.seq_model.empty()) return state.seq_model;
  const std::vector<const ModelEntry*> m = seq_models();
  return m.empty() ? std::string() : m.front()->name;
}

ModelEntry& App::seq_model_entry(const std::string& name) {
  ADVX_REQUIRE(!name.empty(), "no sequence model of " + seq_task().dataset + " is shipped with this build");
  const ModelEntry* e = models.find(name);
  ADVX_REQUIRE(!e || e->domain == kSequences,
               "model '" + name + "' is an image model; the sequence view takes a sequence model (sequence/...)");
  ModelEntry& m = models.get(name);  // throws: unknown, loading, failed
  return m;
}

ModelStatus App::seq_model_status() const {
  const ModelEntry* e = models.find(seq_model_name());
  return e ? e->status : ModelStatus::kError;
}

ModelStatus App::seq_data_status() const {
  const DatasetEntry* d = models.find_dataset(seq_task().dataset);
  return d ? d->status : ModelStatus::kError;
}

const advx::SequenceDataset* App::seq_data() const {
  const DatasetEntry* d = models.find_dataset(seq_task().dataset);
  return d && d->status == ModelStatus::kReady ? d->sequences.get() : nullptr;
}

std::vector<const advx::SeqAttackSpec*> App::seq_attack_choices() const {
  std::vector<const advx::SeqAttackSpec*> out;
  for (const advx::SeqAttackSpec& a : advx::seq_attacks())
    if (a.edit == seq_task().edit) out.push_back(&a);
  return out;
}

Prediction App::classify_text(const std::string& model, const std::string& text, advx::EncodedText* encoded) {
  ADVX_REQUIRE(text.size() <= kMaxSeqText, "the text has " + std::to_string(text.size()) + " bytes; at most " +
                                               std::to_string(kMaxSeqText) + " are read");
  ModelEntry& e = seq_model_entry(model);
  advx::EncodedText enc = e.codec.encode(text);
  Prediction p = prediction_of(advx::sequence_probabilities(*e.seq_model, enc.ids));
  if (encoded) *encoded = std::move(enc);
  return p;
}

// ---- typing and picking ------------------------------------------------------------------------

void App::set_seq_text(const std::string& text) {
  if (text == seq.text) return;  // e.g. a test sample's text written back by the text box
  state.seq_text = text.size() > kMaxSeqText ? text.substr(0, kMaxSeqText) : text;
  state.seq_test = -1;
  seq.text = state.seq_text;
  seq.true_label = -1;
  seq.attack = SeqAttackView{};  // it was the old text's; the new one comes when typing pauses
  seq_drop_attack();
  seq_input_dirty_ = seq_attack_dirty_ = true;
  seq_last_edit_ms_ = now_ms();
  // The prediction follows every key, in the frame of the key (once the model is there).
  if (seq_model_status() == ModelStatus::kReady) seq_compute_input();
}

void App::load_seq_test(int index) {
  const advx::SequenceDataset* d = seq_data();
  if (!d) {
    models.request_dataset(seq_task().dataset);
    throw advx::Error("the " + seq_task().dataset + " test samples are still loading");
  }
  ADVX_REQUIRE(index >= 0 && index < d->test.size(), "test sample " + std::to_string(index) + " is outside [0, " +
                                                         std::to_string(d->test.size()) + ") of " + d->name);
  state.seq_test = index;
  state.seq_text.clear();
  seq_drop_attack();
  seq_input_dirty_ = seq_attack_dirty_ = true;
  seq_last_edit_ms_ = -1e18;
}

void App::random_seq_test() {
  const advx::SequenceDataset* d = seq_data();
  if (!d || d->test.size() == 0) {
    error = "the " + seq_task().dataset + " test samples are not loaded yet";
    return;
  }
  advx::Rng rng(state.seed * 0x9E3779B97F4A7C15ull + ++seq_random_draws_);
  load_seq_test(static_cast<int>(rng.below(static_cast<std::uint64_t>(d->test.size()))));
}

// ---- state -------------------------------------------------------------------------------------

void App::seq_state_changed(const ViewState& old) {
  // The attack must be one the dataset allows (malware keeps its calls: insertions only).
  const advx::SequenceTask& task = seq_task();
  const advx::SeqAttackSpec* a = advx::find_seq_attack(state.seq_attack);
  if (!a || a->edit != task.edit) {
    const bool asked = !state.seq_attack.empty() && state.seq_attack != old.seq_attack;
    if (asked && a) {
      try {
        advx::require_task_edit(task, *a);
      } catch (const advx::Error& e) {
        state_error_ = error = e.what();
      }
    }
    const std::vector<const advx::SeqAttackSpec*> fits = seq_attack_choices();
    const advx::SeqAttackSpec* keep = advx::find_seq_attack(old.seq_attack);
    state.seq_attack = keep && keep->edit == task.edit ? keep->name : fits.empty() ? "" : fits.front()->name;
  }
  if (!state.seq_model.empty()) {
    const ModelEntry* e = models.find(state.seq_model);
    std::string why;
    if (!e)
      why = "unknown model";
    else if (e->domain != kSequences)
      why = "an image model; the sequence view takes a sequence model";
    else if (e->dataset != task.dataset)
      why = "a model of " + e->dataset + ", not of " + task.dataset;
    if (!why.empty()) {
      if (state.seq_dataset == old.seq_dataset && state.seq_model != old.seq_model)
        state_error_ = error = "model '" + state.seq_model + "': " + why;
      state.seq_model = old.seq_model;  // a switch of dataset drops the old dataset's model
      const ModelEntry* o = models.find(state.seq_model);
      if (!o || o->dataset != task.dataset) state.seq_model.clear();
    }
  }
  if (state.seq_test >= 0) {
    if (const advx::SequenceDataset* d = seq_data(); d && state.seq_test >= d->test.size()) {
      state_error_ = error = "test sample " + std::to_string(state.seq_test) + " is outside [0, " +
                             std::to_string(d->test.size()) + ") of " + d->name;
      state.seq_test = old.seq_test, state.seq_text = old.seq_text;
    }
  }
  const bool text_changed = state.view != old.view || state.seq_dataset != old.seq_dataset ||
                            state.seq_model != old.seq_model || state.seq_test != old.seq_test ||
                            state.seq_text != old.seq_text;
  const bool defence_changed =
      state.seq_defence != old.seq_defence || (state.seq_defence != "none" && state.seq_params != old.seq_params);
  if (text_changed || defence_changed) seq_input_dirty_ = seq_attack_dirty_ = true;
  if (state.seq_attack != old.seq_attack || state.seq_params != old.seq_params || state.seed != old.seed ||
      state.adaptive != old.adaptive)
    seq_attack_dirty_ = true;
  if (text_changed) seq_last_edit_ms_ = -1e18;  // not typing: no reason to wait for the attack
  if (state.seq()) {
    if (const std::string m = seq_model_name(); !m.empty()) models.request(m);
    if (state.seq_test >= 0 || state.seq_defence != "none") models.request_dataset(task.dataset);
  }
}

// ---- per frame ---------------------------------------------------------------------------------

void App::seq_drop_attack() {
  seq_job_.reset();
  seq.attack_running = false;
}

void App::seq_update() {
  // A live attack refers to the model, the defence and the text it started on: a change to any of
  // them starts it again.
  if (seq_input_dirty_ || seq_attack_dirty_) seq_drop_attack();
  const std::string name = seq_model_name();
  const ModelStatus st = name.empty() ? ModelStatus::kError : models.request(name);
  bool waiting = st != ModelStatus::kReady;
  if (st == ModelStatus::kError) {
    const ModelEntry* e = models.find(name);
    const std::string why = e ? "model '" + name + "' failed to load: " + e->error
                              : "no sequence model of " + seq_task().dataset + " is shipped with this build";
    if (model_error_shown_ != why) model_error_shown_ = error = why;
  }
  if (state.seq_test >= 0 || state.seq_defence != "none") {
    const ModelStatus ds = models.request_dataset(seq_task().dataset);
    if (state.seq_test >= 0 && (ds == ModelStatus::kLoading || ds == ModelStatus::kNotLoaded)) waiting = true;
    if (ds == ModelStatus::kError) {
      const DatasetEntry* d = models.find_dataset(seq_task().dataset);
      const std::string why = d ? "the " + d->name + " dataset failed to load: " + d->error
                                : "the " + seq_task().dataset + " dataset is not shipped with this build";
      if (model_error_shown_ != why) model_error_shown_ = error = why;
    }
  }
  // The text: typed, or the test sample's once the dataset is there.
  std::string text = state.seq_text;
  int label = -1;
  if (state.seq_test >= 0) {
    if (const advx::SequenceDataset* d = seq_data()) {
      if (state.seq_test < d->test.size()) {
        text = d->test.texts[static_cast<size_t>(state.seq_test)];
        label = d->test.labels[static_cast<size_t>(state.seq_test)];
      } else {
        error = "test sample " + std::to_string(state.seq_test) + " is outside [0, " + std::to_string(d->test.size()) +
                ") of " + d->name;
        state.seq_test = -1;
      }
    }
  }
  if (text != seq.text || label != seq.true_label) {
    seq.text = text, seq.true_label = label;
    seq_input_dirty_ = seq_attack_dirty_ = true;
  }
  seq_pending_ = waiting;
  if (waiting) {
    if (seq.clean.top >= 0 || seq.attack.valid || seq.defence.on) {
      seq.clean = Prediction{};
      seq.defence = SeqDefenceView{};
      seq.attack = SeqAttackView{};
      ++view_version;
    }
    return;
  }
  // A build finished outside the frames (the JS API) while they showed its progress: show the defence.
  if (seq.defence.building && !seq_building_) seq_input_dirty_ = true;
  if (seq_input_dirty_)
    seq_compute_input();
  else if (seq_building_)
    seq_build_slice();
  if (!seq.defence.waiting.empty()) seq_pending_ = true;  // the attack waits for the defence
  if (seq_attack_dirty_ && !seq_pending_ && now_ms() - seq_last_edit_ms_ >= kSeqAttackDelayMs) {
    seq_attack_dirty_ = false;
    seq_compute_attack();
  } else if (seq_job_ && !seq_pending_) {
    seq_attack_slice(kAttackSliceMs);
  }
}

advx::SeqDefended* App::seq_defended(const std::string& model, double budget_ms) {
  const advx::SeqDefenceSpec* spec = advx::find_seq_defence(state.seq_defence);
  if (!spec) {
    seq_defended_.reset();
    seq_defended_key_.clear();
    seq_building_.reset();
    return nullptr;
  }
  std::string key = model + "/" + spec->name;
  for (const advx::ParamSpec& p : spec->params) key += "/" + advx::format_value(p, state.seq_params.number(p.key));
  if (seq_defended_ && key == seq_defended_key_) return seq_defended_.get();
  seq_defended_.reset();
  seq_defended_key_.clear();
  if (seq_building_ && seq_building_key_ != key) seq_building_.reset();  // another defence's, or parameters
  const advx::SequenceTask& task = seq_task();
  seq_waiting_.clear();
  if (!seq_building_) {
    ModelStatus ds = models.request_dataset(task.dataset);
    if (ds == ModelStatus::kLoading && !std::isfinite(budget_ms)) {  // a JS API call: read the file to the end now
      models.finish_read(task.dataset);
      ds = models.request_dataset(task.dataset);
    }
    if (ds == ModelStatus::kLoading || ds == ModelStatus::kNotLoaded) {
      seq_waiting_ = "the " + task.dataset + " dataset (its training and validation samples)";
      throw advx::Error("waiting for " + seq_waiting_);
    }
    const advx::SequenceDataset& data = models.sequences(task.dataset);  // throws if it failed to load
    ModelEntry& base = seq_model_entry(model);
    advx::check_model_vocabulary(data, base.metadata, model);
    if (seq_validation_of_ != data.name) {
      seq_validation_ = advx::sequence_validation_split(data.test);
      seq_validation_of_ = data.name;
    }
    advx::SeqDefenceContext ctx{data.train, seq_validation_, task.dataset};
    // Companion models (ensemble members) from the store: downloaded on first use (web).
    ctx.model = [this](const std::string& name) -> advx::SequenceClassifier& {
      const ModelStatus st = models.request(name);
      if (st == ModelStatus::kLoading || st == ModelStatus::kNotLoaded) seq_waiting_ = "model '" + name + "'";
      ModelEntry& e = models.get(name);  // throws while it loads, or if it failed
      ADVX_REQUIRE(e.seq_model, "model '" + name + "' is not a sequence model");
      return *e.seq_model;
    };
    seq_building_ = advx::start_seq_defence(*spec, ctx, *base.seq_model, values_of(spec->params, state.seq_params));
    seq_building_key_ = key;
    seq_build_step_ms_ = 0;
  }
  bool done = false;
  try {
    done = step_within(*seq_building_, budget_ms, seq_build_step_ms_);
  } catch (const advx::Error&) {
    seq_building_.reset();  // started again when what it waits for is there
    throw;
  }
  if (!done) return nullptr;
  seq_defended_ = std::make_unique<advx::SeqDefended>(seq_building_->result());
  seq_defended_key_ = key;
  seq_building_.reset();
  return seq_defended_.get();
}

namespace {

// The view of a sequence defence whose first build is under way.
void show_building(SeqDefenceView& dv, const advx::SeqDefenceBuild& b) {
  const std::string what = b.progress();
  dv.waiting = what.empty() ? "preparing the defence" : what;
  dv.building = true;
  dv.progress = b.fraction();
}

}  // namespace

void App::seq_build_slice() {
  SeqDefenceView& dv = seq.defence;
  try {
    const auto t0 = Clock::now();
    if (seq_defended(seq_model_name(), kDefenceSliceMs))
      seq_input_dirty_ = true;  // built: the defended prediction (and the attack) in the next frame
    else if (seq_building_)
      show_building(dv, *seq_building_);
    seq.defence_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  } catch (const advx::Error& e) {
    dv = SeqDefenceView{};
    if (!seq_waiting_.empty())
      dv.waiting = seq_waiting_;  // built again when it is there (models_changed)
    else
      dv.error = e.what();
  }
  ++view_version;
}

void App::seq_compute_input() {
  seq_input_dirty_ = false;
  ++view_version;
  const std::string name = seq_model_name();
  try {
    const auto t0 = Clock::now();
    seq.clean = classify_text(name, seq.text, &seq.input);
    seq.classify_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  } catch (const advx::Error& e) {
    seq.clean = Prediction{};
    seq.input = advx::EncodedText{};
    error = e.what();
    return;
  }
  SeqDefenceView& dv = seq.defence;
  dv = SeqDefenceView{};
  if (state.seq_defence == "none") return;
  try {
    const auto t0 = Clock::now();
    // A first build in progress: one step here (this may be a key's call), the rest a slice per frame.
    if (advx::SeqDefended* d = seq_defended(name, 0.0)) {
      std::vector<float> probs;
      dv.report = advx::seq_defence_report(*d, seq.input.ids, &probs);
      dv.pred = prediction_of(std::move(probs));
      dv.gradient = d->model->gradient_kind();
      dv.note = d->note;
      dv.target_fpr = d->target_fpr, dv.validation_fpr = d->validation_fpr;
      dv.on = true;
    } else if (seq_building_) {
      show_building(dv, *seq_building_);
    }
    seq.defence_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  } catch (const advx::Error& e) {
    if (!seq_waiting_.empty())
      dv.waiting = seq_waiting_;  // built again when it is there (models_changed)
    else
      dv.error = e.what();
  }
}

std::unique_ptr<SeqAttackJob> App::start_seq_attack(const std::string& model, const advx::EncodedText& text, int label,
                                                    const ViewState& s) {
  const advx::SeqAttackSpec* spec = advx::find_seq_attack(s.seq_attack);
  ADVX_REQUIRE(spec,
               "attack is one of " + advx::seq_attack_names() + " (a sequence attack), got '" + s.seq_attack + "'");
  ModelEntry& e = seq_model_entry(model);
  const advx::SequenceTask* task = advx::find_sequence_task(e.dataset);
  ADVX_REQUIRE(task, "model '" + model + "' reads '" + e.dataset + "', not a sequence dataset of the engine");
  advx::require_task_edit(*task, *spec);
  advx::SequenceModel& bare = *e.seq_model;
  auto job = std::make_unique<SeqAttackJob>();
  if (const advx::SeqDefenceSpec* ds = advx::find_seq_defence(s.seq_defence)) {
    ADVX_REQUIRE(s.seq_defence == state.seq_defence && task == &seq_task() &&
                     values_of(ds->params, s.seq_params) == values_of(ds->params, state.seq_params),
                 "an attack with a defence runs on the playground's defence (its dataset, defence and parameters): "
                 "set them with setState first");
    job->defended = seq_defended(model);
  }
  advx::SeqDefended* d = job->defended;
  job->adaptive = d && s.adaptive;
  advx::SequenceClassifier& target = job->adaptive ? *d->model : static_cast<advx::SequenceClassifier&>(bare);
  job->spec = spec;
  job->model = model;
  job->text = text;
  job->seqs = {text.ids};
  SeqAttackView& v = job->view;
  v.attack = spec->name;
  v.label = label >= 0 ? label : prediction_of(advx::sequence_probabilities(bare, text.ids)).top;
  ADVX_REQUIRE(v.label < bare.classes(), "label " + std::to_string(v.label) + " is not a class of model '" + model +
                                             "' (0.." + std::to_string(bare.classes() - 1) + ")");
  const auto t0 = Clock::now();
  advx::Goal goal;
  goal.labels = {v.label};
  // The adaptive attacker of a detector evades it too (the engine decides which defences and attacks).
  if (job->adaptive) job->term = advx::adaptive_detector_term(*d, *spec);
  job->run = advx::start_seq_attack(
      *spec, {target, advx::cross_entropy_objective(), job->seqs, goal, values_of(spec->params, s.seq_params), s.seed,
              job->term.score ? &job->term : nullptr});
  v.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return job;
}

SeqAttackView App::finish_seq_attack(SeqAttackJob& job) {
  const advx::SeqAttackResult& r = job.run->result();
  ModelEntry& e = seq_model_entry(job.model);
  advx::SequenceModel& bare = *e.seq_model;
  advx::SeqDefended* d = job.defended;
  SeqAttackView v = job.view;
  v.adv = r.adv.at(0);
  v.edit = e.codec.describe(job.text, v.adv, job.spec->edit);
  v.edits = r.edits.at(0), v.budget = r.budget.at(0);
  v.queries = r.queries, v.gradient_calls = r.gradient_calls;
  v.crafted_on = job.adaptive ? d->model->name() + " (" + state.seq_defence + ")" : job.model;
  v.pred = prediction_of(advx::sequence_probabilities(bare, v.adv));
  if (d) {
    std::vector<float> probs;
    v.report = advx::seq_defence_report(*d, v.adv, &probs);
    v.defended = prediction_of(std::move(probs));
  }
  // Against a detecting defence, success is the adaptive attacker's (and advx eval's): misclassified
  // AND not flagged.
  for (const advx::DefenceReport::Score& sc : v.report.scores) v.flagged = v.flagged || sc.flagged;
  v.success = advx::attack_succeeded(d ? v.defended.top : v.pred.top, v.label, -1) && !v.flagged;
  v.valid = true;
  return v;
}

SeqAttackView App::attack_text(const std::string& model, const advx::EncodedText& text, int label, const ViewState& s) {
  const auto t0 = Clock::now();
  std::unique_ptr<SeqAttackJob> job = start_seq_attack(model, text, label, s);
  while (!job->run->step()) {
  }
  job->view.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return finish_seq_attack(*job);
}

void App::seq_compute_attack() {
  ++view_version;
  seq.attack = SeqAttackView{};
  seq_drop_attack();
  if (seq.clean.top < 0 || state.seq_attack.empty()) return;
  try {
    seq_job_ = start_seq_attack(seq_model_name(), seq.input, seq.true_label, state);
    seq.attack_running = true;
    seq.attack_progress = 0.0;
  } catch (const advx::Error& e) {
    error = e.what();
    return;
  }
  seq_attack_slice(kAttackSliceMs);
}

void App::seq_attack_slice(double budget_ms) {
  if (!seq_job_) return;
  try {
    const auto t0 = Clock::now();
    bool done = seq_job_->run->done();
    while (!done) {  // at least one step, then more while the slice lasts
      done = seq_job_->run->step();
      if (std::chrono::duration<double, std::milli>(Clock::now() - t0).count() >= budget_ms) break;
    }
    seq_job_->view.ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    seq.attack_progress = seq_job_->run->progress();
    ++view_version;
    if (!done) return;
    seq.attack = finish_seq_attack(*seq_job_);
    timing.attack_ms = seq.attack.ms;
  } catch (const advx::Error& e) {
    error = e.what();
  }
  seq_drop_attack();
}

}  // namespace play
