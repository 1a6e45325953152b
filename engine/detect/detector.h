// Detectors: a per-sample score (larger = more suspicious), a threshold set on CLEAN VALIDATION
// images only at a chosen false-positive rate, and a defended model that classifies AND flags.
//
//   threshold  tau = the ceil((1 - fpr) n)-th smallest of the n clean validation scores, so that at
//              most a fraction fpr of them lies above it; an input is flagged when s(x) > tau.
//              The validation split is the odd-indexed test images (engine/defences/defence.h); the
//              false-positive rate that counts is measured afterwards on the even-indexed ones.
//   ROC-AUC    P(s(adversarial) > s(clean)) + P(equal) / 2, the Mann-Whitney U statistic over n m.
//
// A DetectorDefence is a Classifier with K logits (what it classifies: the base model, or a reformed
// input) and, besides, a score per input; detection never changes a prediction, so accuracy and
// detection are reported separately (engine/eval/evaluate.h). Its threshold can only come from
// calibrate(), which reads the context's validation split: no API takes other data.
//
// The adaptive attacker (Carlini & Wagner 2017, "Adversarial Examples Are Not Easily Detected",
// arXiv:1705.07263, section 3) attacks classifier and detector together through a view with a
// REJECT class (DetectorView):
//   z'_j = z_j (j < K),   z'_K = max_j z_j + w (s(x) - tau) / sigma
// so argmax z' = K exactly when the detector flags x (z: the detector's attack_forward, by default
// the classifying logits); sigma is the standard deviation of the clean
// validation scores and w the attacker's weight on evading (1 by default). With the reject class in
// the Goal (engine/objective.h), an untargeted attack on the view wants neither the label nor K:
// misclassified AND unflagged. start_attack() routes every attack on a DetectorDefence through this
// view (the white-box attacker of a detecting model is the adaptive one); its result is reported in
// the defended model's K classes. Deviation from C&W's G: they scale the reject logit
// multiplicatively, (Z_D(x) + 1) max_j Z_j; the additive form makes "K wins" mean "s > tau" exactly.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/classifier.h"
#include "engine/defences/defence.h"

namespace advx {

// The parameters every detecting defence shares: "fpr" (the false-positive rate its threshold is set
// for), "val_n" (how many clean validation images set it) and "reject_weight" (the adaptive
// attacker's w below; build_defence hands it to the detector).
std::vector<ParamSpec> detector_params();

// Softmax backward for one row: dz_j = p_j (dp_j - sum_c p_c dp_c), ADDED into dz.
void softmax_backward_add(const float* p, const float* dp, int k, float* dz);

// The threshold flagging at most a fraction `fpr` of `clean` (flag: score > threshold).
double threshold_at_fpr(std::vector<float> clean, double fpr);
// The fraction of `s` above `t`.
double fraction_above(const std::vector<float>& s, double t);
// ROC-AUC of separating `adv` (positives) from `clean`; NaN if either is empty.
double roc_auc(const std::vector<float>& clean, const std::vector<float>& adv);

struct Calibration {
  double threshold = 0.0;
  double scale = 1.0;           // standard deviation of the clean validation scores (> 0)
  double target_fpr = 0.05;     // the rate asked for
  double validation_fpr = 0.0;  // the rate on the validation images themselves (<= target)
  int n = 0;                    // validation images used
  std::string source;           // "mnist validation split (odd test images 1, 3, ..., 1999)"
  bool done() const { return n > 0; }
};

class DetectorDefence : public Classifier, public Reporter {
 public:
  // What each detector implements:
  // The logits [N, K] of the classifying part and, when `scores` is not null, the score of each
  // sample. Keeps what backward needs.
  virtual const Tensor& forward(const Tensor& x, std::vector<float>* scores) = 0;
  // dx = J_z^T dlogits + sum_i dscores[i] ds_i/dx_i at the last forward (BPDA where a step is not
  // differentiable and the defence was built with bpda). dscores empty: the logits' part only;
  // otherwise the last forward must have computed the scores. Never changes forward state.
  virtual void backward(const Tensor& dlogits, const std::vector<float>& dscores, Tensor& dx) = 0;
  virtual std::string score_name() const = 0;  // "squeeze L1"

  // What the adaptive attacker's view (DetectorView) takes as its first K logits, with the scores,
  // and the matching backward: by default the classifying logits (forward, backward). A detector may
  // give its attacker a stronger surrogate (squeeze_detect's joint branches, He et al. 2017); its
  // predictions and flags stay those of forward.
  virtual const Tensor& attack_forward(const Tensor& x, std::vector<float>& scores) { return forward(x, &scores); }
  virtual void attack_backward(const Tensor& dlogits, const std::vector<float>& dscores, Tensor& dx) {
    backward(dlogits, dscores, dx);
  }

  // Classifier: the classifying part (detection never changes a prediction).
  const Tensor& logits(const Tensor& x) final { return forward(x, nullptr); }
  void input_gradient(const Tensor& dlogits, Tensor& dx) final { backward(dlogits, {}, dx); }

  // Scores of any number of samples, in batches.
  void scores(const Tensor& x, std::vector<float>& s, int batch = 256);
  // Scores and flags (s > threshold); needs a calibration.
  void flags(const Tensor& x, std::vector<float>& s, std::vector<char>& flagged, int batch = 256);
  bool calibrated() const { return cal_.done(); }
  const Calibration& calibration() const { return cal_; }
  // Sets the threshold: scores the first n images of ctx.data(ctx.dataset, "validation") (clean odd-
  // indexed test images, held out from every evaluation) in batches of calibration_batch() and takes
  // the (1 - fpr) quantile. The only way to set it.
  void calibrate(const DefenceContext& ctx, double fpr, int n);
  // The same in steps (a batch of validation images each; the last one sets the threshold), for a
  // build spread over frames: the same batches, so the same threshold. This must outlive the work.
  std::shared_ptr<BatchedWork> start_calibration(const DefenceContext& ctx, double fpr, int n);
  // Validation images per batch of the calibration: batch_for(score_macs()) (engine/work.h).
  int calibration_batch() const { return batch_for(score_macs()); }
  // Multiply-adds of scoring one input (every model pass it makes); sizes the calibration's batches.
  virtual double score_macs() const = 0;
  // Reporter: the score against the threshold, for the playground and the CLI.
  DefenceReport report(const Tensor& x) override;
  // The adaptive attacker's weight w in DetectorView (the parameter "reject_weight", set by
  // build_defence; 1 by default).
  float attack_weight() const { return attack_weight_; }
  void set_attack_weight(float w);

 private:
  Calibration cal_;
  float attack_weight_ = 1.0f;
};

// The build of a detector in steps: the `before` stages (kde: its training features), then `make`
// (the detector, short), then its calibration a batch a step (DetectorDefence::start_calibration).
std::unique_ptr<DefenceBuild> detector_build(const DefenceContext& ctx, double fpr, int n,
                                             std::vector<StagedBuild::Stage> before,
                                             std::function<std::unique_ptr<DetectorDefence>()> make);
// Multiply-adds of one forward pass of `c` per sample: a Sequential's own count, else 1e6 (a guess
// that sizes batches small).
double forward_macs(const Classifier& c);

// The K+1-class view of a detecting model for the adaptive attacker (see the top of this file).
class DetectorView : public Classifier {
 public:
  explicit DetectorView(DetectorDefence& d, float weight = 1.0f);
  std::string name() const override;
  const Shape& input_shape() const override { return d_.input_shape(); }
  int num_classes() const override { return d_.num_classes() + 1; }
  int reject_class() const { return d_.num_classes(); }
  const Tensor& logits(const Tensor& x) override;
  void input_gradient(const Tensor& dlogits, Tensor& dx) override;
  GradientKind gradient_kind() const override { return d_.gradient_kind(); }

 private:
  DetectorDefence& d_;
  float weight_;
  Tensor out_, dz_;
  std::vector<float> s_, ds_;
  std::vector<int> top_;  // argmax_j z_j per sample (where the reject logit's max gradient goes)
};

}  // namespace advx

#include "engine/attacks/attack.h"

namespace advx {

// start_attack() on a DetectorDefence: the run attacks DetectorView(d) with the reject class in the
// goal, and reports adv, pred, logits and success in d's K classes (success = misclassified, as for
// any model; whether d flags the adversarial is the evaluation's business).
std::unique_ptr<AttackRun> start_through_detector(const AttackSpec& spec, const AttackInput& in, DetectorDefence& d);

}  // namespace advx
