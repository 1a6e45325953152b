#include "engine/eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/norms.h"

namespace advx {

double accuracy(Classifier& m, const Tensor& images, const std::vector<int>& labels, int batch) {
  const int n = images.dim(0);
  if (n == 0) return 0.0;
  long correct = 0;
  for (int b = 0; b < n; b += batch) {
    const int count = std::min(batch, n - b);
    const std::vector<int> pred = m.predict(images.slice(b, count));
    for (int k = 0; k < count; ++k) correct += pred[static_cast<size_t>(k)] == labels[static_cast<size_t>(b + k)];
  }
  return static_cast<double>(correct) / n;
}

Crafter registered_attack(const AttackSpec& spec, const ParamValues& params, std::uint64_t seed,
                          const Objective* objective, int max_rows) {
  check_values(spec.params, params, "");
  const AttackSpec* s = &spec;  // registry entries live for the whole program
  return [s, params, seed, objective, max_rows](Classifier& source, const Tensor& x, const Goal& goal) {
    return start_attack(*s, AttackInput{source, objective ? *objective : cross_entropy_objective(), x, goal, params,
                                        seed, true, max_rows});
  };
}

Crafter linf_crafter(const LinfAttack& cfg) {
  return [cfg](Classifier& source, const Tensor& x, const Goal& goal) {
    return start_linf(source, cross_entropy_objective(), x, goal, cfg);
  };
}

Evaluation::Evaluation(Classifier& model, const Dataset& data, EvalConfig cfg, Classifier* source)
    : model_(model), source_(source ? *source : model), data_(data), cfg_(std::move(cfg)) {
  ADVX_REQUIRE(cfg_.batch >= 1, "batch must be >= 1");
  ADVX_REQUIRE(cfg_.target < model_.num_classes(), "target class " + std::to_string(cfg_.target) +
                                                       " is out of range: classes are 0.." +
                                                       std::to_string(model_.num_classes() - 1));
  ADVX_REQUIRE(source_.num_classes() == model_.num_classes() && source_.input_shape() == model_.input_shape(),
               "the source model '" + source_.name() + "' and the scored model '" + model_.name() +
                   "' differ in input shape or classes; transfer needs the same task");
  n_ = data_.size();
  r_.n = n_;
  if (cfg_.keep_adv) r_.adv = data_.images;
  detector_ = dynamic_cast<DetectorDefence*>(&model_);
  if (detector_) {
    ADVX_REQUIRE(detector_->calibrated(), "the detector '" + model_.name() + "' has no threshold: calibrate it first");
    const Calibration& c = detector_->calibration();
    EvalDetection& d = r_.detection;
    d.on = true;
    d.threshold = c.threshold;
    d.score = detector_->score_name();
    d.calibrated = c.source;
    d.target_fpr = c.target_fpr;
    d.validation_fpr = c.validation_fpr;
  }
}

void Evaluation::set_batch(int b) {
  ADVX_REQUIRE(b >= 1, "batch must be >= 1");
  cfg_.batch = b;
}

double Evaluation::progress() const {
  if (!n_) return 1.0;
  const double running = run_ ? run_->progress() * count_ : 0.0;
  return (static_cast<double>(next_) + running) / n_;
}

bool Evaluation::step() {
  if (done()) return true;
  const auto t0 = std::chrono::steady_clock::now();
  if (!run_) begin_batch();  // may finish a batch with nothing to attack at once
  if (run_ && run_->step()) finish_batch();
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return done();
}

void Evaluation::begin_batch() {
  const int b = next_;
  count_ = std::min(cfg_.batch, n_ - next_);
  const Tensor x = data_.images.slice(b, count_);
  if (detector_) {  // every clean image is scored: the false positives
    std::vector<float> scores;
    detector_->scores(x, scores);
    r_.detection.clean_scores.insert(r_.detection.clean_scores.end(), scores.begin(), scores.end());
  }
  const std::vector<int> pred = model_.predict(x);
  // Attack only what the scored model gets right (and, targeted, whose label is not the target).
  const bool attacking = static_cast<bool>(cfg_.attack);
  idx_.clear();
  goal_ = Goal{};
  for (int k = 0; k < count_; ++k) {
    const int y = data_.labels[static_cast<size_t>(b + k)];
    const bool ok = pred[static_cast<size_t>(k)] == y;
    clean_ok_ += ok;
    const bool attack_it = ok && attacking && y != cfg_.target;
    if (attack_it) {
      idx_.push_back(k), goal_.labels.push_back(y);
      if (cfg_.target >= 0) goal_.targets.push_back(cfg_.target);
    } else if (ok) {
      ++adv_ok_;  // left as it is, still right
    }
  }
  if (idx_.empty()) {
    next_ += count_;
    return;
  }
  const std::int64_t per = x.sample_size();
  Shape s = x.shape;
  s[0] = static_cast<int>(idx_.size());
  xa_ = Tensor(s);
  for (size_t k = 0; k < idx_.size(); ++k)
    std::copy_n(x.ptr() + idx_[k] * per, per, xa_.ptr() + static_cast<std::int64_t>(k) * per);
  run_ = cfg_.attack(source_, xa_, goal_);
}

void Evaluation::finish_batch() {
  const AttackResult& ar = run_->result();
  const int b = next_;
  const std::int64_t per = xa_.sample_size();
  const Shape sample(xa_.shape.begin() + 1, xa_.shape.end());
  r_.gradient_calls += ar.gradient_calls;
  r_.queries += ar.queries;
  r_.attacked += static_cast<int>(idx_.size());
  // White-box: the attack's own evaluation is the scored model's. Otherwise score it here.
  std::vector<int> adv_pred = ar.pred;
  const bool own = &source_ == &model_ && adv_pred.size() == idx_.size() &&
                   std::none_of(adv_pred.begin(), adv_pred.end(), [](int p) { return p < 0; });
  if (!own) adv_pred = model_.predict(ar.adv);
  std::vector<float> scores;
  if (detector_) detector_->scores(ar.adv, scores);
  for (size_t k = 0; k < idx_.size(); ++k) {
    const int y = goal_.labels[k];
    const bool ok = attack_succeeded(adv_pred[k], y, goal_.target(k));
    succeeded_ += ok;
    if (detector_) {
      r_.detection.adv_scores.push_back(scores[k]);
      r_.detection.adv_successful.push_back(ok);
    }
    adv_ok_ += adv_pred[k] == y;
    const std::int64_t off = static_cast<std::int64_t>(k) * per;
    const Norms nm = perturbation_norms(ar.adv.ptr() + off, xa_.ptr() + off, sample);
    linf_sum_ += nm.linf;
    l2_sum_ += nm.l2;
    l0_sum_ += static_cast<double>(nm.l0);
    r_.linf_max = std::max(r_.linf_max, nm.linf);
    if (cfg_.keep_adv)
      std::copy_n(ar.adv.ptr() + off, per, r_.adv.ptr() + static_cast<std::int64_t>(b + idx_[k]) * per);
  }
  run_.reset();
  next_ += count_;
}

EvalResult Evaluation::result() const {
  EvalResult r = r_;
  const int n = next_;
  r.clean_acc = n ? static_cast<double>(clean_ok_) / n : 0.0;
  r.adv_acc = n ? static_cast<double>(cfg_.attack ? adv_ok_ : clean_ok_) / n : 0.0;
  r.success_rate = r.attacked ? static_cast<double>(succeeded_) / r.attacked : 0.0;
  r.linf_mean = n ? linf_sum_ / n : 0.0;
  r.l2_mean = n ? l2_sum_ / n : 0.0;
  r.l0_mean = n ? l0_sum_ / n : 0.0;
  r.queries_mean = r.attacked ? static_cast<double>(r.queries) / r.attacked : 0.0;
  r.seconds = seconds_;
  if (r.detection.on) {
    EvalDetection& d = r.detection;
    d.fpr = fraction_above(d.clean_scores, d.threshold);
    std::vector<float> ok_scores;
    long flagged_ok = 0, flagged_all = 0, undetected_ok = 0;
    for (std::size_t i = 0; i < d.adv_scores.size(); ++i) {
      const bool flagged = d.adv_scores[i] > d.threshold;
      flagged_all += flagged;
      if (!d.adv_successful[i]) continue;
      ok_scores.push_back(d.adv_scores[i]);
      flagged_ok += flagged;
      undetected_ok += !flagged;
    }
    d.successful = static_cast<int>(ok_scores.size());
    d.detect_rate = d.successful ? static_cast<double>(flagged_ok) / d.successful : 0.0;
    d.detect_rate_all =
        d.adv_scores.empty() ? 0.0 : static_cast<double>(flagged_all) / static_cast<double>(d.adv_scores.size());
    d.undetected_success = r.attacked ? static_cast<double>(undetected_ok) / r.attacked : 0.0;
    d.roc_auc = roc_auc(d.clean_scores, ok_scores);
    d.roc_auc_all = roc_auc(d.clean_scores, d.adv_scores);
  }
  return r;
}

EvalResult evaluate(Classifier& model, const Dataset& data, const EvalConfig& cfg, Classifier* source) {
  Evaluation e(model, data, cfg, source);
  while (!e.step()) {
  }
  return e.result();
}

EvalResult evaluate(Classifier& m, const Dataset& d, const std::optional<LinfAttack>& attack, int target, int batch) {
  EvalConfig cfg;
  if (attack) cfg.attack = linf_crafter(*attack);
  cfg.target = target;
  cfg.batch = batch;
  return evaluate(m, d, cfg);
}

}  // namespace advx
