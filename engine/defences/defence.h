// The defence interface and registry.
//
// A defence is one file in engine/defences/ that defines `DefenceSpec <name>_defence()` and one line
// in engine/defences/list.inc. It builds a defended Classifier around a base model: a Pipeline of
// transforms (thresholding, squeezing, reconstruction), and later ensembles and detectors. Every
// defence is measured three ways (engine/eval/evaluate.h):
//   clean      the defended model on clean inputs
//   oblivious  adversarials crafted on the bare model, scored on the defended one
//   adaptive   adversarials crafted on the defended model itself (through BPDA where a step is not
//              differentiable), scored on it: the number that says something about robustness
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/classifier.h"
#include "engine/data/dataset.h"
#include "engine/params.h"
#include "engine/work.h"

namespace advx {

class Sequential;

// What a defence may need besides its base model: companion models shipped in assets/models (an
// autoencoder, ensemble members, an adversarially trained model) and data (the training set of a
// nearest-neighbour defence, clean validation images to set a detector's threshold). The CLI reads
// them from disk; the playground from its model store and shipped samples (which may still be
// downloading: then the call throws advx::Error saying so, and the playground tries again).
//
// Splits: "train", "test" and "validation". The test set is split in two by index parity:
//   validation  the ODD-indexed test images (1, 3, 5, ...): the clean images a detector's threshold
//               is set on, never attacked, never scored;
//   held out    the EVEN-indexed test images (0, 2, 4, ...): where a detecting defence is evaluated
//               (held_out_split), so its false-positive rate is measured on clean images its
//               threshold never saw.
// Why parity and not halves: MNIST's two test halves come from different writers (LeCun et al.:
// the first 5000 are cleaner), and squeezing scores differ between them: a 5% threshold set on test
// images 5000-9999 flagged 9.1% of images 0-4999 (`small`, 1-bit + 2x2 median); set on the odd
// images it flags 4.96% of the even ones.
// A defence that keeps a companion model keeps a copy of the context: the disk context's cache of
// loaded models lives as long as any copy of it.
struct DefenceContext {
  std::function<Sequential&(const std::string& name)> model;
  std::function<const Dataset&(const std::string& name, const std::string& split)> data;
  std::string dataset = "mnist";  // the base model's dataset (its validation split calibrates detectors)
  // Precomputations kept for later builds, by key (shared_features: the training images' features do
  // not depend on k or on a bandwidth, so changing those does not embed 60,000 images again). Shared
  // by the context's copies; null: nothing kept. The playground keeps them until a model changes.
  std::shared_ptr<std::map<std::string, std::shared_ptr<BatchedWork>>> kept;
};
class FeatureWork;
// The penultimate features of `model` on the first `count` images of `data` (engine/features.h): the
// context's kept work for them if there is one (maybe still running: step it), else a new one, kept.
// `data_name` ("mnist/train") names the data in the key; the model is named by its address too, so
// the context must not outlive the model (the playground drops `kept` whenever a model changes).
std::shared_ptr<FeatureWork> shared_features(const DefenceContext& ctx, Sequential& model, const Dataset& data,
                                             const std::string& data_name, int count);
// The odd-indexed images of a test split (validation) and the even-indexed ones (held out).
Dataset validation_split(const Dataset& test);
Dataset held_out_split(const Dataset& test);
// A context for the command line and the tests: models from assets/models/NAME.safetensors (or
// the source tree's), data from `data_dir`, each loaded once and kept.
DefenceContext disk_context(const std::string& data_dir);

// What a defended model can say about an input besides its logits, shown live in the playground
// and summarised by the CLI: detector scores against their thresholds, ensemble members' votes.
struct DefenceReport {
  struct Score {
    std::string name;  // "squeeze L1", "MMD p-value", ...
    double value = 0.0, threshold = 0.0;
    bool flagged = false;  // value beyond the threshold: the input is rejected as adversarial
  };
  struct Vote {
    std::string member;
    int pred = -1;
    std::vector<float> probs;
  };
  struct Neighbour {  // a nearest-neighbour defence's training samples, nearest first
    int index = -1;   // in the training set
    int label = -1;
    double distance = 0.0;  // Euclidean, in the space the defence searches (pixels or features)
  };
  std::vector<Score> scores;
  std::vector<Vote> votes;
  std::vector<Neighbour> neighbours;
};
// Implemented (besides Classifier) by defended models that have more to show; the playground finds
// it with dynamic_cast.
class Reporter {
 public:
  virtual ~Reporter() = default;
  // x: one sample [1, ...].
  virtual DefenceReport report(const Tensor& x) = 0;
};

// A defence's build in steps, for a UI that must keep drawing while a first build embeds 60,000
// training images or sets a detector's threshold: each step() is one batch of the build's long work
// (engine/work.h) or one short part of it, and the result is the very defence build() makes (the same
// batches run). build_defence() runs one to the end.
class DefenceBuild {
 public:
  virtual ~DefenceBuild() = default;
  // The next step; true once result() is ready. Throws advx::Error as DefenceSpec::build does (the
  // playground's "still loading" too: call it again later; the step is then done again).
  virtual bool step() = 0;
  // What it is doing: "embedding training images 12,000 of 60,000" ("" when there is nothing to say).
  virtual std::string progress() const { return ""; }
  virtual double fraction() const { return 0.0; }  // of the current stage's long work, 0..1
  // The defence, once step() has returned true (once: it is moved out).
  virtual std::unique_ptr<Classifier> result() = 0;
};

// A build as stages run one after the other: each stage (a short function) returns the long work to
// run before the next stage (stepped a batch at a time), or null; then `finish` makes the defence.
// Stages share their state through what they capture.
class StagedBuild : public DefenceBuild {
 public:
  using Stage = Stages::Stage;
  StagedBuild(std::vector<Stage> stages, std::function<std::unique_ptr<Classifier>()> finish);
  bool step() override;
  std::string progress() const override;
  double fraction() const override;
  std::unique_ptr<Classifier> result() override;

 private:
  StagedResult<std::unique_ptr<Classifier>> staged_;
};

struct DefenceSpec {
  std::string name;      // "threshold": --defence, defence=, the JS option
  std::string title;     // "binary threshold"
  std::string summary;   // one line for --help and the UI
  std::string citation;  // the paper
  std::string note;      // what to expect, said honestly (shown in the UI next to the numbers)
  std::vector<ParamSpec> params;
  // The defended classifier in front of `base` (not owned: it must outlive the result). Null when
  // `start` is set (then the build is in steps).
  // bpda = true: non-differentiable steps backpropagate as the identity (the adaptive attacker's
  // view); false: their true gradient (zero almost everywhere: gradient masking).
  std::function<std::unique_ptr<Classifier>(const DefenceContext& ctx, Classifier& base, const ParamValues& params,
                                            bool bpda)>
      build;
  // What build() will ask the context for with these parameters, so a UI can fetch it first (null:
  // nothing): model names as DefenceContext::model takes them, and (dataset, split) pairs, where an
  // empty dataset means the base model's (DefenceContext::dataset).
  std::function<std::vector<std::string>(const ParamValues& params)> models;
  std::function<std::vector<std::pair<std::string, std::string>>(const ParamValues& params)> data;
  // The build in steps (DefenceBuild), for the defences whose first build is long (null: build() in
  // one step). Set, it is what build_defence() runs too, so both give the same defence.
  std::function<std::unique_ptr<DefenceBuild>(const DefenceContext& ctx, Classifier& base, const ParamValues& params,
                                              bool bpda)>
      start;
};

const std::vector<DefenceSpec>& defences();
const DefenceSpec* find_defence(const std::string& name);
const DefenceSpec& get_defence(const std::string& name);  // throws listing the known names
std::string defence_names(const std::string& sep = ", ");

// Checks the parameters against the table, then builds (start_defence() run to the end).
std::unique_ptr<Classifier> build_defence(const DefenceSpec& spec, const DefenceContext& ctx, Classifier& base,
                                          const ParamValues& params, bool bpda);
// Checks the parameters, then the build in steps: spec.start's, or one step of spec.build.
std::unique_ptr<DefenceBuild> start_defence(const DefenceSpec& spec, const DefenceContext& ctx, Classifier& base,
                                            const ParamValues& params, bool bpda);

}  // namespace advx
