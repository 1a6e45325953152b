// The one L-infinity gradient-sign loop behind FGSM, BIM and PGD.
//
//   FGSM (Goodfellow et al. 2015, arXiv:1412.6572):   x' = clip(x + eps * sign(grad_x L(x, y)))
//   BIM  (Kurakin et al. 2017, arXiv:1607.02533):     x_{t+1} = Proj(x_t + a * sign(grad_x L(x_t, y)))
//   PGD  (Madry et al. 2018, arXiv:1706.06083):       BIM from a uniform random start in the eps-ball,
//                                                     with restarts keeping the best result per sample
// L is the attacker's Objective (engine/objective.h), ascended: cross-entropy of the label by
// default; for a targeted attack its value is minus the target's cross-entropy, so the same ascent
// descends the target's loss.
//
// Deviations, stated: (1) with early_stop, a sample is frozen at the first iterate that fools the
// model (standard PGD would keep stepping; the success rate is the same, the gradient calls fewer);
// (2) restarts after the first run only on samples not yet fooled; (3) per sample the kept result is
// the successful one, else the one with the highest objective value; (4) PGD's random start is
// clipped to [0, 1] (Madry et al.'s code) unless `unclipped_start` asks for the start in the eps-ball
// only (Wong, Rice, Kolter 2020's MNIST training code; the start is then never a result, not even
// with early stop, since only projected iterates are valid images).
//
// Resumable: one step() is one iteration of the inner loop (a forward + backward of every sample
// still running, or the final evaluation); a restart begins inside the step that follows the last
// iteration of the previous one.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/attacks/attack.h"
#include "engine/error.h"
#include "engine/loss.h"
#include "engine/rng.h"

namespace advx {
namespace {

void check_config(const LinfAttack& c) {
  ADVX_REQUIRE(std::isfinite(c.eps) && c.eps >= 0.0f,
               "eps must be a finite number >= 0 (pixel scale [0, 1], e.g. 0.3), got " + std::to_string(c.eps));
  ADVX_REQUIRE(c.steps >= 1 && c.steps <= 100000, "steps must be in 1..100000, got " + std::to_string(c.steps));
  ADVX_REQUIRE(c.restarts >= 1 && c.restarts <= 1000, "restarts must be in 1..1000, got " + std::to_string(c.restarts));
  ADVX_REQUIRE(std::isfinite(c.step_size), "step size must be finite");
  ADVX_REQUIRE(c.evaluate || (c.restarts == 1 && !c.early_stop),
               "evaluate = false needs restarts = 1 and no early stop (both pick results by evaluating them)");
}

// Copy rows `idx` of src into dst, which becomes [idx.size(), shape...].
void gather(const Tensor& src, const std::vector<int>& idx, Tensor& dst) {
  Shape s = src.shape;
  s[0] = static_cast<int>(idx.size());
  dst.resize(s);
  const std::int64_t per = src.sample_size();
  for (size_t k = 0; k < idx.size(); ++k)
    std::copy_n(src.ptr() + idx[k] * per, per, dst.ptr() + static_cast<std::int64_t>(k) * per);
}

class LinfRun : public AttackRun {
 public:
  LinfRun(Classifier& m, const Objective& objective, const Tensor& x, Goal goal, const LinfAttack& cfg)
      : m_(m), objective_(objective), x_(x), goal_(std::move(goal)), cfg_(cfg), rng_(cfg.seed) {
    check_config(cfg_);
    check_input(m_, x_, true);
    n_ = x_.dim(0);
    check_labels(m_, goal_.labels, static_cast<size_t>(n_), "labels");
    if (goal_.targeted()) check_labels(m_, goal_.targets, static_cast<size_t>(n_), "targets");
    step_ = cfg_.step_size >= 0.0f ? cfg_.step_size
                                   : (cfg_.steps == 1 ? cfg_.eps : 2.5f * cfg_.eps / static_cast<float>(cfg_.steps));
    per_ = x_.sample_size();
    k_ = m_.num_classes();
    r_.adv = x_;  // a copy: the caller's x is never written
    r_.pred.assign(static_cast<size_t>(n_), -1);
    r_.logits = Tensor({n_, k_});
    r_.success.assign(static_cast<size_t>(n_), 0);
    // Score of the kept result per sample: the objective's value (larger is better).
    best_.assign(static_cast<size_t>(n_), -std::numeric_limits<float>::infinity());
    cur_ = x_;
    begin_restart();
  }

  bool done() const override { return finished_; }
  const AttackResult& result() const override { return r_; }
  double progress() const override {
    if (finished_) return 1.0;
    const double per_restart = cfg_.steps + 1.0;
    return (restart_ * per_restart + t_) / (cfg_.restarts * per_restart);
  }

  bool step() override {
    if (finished_) return true;
    if (!iterate()) {  // this restart is over: the next begins (or the run ends)
      ++restart_;
      begin_restart();
    }
    return finished_;
  }

 private:
  bool fooled(int i, int pred) const { return goal_.succeeded(static_cast<size_t>(i), pred); }

  // Records the evaluation of sample i at `point` (logits z, objective value v) if it beats the best.
  void consider(int i, const float* point, const float* z, int pred, float v) {
    const bool ok = fooled(i, pred);
    const auto u = static_cast<size_t>(i);
    if ((ok && !r_.success[u]) || (ok == static_cast<bool>(r_.success[u]) && v > best_[u])) {
      r_.success[u] = ok;
      r_.pred[u] = pred;
      best_[u] = v;
      std::copy_n(point, per_, r_.adv.ptr() + static_cast<std::int64_t>(i) * per_);
      std::copy_n(z, k_, r_.logits.ptr() + static_cast<std::int64_t>(i) * k_);
    }
  }

  // Picks the samples of restart `restart_` and their start point: x, or x + U(-eps, eps)
  // projected (PGD's random start). Ends the run when there is nothing left to do.
  void begin_restart() {
    t_ = 0;
    idx_.clear();
    if (restart_ < cfg_.restarts)
      for (int i = 0; i < n_; ++i)
        if (restart_ == 0 || !r_.success[static_cast<size_t>(i)]) idx_.push_back(i);
    if (idx_.empty()) {
      finished_ = true;
      return;
    }
    for (int i : idx_) {
      float* c = cur_.ptr() + static_cast<std::int64_t>(i) * per_;
      const float* c0 = x_.ptr() + static_cast<std::int64_t>(i) * per_;
      for (std::int64_t j = 0; j < per_; ++j)
        c[j] = cfg_.random_start ? c0[j] + rng_.uniform(-cfg_.eps, cfg_.eps) : c0[j];
    }
    if (cfg_.random_start && cfg_.clip_start) project_linf(cur_, x_, cfg_.eps);
  }

  // Iteration t_ of the current restart; false when the restart has ended.
  bool iterate() {
    if (idx_.empty()) return false;
    if (t_ == cfg_.steps && !cfg_.evaluate) {  // the image is the result; no forward pass on it
      for (int i : idx_)
        std::copy_n(cur_.ptr() + static_cast<std::int64_t>(i) * per_, per_,
                    r_.adv.ptr() + static_cast<std::int64_t>(i) * per_);
      return false;
    }
    gather(cur_, idx_, xa_);
    ga_.reject = goal_.reject;
    ga_.labels.resize(idx_.size());
    ga_.targets.resize(goal_.targeted() ? idx_.size() : 0);
    for (size_t k = 0; k < idx_.size(); ++k) {
      ga_.labels[k] = goal_.labels[static_cast<size_t>(idx_[k])];
      if (goal_.targeted()) ga_.targets[k] = goal_.targets[static_cast<size_t>(idx_[k])];
    }
    const bool last = (t_ == cfg_.steps);
    // One forward per iterate; the backward only when another step follows.
    const Tensor& logits = m_.logits(xa_);
    r_.queries += static_cast<std::int64_t>(idx_.size());
    if (last) {
      objective_.evaluate(logits, ga_, values_, nullptr);
    } else {
      objective_.evaluate(logits, ga_, values_, &dlogits_);
      m_.input_gradient(dlogits_, grad_);
      r_.gradient_calls += static_cast<std::int64_t>(idx_.size());
    }
    const std::vector<int> preds = argmax_rows(logits);
    keep_.clear();
    for (size_t k = 0; k < idx_.size(); ++k) {
      const int i = idx_[k];
      // Early stop: freeze a sample at the first iterate that fools the model.
      const bool valid = t_ > 0 || !cfg_.random_start || cfg_.clip_start;  // an unclipped start is no image
      if (last || (cfg_.early_stop && valid && fooled(i, preds[k]))) {
        consider(i, xa_.ptr() + static_cast<std::int64_t>(k) * per_, logits.ptr() + static_cast<std::int64_t>(k) * k_,
                 preds[k], values_[k]);
        continue;
      }
      keep_.push_back(static_cast<int>(k));
    }
    if (last) return false;
    // Step the samples still running: x <- Proj(x + step * sign(grad of the objective)).
    next_.clear();
    for (int k : keep_) {
      const int i = idx_[static_cast<size_t>(k)];
      float* c = cur_.ptr() + static_cast<std::int64_t>(i) * per_;
      const float* g = grad_.ptr() + static_cast<std::int64_t>(k) * per_;
      const float* c0 = x_.ptr() + static_cast<std::int64_t>(i) * per_;
      for (std::int64_t j = 0; j < per_; ++j) c[j] += step_ * static_cast<float>((g[j] > 0.0f) - (g[j] < 0.0f));
      project_linf(c, c0, per_, cfg_.eps);
      next_.push_back(i);
    }
    idx_.swap(next_);
    ++t_;
    return !idx_.empty();
  }

  Classifier& m_;
  const Objective& objective_;
  const Tensor x_;
  const Goal goal_;
  const LinfAttack cfg_;
  Rng rng_;
  int n_ = 0, k_ = 0;
  std::int64_t per_ = 0;
  float step_ = 0.0f;
  AttackResult r_;
  std::vector<float> best_;
  int restart_ = 0, t_ = 0;
  bool finished_ = false;
  // Iteration state and scratch (reused: no allocation per step once sizes settle).
  Tensor cur_, xa_, grad_, dlogits_;
  Goal ga_;
  std::vector<int> idx_, keep_, next_;
  std::vector<float> values_;
};

}  // namespace

std::unique_ptr<AttackRun> start_linf(Classifier& m, const Objective& objective, const Tensor& x, const Goal& goal,
                                      const LinfAttack& cfg) {
  return std::make_unique<LinfRun>(m, objective, x, goal, cfg);
}

AttackResult linf_attack(Classifier& m, const Tensor& x, const std::vector<int>& labels,
                         const std::vector<int>& targets, const LinfAttack& cfg) {
  LinfRun run(m, cross_entropy_objective(), x, Goal{labels, targets}, cfg);
  while (!run.step()) {
  }
  return run.result();
}

AttackResult fgsm(Classifier& m, const Tensor& x, const std::vector<int>& labels, const std::vector<int>& targets,
                  float eps) {
  LinfAttack cfg;
  cfg.eps = eps;
  cfg.steps = 1;
  cfg.step_size = eps;
  return linf_attack(m, x, labels, targets, cfg);
}

// ---- the registry's entries: three configurations of the loop ----------------------------------

namespace {

std::vector<ParamSpec> iterative_params(bool pgd) {
  std::vector<ParamSpec> p = {linf_budget_param(), int_param("steps", 1, 1000, 10, "gradient steps")};
  ParamSpec step = float_param("step_size", 0.0, 1.0, 0.0, "step per iteration (0: 2.5 * eps / steps, Madry et al.)");
  step.advanced = true;
  step.ui_max = 0.1;
  p.push_back(step);
  if (pgd) {
    ParamSpec r = int_param("restarts", 1, 100, 1, "random restarts; per image the best result is kept");
    r.advanced = true;
    p.push_back(r);
    ParamSpec u = bool_param("unclipped_start", false,
                             "take the first gradient at the random start before clipping it to [0, 1] (Wong et "
                             "al. 2020's MNIST training); every step is clipped as always");
    u.advanced = true;
    p.push_back(u);
  }
  ParamSpec es =
      bool_param("early_stop", false, "stop stepping an image once it is fooled (same success, fewer calls)");
  es.advanced = true;
  p.push_back(es);
  return p;
}

std::unique_ptr<AttackRun> start_from(const AttackInput& in, bool iterative, bool random_start) {
  LinfAttack c;
  c.eps = static_cast<float>(in.params.number("eps"));
  c.seed = in.seed;
  c.evaluate = in.evaluate;
  c.random_start = random_start;
  if (iterative) {
    c.steps = in.params.integer("steps");
    const float s = static_cast<float>(in.params.number("step_size"));
    c.step_size = s > 0.0f ? s : -1.0f;
    c.early_stop = in.params.flag("early_stop");
    if (in.params.has("restarts")) c.restarts = in.params.integer("restarts");
    if (in.params.has("unclipped_start")) c.clip_start = !in.params.flag("unclipped_start");
    if (c.restarts > 1 || c.early_stop) c.evaluate = true;  // both choose results by evaluating them
  } else {
    c.steps = 1;
    c.step_size = c.eps;
  }
  return start_linf(in.model, in.objective, in.x, in.goal, c);
}

}  // namespace

AttackSpec fgsm_attack() {
  AttackSpec s;
  s.name = "fgsm", s.title = "FGSM", s.key = 'F', s.norm = Norm::Linf, s.budget = "eps";
  s.summary = "fast gradient sign method: one step of size eps along the sign of the loss gradient";
  s.citation = "Goodfellow, Shlens, Szegedy 2015, arXiv:1412.6572";
  s.params = {linf_budget_param()};
  s.start = [](const AttackInput& in) { return start_from(in, false, false); };
  return s;
}

AttackSpec bim_attack() {
  AttackSpec s;
  s.name = "bim", s.title = "BIM", s.key = 'B', s.norm = Norm::Linf, s.budget = "eps";
  s.summary = "basic iterative method: FGSM in small steps, projected back into the eps-ball after each";
  s.citation = "Kurakin, Goodfellow, Bengio 2017, arXiv:1607.02533";
  s.params = iterative_params(false);
  s.start = [](const AttackInput& in) { return start_from(in, true, false); };
  return s;
}

const AttackSpec& gradient_sign_attack(int steps) {
  return get_attack(steps <= 1 ? "fgsm" : "bim");
}

AttackSpec pgd_attack() {
  AttackSpec s;
  s.name = "pgd", s.title = "PGD, random start", s.key = 'G', s.norm = Norm::Linf, s.budget = "eps";
  s.summary = "projected gradient descent: BIM from a random point in the eps-ball, with restarts";
  s.citation = "Madry, Makelov, Schmidt, Tsipras, Vladu 2018, arXiv:1706.06083";
  s.params = iterative_params(true);
  s.start = [](const AttackInput& in) { return start_from(in, true, true); };
  return s;
}

}  // namespace advx
