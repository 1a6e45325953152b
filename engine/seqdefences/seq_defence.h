// Defences of sequence classifiers, registered like the image defences (engine/defences/defence.h):
// one file in engine/seqdefences/ defining `SeqDefenceSpec <name>_seq_defence()` and one line in
// engine/seqdefences/list.inc. From each spec's parameter table come the CLI flags and --help; no
// defence name is spelled outside the engine.
//
// A built defence (SeqDefended) is a SequenceClassifier that classifies (the base model itself, or
// the model behind a transform) and, when it detects, a score per sequence (larger = more
// suspicious) with a threshold set at a chosen false-positive rate on CLEAN VALIDATION samples only
// (threshold_at_fpr, engine/detect/detector.h). Splits, as for images: the validation samples are the
// ODD-indexed test samples (sequence_validation_split), every reported number is measured on the
// EVEN-indexed ones (sequence_held_out_split); a defence that fits a model of clean data (the
// transition model) fits it on the training split only.
//
// Measured three ways (evaluate_sequence_defence, engine/eval/sequence_eval.h):
//   clean      the defended model on held-out clean samples (and its detector's false-positive rate)
//   oblivious  adversarials crafted on the bare model, scored on the defended one
//   adaptive   adversarials crafted on the defended model itself (its gradient_kind() says whether
//              that gradient is exact or a straight-through surrogate) and, when it detects, with the
//              detector in the attacker's objective (detector_term(); Carlini & Wagner 2017,
//              arXiv:1705.07263): success = misclassified AND not flagged
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/sequences.h"
#include "engine/defences/defence.h"
#include "engine/params.h"
#include "engine/seqattacks/seq_attack.h"

namespace advx {

// What a sequence defence may read besides its base model. Both splits are clean data; the test
// split's held-out half is never here. Companion models (ensemble members) come from `model` by
// name, the path under assets/models without ".safetensors" ("sequence/api_lstm_regular_2"): the
// playground's model store; without it (the CLI, the tests) they are read from disk. A companion
// must outlive the built defence.
struct SeqDefenceContext {
  const SequenceSplit& train;       // the training split (a clean-data model is fitted on it)
  const SequenceSplit& validation;  // the odd-indexed test samples (thresholds are set on them)
  std::string dataset;              // "malbehavd-v1"
  std::function<SequenceClassifier&(const std::string& name)> model = nullptr;
};

struct SeqDefended {
  std::unique_ptr<SequenceClassifier> owned;  // the defended classifier when it is not the base model
  SequenceClassifier* model = nullptr;        // what classifies (owned.get() or the base)
  // Detection (empty score: the defence does not detect). flagged: score > threshold.
  std::function<std::vector<float>(const std::vector<TokenSeq>&)> score;
  std::string score_name;       // "squeeze L1"
  double threshold = 0.0;       // set on ctx.validation at target_fpr
  double target_fpr = 0.0;      // the rate asked for
  double validation_fpr = 0.0;  // the rate on the validation samples themselves (<= target_fpr)
  std::string note;             // what the adaptive attacker of this defence does and does not see
  // The adaptive attacker's detector term (seq_attack.h, SeqDetectorTerm): its weight, and the
  // exact score of every one-token edit when the score is a cheap function of the tokens (else empty).
  double detector_weight = 10.0;
  std::function<void(const TokenSeq&, SeqEdit, int, std::vector<float>&)> edit_scores;
  bool detects() const { return static_cast<bool>(score); }
  // score, threshold, detector_weight and edit_scores as the attacks take them (detects() must hold).
  SeqDetectorTerm detector_term() const;
};

// A sequence defence's first build in steps, as an image defence's (engine/defences/defence.h,
// DefenceBuild and StagedBuild): stages run one after the other, each a short function returning the
// long work to run before the next (stepped a batch at a time: k-means, the validation scores), or
// null; then `finish` makes the defence. The batches are fixed by the engine's cost model (engine/
// work.h), so a build stepped across a UI's frames and build_seq_defence's one call give the same
// defence bit for bit. Stages share their state through what they capture.
struct SeqDefenceSpec;
class SeqDefenceBuild {
 public:
  using Stage = Stages::Stage;
  SeqDefenceBuild(std::vector<Stage> stages, std::function<SeqDefended()> finish);
  // The next step; true once result() is ready. Throws advx::Error as a build does (the playground's
  // "still loading" too: call it again later; the step is then done again).
  bool step();
  // What it is doing: "setting the threshold on validation sequences 96 of 254" ("" when nothing to say).
  std::string progress() const;
  double fraction() const;  // of the current stage's long work, 0..1
  SeqDefended result();     // once step() has returned true (once: it is moved out)

 private:
  friend std::unique_ptr<SeqDefenceBuild> start_seq_defence(const SeqDefenceSpec&, const SeqDefenceContext&,
                                                            SequenceClassifier&, const ParamValues&);
  SequenceClassifier* base_ = nullptr;  // the result's model when it has none of its own
  StagedResult<SeqDefended> staged_;
  bool taken_ = false;
};

struct SeqDefenceSpec {
  std::string name;      // "seqsqueeze": the CLI's --defence
  std::string title;     // "sequence squeezing"
  std::string summary;   // one line for --help
  std::string citation;  // the paper
  std::vector<ParamSpec> params;
  // `base` is not owned and must outlive the result. Null when `start` is set.
  std::function<SeqDefended(const SeqDefenceContext& ctx, SequenceClassifier& base, const ParamValues& params)> build;
  // The build in steps, for the defences whose first build is long (null: build() in one step). Set,
  // it is what build_seq_defence() runs too. The context's splits (and `base`) must outlive the build.
  std::function<std::unique_ptr<SeqDefenceBuild>(const SeqDefenceContext& ctx, SequenceClassifier& base,
                                                 const ParamValues& params)>
      start;
};

const std::vector<SeqDefenceSpec>& seq_defences();
const SeqDefenceSpec* find_seq_defence(const std::string& name);  // nullptr if unknown
std::string seq_defence_names(const std::string& sep = ", ");
// Checks the parameters against the table, then builds (start_seq_defence() run to the end).
SeqDefended build_seq_defence(const SeqDefenceSpec& spec, const SeqDefenceContext& ctx, SequenceClassifier& base,
                              const ParamValues& params);
// Checks the parameters, then the build in steps: spec.start's, or one step of spec.build. The
// context (its splits and model function) is copied; the splits and `base` must outlive the build.
std::unique_ptr<SeqDefenceBuild> start_seq_defence(const SeqDefenceSpec& spec, const SeqDefenceContext& ctx,
                                                   SequenceClassifier& base, const ParamValues& params);

// The detector term of the adaptive attacker of `d` with `attack` (Carlini & Wagner 2017,
// arXiv:1705.07263): d.detector_term() when d detects and the attack takes one, else an empty term
// (no score: pass nullptr to the attack then).
SeqDetectorTerm adaptive_detector_term(const SeqDefended& d, const SeqAttackSpec& attack);

// What a built defence says of one sequence, for a live view (the playground): *probs gets the
// defended model's class probabilities; the report holds the detector's score against its threshold
// (when it detects) and each member's vote (when the defended model is an ensemble).
DefenceReport seq_defence_report(const SeqDefended& d, const TokenSeq& sequence, std::vector<float>* probs);

// ---- helpers for defence files ------------------------------------------------------------------
// "fpr": the false-positive rate a detector's threshold is set for on the validation samples.
ParamSpec seq_fpr_param();
// "detector_weight": lambda of the adaptive attacker's detector term (seq_attack.h, (H)).
ParamSpec seq_detector_weight_param();
// Sets d.threshold, d.target_fpr and d.validation_fpr from the scores of ctx.validation, scored in
// batches of validation_batch(ctx, score_macs_per_token) sequences (the last batch sets them).
// score_macs_per_token: multiply-adds of d.score per token (seqsqueeze: two forward passes).
// In steps (BatchedWork::finish() runs them all); `d` and ctx.validation must outlive the work.
std::shared_ptr<BatchedWork> start_seq_calibration(SeqDefended& d, const SeqDefenceContext& ctx, double fpr,
                                                   double score_macs_per_token);
// Validation sequences per batch: batch_for(score_macs_per_token x the longest validation sequence)
// (every batch is costed as if padded to the longest).
int validation_batch(const SeqDefenceContext& ctx, double score_macs_per_token);

}  // namespace advx
