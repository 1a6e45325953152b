// The playground's state and actions. Panels (panel_*.cpp) draw it with ImGui and call these
// actions; the JS API (web_api.cpp) calls the same actions. All ML work is done by the engine: the
// attacks and defences come from its registries, norms and the success rule from its functions,
// the robustness curves from its Evaluation. App schedules that work across frames.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/attacks/attack.h"
#include "engine/attacks/patch_trainer.h"
#include "engine/defences/defence.h"
#include "engine/eval/evaluate.h"
#include "engine/eval/sequence_eval.h"
#include "engine/norms.h"
#include "engine/patch.h"
#include "engine/preprocess.h"
#include "engine/seqattacks/seq_attack.h"
#include "engine/seqdefences/seq_defence.h"
#include "engine/sequence_text.h"
#include "engine/tensor.h"
#include "engine/train/trainer.h"
#include "frontend/canvas.h"
#include "frontend/model_store.h"
#include "frontend/samples.h"
#include "frontend/state.h"

namespace play {

struct Prediction {
  std::vector<float> probs;  // num_classes
  int top = -1;
};

struct AttackView {
  bool valid = false;
  advx::Tensor adv;      // [1, C, H, W]
  advx::Tensor delta;    // adv - input
  Prediction pred;       // the bare model on adv
  Prediction defended;   // the defended model on adv (top -1 without a defence)
  int label = -1;        // the class attacked (true label if known, else the clean prediction)
  bool success = false;  // the model shown is fooled: the defended one when a defence is on
  advx::Norms norms;
  std::int64_t queries = 0, gradient_calls = 0;
  std::string crafted_on;  // the classifier the attack ran on ("small", "threshold(0.5) > small")
  double ms = 0;           // engine time of the attack
  // A long run (the one-pixel DE, the patch's training) is computed a slice per frame: while it
  // runs, `running` is set, `snapshot` shows its state (population, best value per iteration,
  // queries) and adv/pred are those of the last finished run.
  bool running = false, paused = false;
  double progress = 0;
  advx::AttackSnapshot snapshot;
};

struct DefenceView {
  bool on = false;
  Prediction clean;                                         // the defended model on the input
  advx::GradientKind gradient = advx::GradientKind::Exact;  // what the adaptive attacker follows
  advx::Tensor seen;           // what the defended model's classifier sees (the transformed input), if known
  advx::DefenceReport report;  // detector scores, members' votes, neighbours (advx::Reporter), if any
  // "loading ...": what the defence needs and is still downloading, or what its first build is
  // computing ("embedding training images 12,000 of 60,000"), a slice per frame
  std::string waiting;
  double progress = 0;  // of that build's current long work, 0..1
  double ms = 0;
};

// Accuracy against the attack's budget on the first `count` test images, one curve per setting:
// the bare model, and with a defence on, the defended model against the oblivious and the adaptive
// attacker. Filled a slice per frame through engine Evaluations.
struct RobustnessCurve {
  struct Curve {
    std::string name;        // "bare", "oblivious", "adaptive"
    std::vector<float> acc;  // per budget point; < 0 until computed
  };
  std::string key;          // what it was computed for
  std::string budget;       // the budget parameter's key ("eps")
  std::vector<float> grid;  // budget values
  std::vector<Curve> curves;
  int count = 100;                         // test images used
  int next_point = 0;                      // points are computed budget-major: (eps 0: every curve), (eps 1: ...)
  int batch = 2;                           // images per batch, adapted so a batch's attack costs ~6 ms
  double batch_ms = 0;                     // time spent on the running batch so far
  advx::Dataset data;                      // the first `count` test images
  std::unique_ptr<advx::Evaluation> eval;  // the point being computed
  int points() const { return static_cast<int>(grid.size() * curves.size()); }
  bool done() const { return !key.empty() && next_point >= points(); }
  double ms = 0;  // engine time spent so far
};

// "Train robustly": a model trained in the playground by a recipe of engine/train/recipes.h on the
// first N MNIST training images, a few batches per frame (the engine's stepwise Trainer), with each
// epoch's clean and PGD-10 accuracy; when done it joins the models to pick (and to attack).
struct TrainView {
  std::string arch = "small";
  std::string recipe = "fgsm_rs";
  advx::ParamValues params;  // recipe_params(), defaults until changed
  std::unique_ptr<advx::Sequential> model;
  std::unique_ptr<advx::Trainer> trainer;  // null: not started (or stopped)
  bool paused = false;
  std::string waiting;                    // "loading the mnist/train images (...)": the run starts when they are there
  std::string error;                      // why it could not start or stopped
  std::string adopted;                    // the name the finished model was added under ("" until then)
  int runs = 0;                           // models added so far (their names count up)
  double ms = 0;                          // engine time spent training so far
  double step_ms = 0;                     // a Trainer step's recent cost (how many fit in a frame's slice)
  std::vector<advx::EpochStats> history;  // the last run's epochs (kept after it is added to the models)
  int epochs = 0;                         // of the last run
  bool running() const { return trainer && !trainer->done() && !paused; }
};

// The patch workbench (app_patch.cpp): an adversarial patch (Brown, Mane, Roy, Abadi, Gilmer 2017,
// arXiv:1712.09665) painted by hand or trained, placed on the input (the model then sees the
// patched image; `input` stays the original), trained as a universal targeted patch over training
// images by the engine's PatchTrainer a few steps per frame, and scored on held-out test images by
// the engine's patch evaluation (the one `advx patch eval` runs). Its pixels, size, placement and
// target live in the ViewState (the URL); this holds what is derived from them and the runs.
struct PatchView {
  advx::Tensor pixels;       // [C, S, S] in [0, 1], quantised to k/255 (what state.patch encodes)
  advx::Tensor seen;         // [1, C, H, W]: the input with the patch placed (empty without a patch)
  std::vector<int> covered;  // image pixels (i * W + j) the placed patch covers
  advx::PatchPlacement where;
  // Training: a universal patch towards state.patch_target on the first kPatchTrainImages training
  // images (CIFAR-10, which ships no training split here: the second half of its test sample).
  advx::Tensor train_images;  // what the trainer draws from (it refers to them)
  std::vector<int> train_labels;
  std::unique_ptr<advx::PatchTrainer> trainer;  // null: not training (none, or stopped)
  std::string trained_model;                    // the model the trainer refers to
  int goal = 200;                               // train until this many steps
  bool paused = false;
  std::string waiting;  // "loading the mnist/train images (...)"
  std::string error;
  std::vector<advx::PatchStepStats> history;  // loss and batch success per step (kept after a run)
  double ms = 0, step_ms = 0;                 // engine time training; a step's recent cost
  // Held-out: the patch dropped on the first kPatchHeldOut test images at seeded random placements.
  advx::Dataset held_out;  // the evaluation refers to it (declared first: outlives it)
  std::unique_ptr<advx::Evaluation> eval;
  std::string eval_key;     // what the running or finished evaluation was for
  double success = -1;      // its targeted success rate (< 0: not computed yet)
  int attacked = 0;         // images it counts (correct and not of the target class)
  int evaluated_step = -1;  // the training step of the patch evaluated (-1: not a trained patch)
  bool running() const { return trainer && !paused && trainer->steps() < goal; }
};

struct Timing {
  double preprocess_ms = 0, classify_ms = 0, defence_ms = 0, attack_ms = 0, robustness_ms = 0, train_ms = 0;
  double patch_ms = 0;
  double update_ms = 0;  // the last App::update: the engine's share of the last frame
};

// The sequence view's results (view=seq), recomputed from the state by the engine: the text's
// tokens and prediction on every edit, the sequence defence's report, the sequence attack's
// adversarial with the tokens it put in.
struct SeqDefenceView {
  bool on = false;
  Prediction pred;             // the defended model on the text
  advx::DefenceReport report;  // its detector score against the threshold, each member's vote
  advx::GradientKind gradient = advx::GradientKind::Exact;  // what the adaptive attacker follows
  std::string note;                                         // what the adaptive attacker of this defence does
  double target_fpr = 0, validation_fpr = 0;
  std::string waiting;    // what it waits for (a dataset, ensemble members) or computes, else ""
  bool building = false;  // waiting: its first build runs a slice per frame (what it computes, progress)
  double progress = 0;    // of the build's current stage, 0..1
  std::string error;      // why it cannot be built (e.g. no members for this dataset)
};

struct SeqAttackView {
  bool valid = false;
  std::string attack;          // the registered sequence attack
  advx::TokenSeq adv;          // the adversarial's ids
  advx::TextEdit edit;         // its tokens, the positions the attack put a token at, its text
  Prediction pred;             // the bare model on the adversarial
  Prediction defended;         // the defended model on it (top -1 without a defence)
  advx::DefenceReport report;  // the defence's report on it
  int label = -1;              // the class attacked (the true label if known, else the prediction)
  bool flagged = false;        // a detecting defence flags the adversarial
  bool success = false;        // the model shown (the defended one when a defence is on) is fooled, unflagged
  int edits = 0, budget = 0;   // tokens put in, and allowed
  std::int64_t queries = 0, gradient_calls = 0;
  std::string crafted_on;
  double ms = 0;
};

// A sequence attack in progress: what its run refers to (kept here, so they outlive it) and what
// the view needs when it finishes. App::start_seq_attack makes one; App::finish_seq_attack turns it
// into the view.
struct SeqAttackJob {
  const advx::SeqAttackSpec* spec = nullptr;
  std::string model;
  advx::EncodedText text;
  std::vector<advx::TokenSeq> seqs;
  advx::SeqDefended* defended = nullptr;  // the defence shown (nullptr without one)
  bool adaptive = false;                  // crafted through the defence
  advx::SeqDetectorTerm term;             // the adaptive attacker's detector term (empty: none)
  SeqAttackView view;                     // label and attack filled in at the start
  std::unique_ptr<advx::SeqAttackRun> run;
};

struct SeqView {
  std::string text;         // the text shown (typed, or the test sample's)
  advx::EncodedText input;  // its tokens as the model reads them
  Prediction clean;         // the bare model on them (top -1 until the model is loaded)
  int true_label = -1;      // known for an unedited test sample
  SeqDefenceView defence;
  SeqAttackView attack;
  double classify_ms = 0, defence_ms = 0;
  bool attack_running = false;  // the attack is being computed, a slice per frame
  double attack_progress = 0;   // 0..1 while it runs
};

class App {
 public:
  explicit App(const std::string& asset_dir);

  // ---- state ----
  ViewState state;
  ModelStore models;
  Canvas canvas;
  bool exact_input = false;  // input came from a test image / PNG / setInput: no preprocessing
  bool erase = false;
  advx::Tensor input;  // [1, C, H, W] what the model sees (quantised to k/255)
  advx::PreprocessInfo prep;
  Prediction clean;
  int true_label = -1;  // known for test images
  DefenceView defence;
  AttackView attack;
  RobustnessCurve robust;
  TrainView training;
  PatchView patch;
  Timing timing;
  std::string error;     // last error, shown in the UI
  std::string notice;    // last info message (export done, ...)
  int view_version = 0;  // bumps whenever input, prediction or attack change (views re-upload)

  // ---- actions ----
  // Applies everything (model, input, attack, defence). A value that cannot be applied (a test
  // index past the sample, a target the model does not have, an undecodable img=) is reverted and
  // reported in `error`; returns false then.
  bool set_state(const ViewState& s);
  bool apply_query(const std::string& query);  // setState / URL hash; false (and error set) on bad keys
  void canvas_changed();                       // after strokes: re-derive input from the canvas
  void clear_input();
  void load_test_image(int index);
  void random_test_image();
  void set_exact_input(const advx::Tensor& x);  // the dataset's C*H*W values in [0, 1]
  bool import_png(const std::vector<std::uint8_t>& bytes, const std::string& name);
  std::vector<std::uint8_t> adversarial_png() const;  // PNG of the adversarial (grey or RGB)
  std::vector<std::uint8_t> input_png() const;

  // The dataset of the state's model ("mnist", "cifar10"; from the manifest, known before loading),
  // its per-sample shape and class names, its test sample (empty until it has loaded), and whether
  // inputs can be drawn (MNIST's 28x28 grey digits only).
  std::string dataset() const;
  advx::Shape input_shape() const;
  std::vector<std::string> class_names() const;
  const Samples& samples() const;
  bool drawable() const { return input_shape() == advx::Shape{1, 28, 28}; }

  // Recomputes what changed (classification, defence, attack); runs a slice of the robustness
  // curves. Call once per frame. While a stroke is being drawn (`drawing`) only the predictions
  // follow the pen; the attack and the curves wait until the stroke ends.
  void update(bool run_robustness, bool drawing = false);  // times itself: timing.update_ms

  // "Train robustly" (TrainView): start a new run with training's arch, recipe and params (it waits
  // for the training images if they are still loading); stop it; add the finished model to the
  // models (selected, named "trained-N-ARCH-RECIPE"). training_slice() runs batches for about `ms`
  // (update() calls it every frame while a run is live).
  void start_training();
  void stop_training();
  void adopt_trained();
  void training_slice(double ms);
  static constexpr double kTrainSliceMs = 8.0;  // training's share of a frame
  static constexpr double kReadSliceMs = 10.0;  // a sequence dataset's read, per frame (ModelStore::advance)

  // The patch workbench (app_patch.cpp). The model sees model_input(): the input with the patch
  // placed when there is one, else the input itself.
  bool patch_on() const { return !state.patch.empty() && !patch.seen.data.empty(); }
  const advx::Tensor& model_input() const { return patch_on() ? patch.seen : input; }
  int patch_resolution() const;  // S for state.patch_size on the dataset's images
  // Sets the patch's pixels ([C, S, S] of the dataset's channels and patch_resolution(), in [0, 1]):
  // quantised, written to state.patch, placed again. Stops a training run (the painted patch wins).
  void set_patch_pixels(const advx::Tensor& p);
  void fill_patch(bool random);  // random: uniform noise from the state's seed; else black
  // Paints a disc of `radius` patch pixels at patch pixel (a, b) (row, column) with `colour` (one
  // value per channel, in [0, 1]): only the patch's pixels change.
  void paint_patch(float a, float b, float radius, const float* colour);
  void remove_patch();
  // Moves the placed patch: centre in image pixels (rounded to 1/100), angle in degrees (1/10).
  void place_patch(float x, float y, float angle);
  void set_patch_size(float size);  // resamples the pixels to the new resolution
  void set_patch_target(int target);
  // Training: starts (from the current pixels) or continues towards `goal` steps; pause; stop.
  void train_patch(int goal);
  void pause_patch(bool paused) { patch.paused = paused; }
  void stop_patch_training();
  void patch_slice(double ms);  // update() calls it each frame; steps while the slice lasts
  static constexpr double kPatchSliceMs = 8.0;
  static constexpr int kPatchTrainImages = 4000;
  static constexpr int kPatchHeldOut = 200;
  static constexpr int kPatchBatch = 16;  // images (each at its own placement) per training step
  // PNGs in the format of `advx patch train --out` (scale 1) and its printable copy (scale > 1).
  std::vector<std::uint8_t> patch_png(int scale) const;
  bool import_patch_png(const std::vector<std::uint8_t>& bytes, const std::string& name);

  // Engine calls on the state's model (throw advx::Error).
  Prediction classify(const advx::Tensor& x);  // x [1, ...]: the bare model
  // Probabilities [N, K] of the bare model, or of the defended one (when a defence is on and
  // `defended`), for a batch x [N, ...].
  advx::Tensor probabilities(const advx::Tensor& x, bool defended);
  // Runs the attack `s.attack` with `s`'s parameters, target and seed on x [N, ...] with labels, on
  // the classifier `s` says: the defended model when a defence is on and s.adaptive, else the bare
  // one. `evaluate` false skips the final forward pass when only the images are wanted.
  // With max_seconds > 0 the run stops with an advx::Error once it has taken longer (checked between
  // steps), so a page's API call cannot freeze it.
  advx::AttackResult run_attack(const advx::Tensor& x, const std::vector<int>& labels, const ViewState& s,
                                bool evaluate = true, double max_seconds = 0.0);
  // The playground's own attack (the attack panel) runs through a live run, a slice of at most
  // kAttackSliceMs per frame (at least one step); pause stops the slices, step_attack() does one
  // iteration (a gradient step, a DE generation).
  static constexpr double kAttackSliceMs = 12.0;
  // Images per model call that cost about `ms`, from the last one-image classification's time
  // (batched calls cost less per image, so it errs short): how finely long attack steps are sliced.
  int rows_for(double ms) const;
  bool attack_running() const { return live_ != nullptr; }
  void pause_attack(bool paused) { attack.paused = paused; }
  void step_attack();
  advx::Sequential& model();  // the state's model; throws advx::Error if unknown, loading or broken
  // The state's defended model (nullptr without a defence); rebuilt when the model, the defence or
  // its parameters change.
  advx::Classifier* defended();
  // What the state's defence needs (DefenceSpec::models, ::data) and is still loading, after
  // requesting it, or what its build is computing while it runs a slice per frame: "" when everything
  // is there (or failed: then building the defence says why).
  std::string defence_waiting();
  // A defence's first build runs a slice of at most about kDefenceSliceMs per frame (at least one
  // step: a batch of its long work, advx::DefenceBuild); defended() called outside the frames (the JS
  // API) finishes it at once.
  static constexpr double kDefenceSliceMs = 10.0;
  bool defence_building() const { return building_ != nullptr; }
  bool seq_defence_building() const { return seq_building_ != nullptr; }  // the sequence view's
  advx::ParamValues defence_values(const advx::DefenceSpec& spec) const;  // its parameters from the state
  // Training image i of the state's dataset [1, C, H, W], if that split is loaded (a nearest-neighbour
  // defence's neighbours); empty otherwise.
  advx::Tensor training_image(int i) const;
  const advx::AttackSpec& attack_spec() const { return advx::get_attack(state.attack); }
  const advx::DefenceSpec* defence_spec() const { return advx::find_defence(state.defence); }
  const ModelEntry* model_entry() const { return models.find(state.model); }  // nullptr if unknown
  ModelStatus model_status() const;  // of the state's model (kError if unknown)

  // ---- the sequence view (view=seq; app_seq.cpp) ----
  SeqView seq;
  // Typing: the text box's new text. The prediction (and the defence's report) are recomputed at
  // once, the attack once typing pauses for kSeqAttackDelayMs.
  void set_seq_text(const std::string& text);
  static constexpr double kSeqAttackDelayMs = 250.0;
  void load_seq_test(int index);  // the dataset's test sample #index (throws while it loads)
  void random_seq_test();
  const advx::SequenceTask& seq_task() const;            // of state.seq_dataset
  std::vector<const ModelEntry*> seq_models() const;     // the dataset's sequence models, manifest order
  std::string seq_model_name() const;                    // state.seq_model, or the dataset's first
  ModelEntry& seq_model_entry(const std::string& name);  // loaded; throws saying why not
  ModelStatus seq_model_status() const;
  ModelStatus seq_data_status() const;                                 // the dataset's file (test samples, defences)
  const advx::SequenceDataset* seq_data() const;                       // nullptr until loaded
  std::vector<const advx::SeqAttackSpec*> seq_attack_choices() const;  // the attacks the dataset allows
  // Classifies text with a sequence model (throws advx::Error: unknown or not loaded model).
  Prediction classify_text(const std::string& model, const std::string& text, advx::EncodedText* encoded);
  // Runs the sequence attack `s.seq_attack` with s's parameters and seed on `text` (encoded by the
  // model's codec) away from `label` (< 0: the model's prediction), on the defended model when a
  // defence is on and s.adaptive.
  SeqAttackView attack_text(const std::string& model, const advx::EncodedText& text, int label, const ViewState& s);
  // attack_text in parts, for a run sliced across frames: start, step the job's run, finish.
  std::unique_ptr<SeqAttackJob> start_seq_attack(const std::string& model, const advx::EncodedText& text, int label,
                                                 const ViewState& s);
  SeqAttackView finish_seq_attack(SeqAttackJob& job);
  ModelStatus view_model_status() const { return state.seq() ? seq_model_status() : model_status(); }

  std::string hash() const;  // encode_query(state)
  // Results not computed yet (a model or a test sample still loading).
  bool pending() const {
    return state.seq()
               ? seq_pending_ || seq_input_dirty_ || seq_attack_dirty_ || seq_job_ != nullptr
               : input_dirty_ || attack_dirty_ || source_pending_ || live_ != nullptr || !defence.waiting.empty();
  }
  bool hidden(const std::string& panel) const { return state.hide.count(panel) > 0; }

 private:
  void update_work(bool run_robustness, bool drawing);
  void input_changed();
  // Loads what state.test_index / state.image ask for (and, after a switch to another dataset, a
  // test image of it); waits while the dataset's sample is still loading.
  void apply_source();
  bool source_pending_ = false;
  std::string state_error_;  // what the current set_state() could not apply
  int old_test_index_ = -1;
  std::string old_image_;
  std::string input_dataset_;  // the dataset `input` belongs to
  void attack_changed() { attack_dirty_ = shown_dirty_ = true; }
  void compute_attack();
  // max_rows: AttackInput::max_rows (0: the attack's default; the live run slices finer).
  std::unique_ptr<advx::AttackRun> start_run(const advx::Tensor& x, const std::vector<int>& labels, const ViewState& s,
                                             bool evaluate, int max_rows = 0);

  void advance_attack(double budget_ms, bool one_step);  // steps the live run; finishes it when done
  void finish_attack(advx::AttackResult r);
  void stop_live() { live_.reset(), attack.running = false; }
  std::unique_ptr<advx::AttackRun> live_;  // refers to model() or defended_: reset before either changes
  double live_ms_ = 0;                     // engine time spent on it so far
  void robustness_slice();
  void reset_robustness(const std::string& key);
  void update_image_state();  // keep state.image / test_index in sync with the input
  // The patch: decode state.patch (after set_state), place it on the input, keep state.patch in sync.
  void apply_patch_state(const ViewState& old);
  void place_patched();
  void patch_pixels_changed();
  void patch_eval_slice(double ms);
  std::string patch_eval_key() const;
  std::string patch_encoded_;  // the state.patch that patch.pixels hold
  std::string patch_dataset_;  // the dataset patch.pixels were made for
  std::uint64_t patch_draws_ = 0;
  void models_changed();  // a model finished loading or failed
  bool input_dirty_ = true, attack_dirty_ = true;
  bool shown_dirty_ = true;  // input changed: views re-upload even while the model loads
  int models_seen_ = -1;
  std::string model_error_shown_;
  std::uint64_t random_draws_ = 0;
  advx::DefenceContext defence_context();
  std::map<std::string, advx::Dataset> validation_sets_;  // per dataset, for the detectors (defence_context)
  // Defences built around model(), the last few kept by key (model, defence, parameters), so going
  // back to one is immediate: no rebuild, no recalibration of a detector. Cleared when a model loads.
  static constexpr size_t kDefencesKept = 4;
  std::vector<std::pair<std::string, std::unique_ptr<advx::Classifier>>> built_;
  advx::Classifier* defended_ = nullptr;  // the one for state.defence (in built_)
  std::string defended_key_;
  std::string defence_key(const advx::DefenceSpec& spec) const;  // model, defence, bpda, parameters
  // The build of the state's defence in progress (nullptr: none), a slice per frame; kept_: the
  // builds' precomputations (the training images' features) for later builds, until a model changes.
  std::unique_ptr<advx::DefenceBuild> building_;
  std::string building_key_;
  double build_step_ms_ = 0;  // the last step's cost: whether another fits in the frame's slice
  std::shared_ptr<std::map<std::string, std::shared_ptr<advx::BatchedWork>>> kept_ =
      std::make_shared<std::map<std::string, std::shared_ptr<advx::BatchedWork>>>();
  // Steps the state's defence's build for about budget_ms (starting it if needed); adds it to built_
  // when done. Returns what it is computing, "" once built (or without a defence).
  std::string defence_build_slice(double budget_ms);
  std::string robust_key() const;

  // The sequence view.
  void seq_state_changed(const ViewState& old);  // from set_state
  void seq_update();                             // from update, in the sequence view
  void seq_compute_input();
  void seq_compute_attack();
  void seq_attack_slice(double budget_ms);  // steps the live sequence attack; finishes it when done
  void seq_drop_attack();                   // stops the live sequence attack (its inputs changed)
  std::unique_ptr<SeqAttackJob> seq_job_;   // the live sequence attack
  // The state's sequence defence around `model` (nullptr without one); rebuilt when the model, the
  // defence or its parameters change; throws while its data or companion models load. Its first
  // build (advx::SeqDefenceBuild) runs steps for about budget_ms (at least one) and returns nullptr
  // until it is done: the frames step it kDefenceSliceMs at a time; a call outside the frames (the
  // JS API) finishes it at once.
  advx::SeqDefended* seq_defended(const std::string& model, double budget_ms = std::numeric_limits<double>::infinity());
  void seq_build_slice();  // a frame's slice of the sequence defence's build; the view follows
  bool seq_input_dirty_ = true, seq_attack_dirty_ = true;
  bool seq_pending_ = false;  // waiting for a model, the dataset or a defence's companions
  double seq_last_edit_ms_ = -1e18;
  std::unique_ptr<advx::SeqDefended> seq_defended_;
  std::string seq_defended_key_;
  std::unique_ptr<advx::SeqDefenceBuild> seq_building_;  // the first build in progress (nullptr: none)
  std::string seq_building_key_;
  double seq_build_step_ms_ = 0;  // the last step's cost: whether another fits in the frame's slice
  std::string seq_waiting_;       // what the last defence build waited for
  advx::SequenceSplit seq_validation_;
  std::string seq_validation_of_;
  std::uint64_t seq_random_draws_ = 0;
};

// Rounds to k/255 so that a PNG or a URL round trip reproduces the input exactly.
void quantize(advx::Tensor& t);
// The budget values of the robustness curve for the attack's budget parameter (L-inf budgets up to
// `eps_max`, the dataset's range of interest).
std::vector<float> budget_grid(const advx::ParamSpec& budget, double eps_max);

}  // namespace play
