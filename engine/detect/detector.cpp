#include "engine/detect/detector.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "engine/error.h"
#include "engine/loss.h"
#include "engine/model.h"

namespace advx {

std::vector<ParamSpec> detector_params() {
  ParamSpec fpr = float_param("fpr", 0.001, 0.5, 0.05,
                              "false-positive rate the detector's threshold is set for, on clean validation images");
  ParamSpec n =
      int_param("val_n", 100, 5000, 1000, "clean validation images (odd-indexed test images) that set the threshold");
  n.advanced = true;
  ParamSpec w = float_param("reject_weight", 0.001, 1000.0, 1.0,
                            "the adaptive attacker's weight w on the detector, in its reject logit max_j z_j + w (s - "
                            "threshold) / sigma: small puts fooling the classifier first, large evading the detector");
  w.advanced = true;
  return {fpr, n, w};
}

void softmax_backward_add(const float* p, const float* dp, int k, float* dz) {
  double dot = 0.0;
  for (int c = 0; c < k; ++c) dot += static_cast<double>(p[c]) * dp[c];
  for (int j = 0; j < k; ++j) dz[j] += p[j] * (dp[j] - static_cast<float>(dot));
}

double threshold_at_fpr(std::vector<float> clean, double fpr) {
  ADVX_REQUIRE(!clean.empty(), "a threshold needs clean validation scores; got none");
  ADVX_REQUIRE(fpr >= 0.0 && fpr < 1.0, "the false-positive rate must be in [0, 1), got " + std::to_string(fpr));
  for (float s : clean) ADVX_REQUIRE(std::isfinite(s), "a clean validation score is not finite");
  std::sort(clean.begin(), clean.end());
  const auto n = static_cast<double>(clean.size());
  // The ceil((1 - fpr) n)-th smallest (1-based): at most floor(fpr n) scores lie strictly above it.
  auto k = static_cast<std::size_t>(std::ceil((1.0 - fpr) * n - 1e-9));
  k = std::clamp<std::size_t>(k, 1, clean.size());
  return clean[k - 1];
}

double fraction_above(const std::vector<float>& s, double t) {
  if (s.empty()) return 0.0;
  const auto above = std::count_if(s.begin(), s.end(), [t](float v) { return v > t; });
  return static_cast<double>(above) / static_cast<double>(s.size());
}

double roc_auc(const std::vector<float>& clean, const std::vector<float>& adv) {
  if (clean.empty() || adv.empty()) return std::numeric_limits<double>::quiet_NaN();
  // Mann-Whitney: rank all scores together (ties get their mean rank); AUC = (R_adv - m(m+1)/2) / (m n).
  std::vector<std::pair<float, int>> all;
  all.reserve(clean.size() + adv.size());
  for (float s : clean) all.emplace_back(s, 0);
  for (float s : adv) all.emplace_back(s, 1);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum = 0.0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double mid = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;  // mean of ranks i+1..j
    for (std::size_t t = i; t < j; ++t)
      if (all[t].second) rank_sum += mid;
    i = j;
  }
  const auto m = static_cast<double>(adv.size()), n = static_cast<double>(clean.size());
  return (rank_sum - m * (m + 1.0) / 2.0) / (m * n);
}

void DetectorDefence::scores(const Tensor& x, std::vector<float>& s, int batch) {
  const int n = x.dim(0);
  s.clear();
  s.reserve(static_cast<std::size_t>(n));
  std::vector<float> part;
  for (int b = 0; b < n; b += batch) {
    const int count = std::min(batch, n - b);
    forward(count == n ? x : x.slice(b, count), &part);
    s.insert(s.end(), part.begin(), part.end());
  }
}

void DetectorDefence::flags(const Tensor& x, std::vector<float>& s, std::vector<char>& flagged, int batch) {
  ADVX_REQUIRE(calibrated(), "detector '" + name() + "' has no threshold yet: calibrate it on clean validation data");
  scores(x, s, batch);
  flagged.resize(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) flagged[i] = s[i] > cal_.threshold;
}

void DetectorDefence::set_attack_weight(float w) {
  ADVX_REQUIRE(std::isfinite(w) && w > 0.0f, "the detector weight must be > 0, got " + std::to_string(w));
  attack_weight_ = w;
}

namespace {

// Scores the first n validation images a batch per step; the last batch sets the threshold.
class CalibrationWork : public BatchedWork {
 public:
  CalibrationWork(DetectorDefence& d, Calibration& out, const Dataset& val, const std::string& dataset, double fpr,
                  int n)
      : BatchedWork("setting the threshold on validation images", n, d.calibration_batch()),
        d_(d),
        out_(out),
        val_(val),
        dataset_(dataset),
        fpr_(fpr) {
    s_.reserve(static_cast<std::size_t>(n));
  }

 protected:
  void run(int first, int count) override {
    d_.forward(count == val_.size() ? val_.images : val_.images.slice(first, count), &part_);
    s_.resize(static_cast<std::size_t>(first));  // a batch that threw before is scored again
    s_.insert(s_.end(), part_.begin(), part_.end());
    if (first + count == total()) finish_threshold();
  }

 private:
  void finish_threshold() {
    const int n = total();
    Calibration c;
    c.threshold = threshold_at_fpr(s_, fpr_);
    c.target_fpr = fpr_;
    c.validation_fpr = fraction_above(s_, c.threshold);
    c.n = n;
    double mean = 0.0, var = 0.0;
    for (float v : s_) mean += v;
    mean /= n;
    for (float v : s_) var += (v - mean) * (v - mean);
    c.scale = std::max(std::sqrt(var / n), 1e-6);
    c.source = dataset_ + " validation split (odd test images 1, 3, ..., " + std::to_string(2 * n - 1) + ")";
    out_ = c;
  }
  DetectorDefence& d_;
  Calibration& out_;
  const Dataset& val_;
  std::string dataset_;
  double fpr_;
  std::vector<float> s_, part_;
};

}  // namespace

std::shared_ptr<BatchedWork> DetectorDefence::start_calibration(const DefenceContext& ctx, double fpr, int n) {
  ADVX_REQUIRE(fpr > 0.0 && fpr < 1.0, "the false-positive rate must be in (0, 1), got " + std::to_string(fpr));
  ADVX_REQUIRE(ctx.data, "detector '" + name() + "' needs clean validation data, and the context has none");
  const Dataset& val = ctx.data(ctx.dataset, "validation");
  ADVX_REQUIRE(n >= 1 && n <= val.size(), "the detector's threshold needs " + std::to_string(n) +
                                              " clean validation images; the " + ctx.dataset +
                                              " validation split has " + std::to_string(val.size()));
  return std::make_shared<CalibrationWork>(*this, cal_, val, ctx.dataset, fpr, n);
}

void DetectorDefence::calibrate(const DefenceContext& ctx, double fpr, int n) {
  start_calibration(ctx, fpr, n)->finish();
}

std::unique_ptr<DefenceBuild> detector_build(const DefenceContext& ctx, double fpr, int n,
                                             std::vector<StagedBuild::Stage> before,
                                             std::function<std::unique_ptr<DetectorDefence>()> make) {
  auto det = std::make_shared<std::unique_ptr<DetectorDefence>>();
  std::vector<StagedBuild::Stage> stages = std::move(before);
  stages.emplace_back([det, make = std::move(make), ctx, fpr, n] {
    *det = make();
    return (*det)->start_calibration(ctx, fpr, n);
  });
  return std::make_unique<StagedBuild>(std::move(stages),
                                       [det]() -> std::unique_ptr<Classifier> { return std::move(*det); });
}

double forward_macs(const Classifier& c) {
  if (const auto* s = dynamic_cast<const Sequential*>(&c)) return s->macs_per_sample();
  return 1e6;
}

DefenceReport DetectorDefence::report(const Tensor& x) {
  ADVX_REQUIRE(x.dim(0) == 1, "report() takes one sample [1, ...], got " + shape_str(x.shape));
  std::vector<float> s;
  forward(x, &s);
  DefenceReport r;
  DefenceReport::Score sc;
  sc.name = score_name();
  sc.value = s[0];
  sc.threshold = cal_.threshold;
  sc.flagged = calibrated() && s[0] > cal_.threshold;
  r.scores.push_back(sc);
  return r;
}

// ---- the adaptive attacker's view -------------------------------------------------------------------
DetectorView::DetectorView(DetectorDefence& d, float weight) : d_(d), weight_(weight) {
  ADVX_REQUIRE(d.calibrated(),
               "the adaptive attacker needs the detector's threshold: calibrate '" + d.name() + "' first");
  ADVX_REQUIRE(std::isfinite(weight) && weight > 0.0f, "the detector weight must be > 0");
}

std::string DetectorView::name() const {
  return d_.name() + " + reject class";
}

const Tensor& DetectorView::logits(const Tensor& x) {
  const Tensor& z = d_.attack_forward(x, s_);
  const int n = z.dim(0), k = z.dim(1);
  const Calibration& c = d_.calibration();
  out_.resize({n, k + 1});
  top_.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const float* zi = z.ptr() + static_cast<std::int64_t>(i) * k;
    float* o = out_.ptr() + static_cast<std::int64_t>(i) * (k + 1);
    std::copy_n(zi, k, o);
    const int top = static_cast<int>(std::max_element(zi, zi + k) - zi);
    top_[static_cast<std::size_t>(i)] = top;
    // z'_K = max_j z_j + w (s - tau) / sigma
    o[k] = zi[top] + weight_ * static_cast<float>((s_[static_cast<std::size_t>(i)] - c.threshold) / c.scale);
  }
  return out_;
}

void DetectorView::input_gradient(const Tensor& g, Tensor& dx) {
  const int n = out_.dim(0), k = out_.dim(1) - 1;
  ADVX_REQUIRE(g.shape == out_.shape,
               "detector view backward: gradient " + shape_str(g.shape) + " != logits " + shape_str(out_.shape));
  dz_.resize({n, k});
  ds_.resize(static_cast<std::size_t>(n));
  const auto scale = static_cast<float>(d_.calibration().scale);
  for (int i = 0; i < n; ++i) {
    const float* gi = g.ptr() + static_cast<std::int64_t>(i) * (k + 1);
    float* d = dz_.ptr() + static_cast<std::int64_t>(i) * k;
    std::copy_n(gi, k, d);
    d[top_[static_cast<std::size_t>(i)]] += gi[k];               // d z'_K / d z_top = 1
    ds_[static_cast<std::size_t>(i)] = gi[k] * weight_ / scale;  // d z'_K / d s = w / sigma
  }
  d_.attack_backward(dz_, ds_, dx);
}

// ---- attacks on a detecting model -------------------------------------------------------------------
namespace {

class DetectorRun : public AttackRun {
 public:
  DetectorRun(DetectorDefence& d, const Goal& goal)
      : d_(d), view_(std::make_unique<DetectorView>(d, d.attack_weight())), goal_(goal) {}
  void start(const AttackSpec& spec, const AttackInput& in) {
    Goal g = in.goal;
    g.reject = view_->reject_class();
    inner_ = spec.start(AttackInput{*view_, in.objective, in.x, g, in.params, in.seed, in.evaluate, in.max_rows});
  }
  bool step() override {
    const bool finished = inner_->step();
    if (finished) map_result();
    return finished;
  }
  bool done() const override { return inner_->done(); }
  double progress() const override { return inner_->progress(); }
  const AttackResult& result() const override { return done() ? r_ : inner_->result(); }
  AttackSnapshot snapshot() const override { return inner_->snapshot(); }

 private:
  // The view's K+1 logits -> the defended model's K: its logits, its prediction, success as for any model.
  void map_result() {
    const AttackResult& a = inner_->result();
    r_ = AttackResult{};
    r_.adv = a.adv;
    r_.gradient_calls = a.gradient_calls;
    r_.queries = a.queries;
    const int n = a.adv.dim(0);
    r_.pred.assign(static_cast<std::size_t>(n), -1);
    r_.success.assign(static_cast<std::size_t>(n), 0);
    if (a.logits.rank() != 2 || a.logits.dim(0) != n) return;  // not evaluated (evaluate = false)
    // The defended model's own logits at the adversarial (the view's first K are the attacker's
    // surrogate when the detector gives one: attack_forward).
    r_.logits = d_.logits(a.adv);
    r_.pred = argmax_rows(r_.logits);
    for (std::size_t i = 0; i < r_.pred.size(); ++i)
      r_.success[i] = attack_succeeded(r_.pred[i], goal_.labels[i], goal_.target(i));
  }
  DetectorDefence& d_;
  std::unique_ptr<DetectorView> view_;
  Goal goal_;
  std::unique_ptr<AttackRun> inner_;
  AttackResult r_;
};

}  // namespace

std::unique_ptr<AttackRun> start_through_detector(const AttackSpec& spec, const AttackInput& in, DetectorDefence& d) {
  auto run = std::make_unique<DetectorRun>(d, in.goal);
  run->start(spec, in);
  return run;
}

}  // namespace advx
