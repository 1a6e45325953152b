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
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/classifier.h"
#include "engine/data/dataset.h"
#include "engine/params.h"

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
};
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

struct DefenceSpec {
  std::string name;      // "threshold": --defence, defence=, the JS option
  std::string title;     // "binary threshold"
  std::string summary;   // one line for --help and the UI
  std::string citation;  // the paper
  std::string note;      // what to expect, said honestly (shown in the UI next to the numbers)
  std::vector<ParamSpec> params;
  // The defended classifier in front of `base` (not owned: it must outlive the result).
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
};

const std::vector<DefenceSpec>& defences();
const DefenceSpec* find_defence(const std::string& name);
const DefenceSpec& get_defence(const std::string& name);  // throws listing the known names
std::string defence_names(const std::string& sep = ", ");

// Checks the parameters against the table, then builds.
std::unique_ptr<Classifier> build_defence(const DefenceSpec& spec, const DefenceContext& ctx, Classifier& base,
                                          const ParamValues& params, bool bpda);

}  // namespace advx
