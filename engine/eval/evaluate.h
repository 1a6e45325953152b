// Clean and adversarial evaluation over a dataset, in resumable batches.
//
// One evaluator for the CLI, the paper reproductions, the playground's robustness curves and the
// defence table. It scores a classifier (a bare model or a defended Pipeline) on a dataset, and
// crafts the adversarials on a SOURCE classifier:
//   source = the scored model         white-box (for a defence: the adaptive attacker)
//   source = the bare model           the oblivious attacker, scored on the defended model
//   source = another model            black-box transfer (Szegedy et al. 2014, arXiv:1312.6199: an
//                                     adversarial example made for one model often fools another)
// Only images the scored model gets right (and, targeted, whose label is not the target) are
// attacked; the others stay as they are and count as wrong.
//
// When the scored model is a detecting defence (engine/detect/detector.h), accuracy stays what the
// classifier says and detection is counted beside it (EvalDetection): every clean image is scored
// (false positives), and every attacked image's adversarial.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/attacks/attack.h"
#include "engine/data/dataset.h"

namespace advx {

class DetectorDefence;

double accuracy(Classifier& m, const Tensor& images, const std::vector<int>& labels, int batch = 256);

// Detection, when the scored model detects. "Successful" adversarials are those of attacked images
// that the defended model misclassifies (untargeted) or puts in the target class (targeted).
struct EvalDetection {
  bool on = false;
  double threshold = 0.0;
  std::string score;       // the score's name ("squeeze L1")
  std::string calibrated;  // where the threshold came from ("mnist validation split (...)")
  double target_fpr = 0.0, validation_fpr = 0.0;
  double fpr = 0.0;                 // clean test images flagged / all n clean test images
  double detect_rate = 0.0;         // successful adversarials flagged / successful adversarials
  double detect_rate_all = 0.0;     // adversarials of all attacked images flagged / attacked images
  int successful = 0;               // successful adversarials
  double undetected_success = 0.0;  // attacked images whose adversarial succeeds AND is not flagged / attacked
  double roc_auc = 0.0;             // clean test scores vs successful adversarials' scores (NaN if none)
  double roc_auc_all = 0.0;         // clean test scores vs every attacked image's adversarial
  std::vector<float> clean_scores, adv_scores;  // per clean image (dataset order); per attacked image
  std::vector<char> adv_successful;             // per attacked image, aligned with adv_scores
};

struct EvalResult {
  int n = 0;
  double clean_acc = 0.0;
  double adv_acc = 0.0;       // accuracy on the adversarial set (misclassified images left as they are)
  double success_rate = 0.0;  // among attacked images (correctly classified, and label != target when
                              // targeted): fraction made wrong (untargeted) or made the target (targeted)
  int attacked = 0;
  double linf_mean = 0.0, linf_max = 0.0;  // over all n images (0 for those left as they are)
  double l2_mean = 0.0, l0_mean = 0.0;     // likewise (l0 in pixels: engine/norms.h)
  double seconds = 0.0;
  std::int64_t gradient_calls = 0;  // per-sample backward passes spent by the attack
  std::int64_t queries = 0;         // per-sample forward passes spent by the attack
  double queries_mean = 0.0;        // per attacked image
  Tensor adv;                       // the n adversarial images in dataset order
  EvalDetection detection;          // on only when the scored model detects
};

// Starts crafting adversarials for a batch on a classifier, as a resumable run (engine/attacks/attack.h:
// the run copies x and the goal). Empty = no attack (clean evaluation).
using Crafter = std::function<std::unique_ptr<AttackRun>(Classifier& source, const Tensor& x, const Goal& goal)>;

// A registered attack with its parameters, seed and objective (cross-entropy when null);
// max_rows: AttackInput::max_rows (how finely a long unit of work is sliced; 0: the attack's default).
Crafter registered_attack(const AttackSpec& spec, const ParamValues& params, std::uint64_t seed,
                          const Objective* objective = nullptr, int max_rows = 0);
// The L-infinity loop with an explicit configuration (the reproductions' settings).
Crafter linf_crafter(const LinfAttack& cfg);

struct EvalConfig {
  Crafter attack;   // empty: clean only
  int target = -1;  // < 0: untargeted
  int batch = 256;  // images per batch
  bool keep_adv = true;
};

class Evaluation {
 public:
  // `model` is scored; adversarials are crafted on `source` (the model itself when null). Both, and
  // the dataset, must outlive the evaluation.
  Evaluation(Classifier& model, const Dataset& data, EvalConfig cfg, Classifier* source = nullptr);
  // One unit of work, never more than one unit of the attack: the clean pass of the next batch and
  // the first unit of its attack run (a gradient step, a DE generation), or the next unit of the
  // running batch's attack; a batch is scored when its run ends. True when every image is done.
  // (A one-pixel run of 100 generations is at least 101 steps, so a UI can slice it across frames.)
  bool step();
  bool done() const { return next_ >= n_; }
  double progress() const;  // images done, plus the running batch's share of its attack
  int images_done() const { return next_; }
  // The result so far (final once done(); the accuracies are over the images done so far).
  EvalResult result() const;
  // Images per step (the playground adapts it to keep a frame's slice short).
  void set_batch(int b);
  int batch() const { return cfg_.batch; }

 private:
  Classifier& model_;
  Classifier& source_;
  const Dataset& data_;
  EvalConfig cfg_;
  int n_ = 0, next_ = 0;
  // The running batch: images next_ .. next_ + count_ - 1; the attacked ones (idx_) as xa_.
  void begin_batch();
  void finish_batch();
  std::unique_ptr<AttackRun> run_;
  int count_ = 0;
  std::vector<int> idx_;
  Goal goal_;
  Tensor xa_;
  long clean_ok_ = 0, adv_ok_ = 0, succeeded_ = 0;
  DetectorDefence* detector_ = nullptr;  // the scored model, if it detects
  double linf_sum_ = 0.0, l2_sum_ = 0.0, l0_sum_ = 0.0;
  double seconds_ = 0.0;
  EvalResult r_;
};

// Runs an Evaluation to the end.
EvalResult evaluate(Classifier& model, const Dataset& data, const EvalConfig& cfg, Classifier* source = nullptr);
// The L-infinity loop's typed form: attack == nullopt is a clean evaluation; target < 0 untargeted.
EvalResult evaluate(Classifier& m, const Dataset& d, const std::optional<LinfAttack>& attack, int target,
                    int batch = 256);

}  // namespace advx
