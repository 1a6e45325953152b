// The one L-infinity gradient-sign loop behind FGSM, BIM and PGD.
//
//   FGSM (Goodfellow et al. 2015, arXiv:1412.6572):   x' = clip(x + eps * sign(grad_x L(x, y)))
//   BIM  (Kurakin et al. 2017, arXiv:1607.02533):     x_{t+1} = Proj(x_t + a * sign(grad_x L(x_t, y)))
//   PGD  (Madry et al. 2018, arXiv:1706.06083):       BIM from a uniform random start in the eps-ball,
//                                                     with restarts keeping the best result per sample
// Targeted variants descend the loss of the target class instead of ascending the label's.
//
// Deviations, stated: (1) with early_stop, a sample is frozen at the first iterate that fools the
// model (standard PGD would keep stepping; the success rate is the same, the gradient calls fewer);
// (2) restarts after the first run only on samples not yet fooled; (3) per sample the kept result is
// the successful one, else the one with the worst loss for the model.
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

// Copy rows `idx` of src (per-sample size `per`) into dst, which becomes [idx.size(), shape...].
void gather(const Tensor& src, const std::vector<int>& idx, Tensor& dst) {
  Shape s = src.shape;
  s[0] = static_cast<int>(idx.size());
  dst.resize(s);
  const std::int64_t per = src.sample_size();
  for (size_t k = 0; k < idx.size(); ++k)
    std::copy_n(src.ptr() + idx[k] * per, per, dst.ptr() + static_cast<std::int64_t>(k) * per);
}

}  // namespace

AttackResult linf_attack(Sequential& m, const Tensor& x, const std::vector<int>& labels,
                         const std::vector<int>& targets, const LinfAttack& cfg) {
  check_config(cfg);
  check_input(m, x, true);
  const int n = x.dim(0);
  check_labels(m, labels, static_cast<size_t>(n), "labels");
  const bool targeted = !targets.empty();
  if (targeted) check_labels(m, targets, static_cast<size_t>(n), "targets");
  const std::vector<int>& loss_labels = targeted ? targets : labels;
  // Ascend the label's loss (untargeted) or descend the target's (targeted).
  const float dir = targeted ? -1.0f : 1.0f;
  const float step = cfg.step_size >= 0.0f
                         ? cfg.step_size
                         : (cfg.steps == 1 ? cfg.eps : 2.5f * cfg.eps / static_cast<float>(cfg.steps));
  auto fooled = [&](int i, int pred) {
    return targeted ? pred == targets[static_cast<size_t>(i)] : pred != labels[static_cast<size_t>(i)];
  };

  AttackResult r;
  r.adv = x;  // a copy: the caller's x is never written
  r.pred.assign(static_cast<size_t>(n), -1);
  r.logits = Tensor({n, m.num_classes});
  r.success.assign(static_cast<size_t>(n), 0);
  // Score of the kept result per sample: the loss seen by the attack, signed so that larger is better.
  std::vector<float> best(static_cast<size_t>(n), -std::numeric_limits<float>::infinity());

  Rng rng(cfg.seed);
  Tensor cur = x, xa, grad;
  std::vector<int> idx, ya, keep, next;
  std::vector<float> losses;
  std::vector<char> done(static_cast<size_t>(n), 0);  // frozen by early stop in this restart
  const std::int64_t per = x.sample_size();

  // Records the evaluation of active sample k (global index i) at point `point` (logits z) if it
  // beats the best.
  auto consider = [&](int i, const float* point, const float* z, int pred, float loss) {
    const bool ok = fooled(i, pred);
    const float score = dir * loss;
    const auto u = static_cast<size_t>(i);
    if ((ok && !r.success[u]) || (ok == static_cast<bool>(r.success[u]) && score > best[u])) {
      r.success[u] = ok;
      r.pred[u] = pred;
      best[u] = score;
      std::copy_n(point, per, r.adv.ptr() + static_cast<std::int64_t>(i) * per);
      std::copy_n(z, m.num_classes, r.logits.ptr() + static_cast<std::int64_t>(i) * m.num_classes);
    }
  };

  for (int restart = 0; restart < cfg.restarts; ++restart) {
    idx.clear();
    for (int i = 0; i < n; ++i)
      if (restart == 0 || !r.success[static_cast<size_t>(i)]) idx.push_back(i);
    if (idx.empty()) break;
    std::fill(done.begin(), done.end(), 0);
    // Start point: x, or x + U(-eps, eps) projected (PGD random start).
    for (int i : idx) {
      float* c = cur.ptr() + static_cast<std::int64_t>(i) * per;
      const float* c0 = x.ptr() + static_cast<std::int64_t>(i) * per;
      for (std::int64_t j = 0; j < per; ++j) c[j] = cfg.random_start ? c0[j] + rng.uniform(-cfg.eps, cfg.eps) : c0[j];
    }
    if (cfg.random_start) project_linf(cur, x, cfg.eps);

    for (int t = 0; t <= cfg.steps; ++t) {
      if (idx.empty()) break;
      if (t == cfg.steps && !cfg.evaluate) {  // the image is the result; no forward pass on it
        for (int i : idx)
          std::copy_n(cur.ptr() + static_cast<std::int64_t>(i) * per, per, r.adv.ptr() + static_cast<std::int64_t>(i) * per);
        break;
      }
      gather(cur, idx, xa);
      ya.resize(idx.size());
      for (size_t k = 0; k < idx.size(); ++k) ya[k] = loss_labels[static_cast<size_t>(idx[k])];
      const bool last = (t == cfg.steps);
      // One forward per iterate; the backward only when another step follows.
      const Tensor* logits;
      if (last) {
        logits = &m.forward(xa);
        cross_entropy(*logits, ya, Reduction::Sum, nullptr, &losses);
      } else {
        logits = &m.loss_input_gradient(xa, ya, grad, &losses);
        r.gradient_calls += static_cast<std::int64_t>(idx.size());
      }
      const std::vector<int> preds = argmax_rows(*logits);
      keep.clear();
      for (size_t k = 0; k < idx.size(); ++k) {
        const int i = idx[k];
        const bool ok = fooled(i, preds[k]);
        // Early stop: freeze a sample at the first iterate that fools the model.
        if (last || (cfg.early_stop && ok)) {
          consider(i, xa.ptr() + static_cast<std::int64_t>(k) * per,
                   logits->ptr() + static_cast<std::int64_t>(k) * m.num_classes, preds[k], losses[k]);
          continue;
        }
        keep.push_back(static_cast<int>(k));
      }
      if (last) break;
      // Step the samples still running: x <- Proj(x + dir * step * sign(grad)).
      next.clear();
      for (int k : keep) {
        const int i = idx[static_cast<size_t>(k)];
        float* c = cur.ptr() + static_cast<std::int64_t>(i) * per;
        const float* g = grad.ptr() + static_cast<std::int64_t>(k) * per;
        const float* c0 = x.ptr() + static_cast<std::int64_t>(i) * per;
        for (std::int64_t j = 0; j < per; ++j) c[j] += dir * step * static_cast<float>((g[j] > 0.0f) - (g[j] < 0.0f));
        project_linf(c, c0, per, cfg.eps);
        next.push_back(i);
      }
      idx.swap(next);
    }
  }
  return r;
}

AttackResult fgsm(Sequential& m, const Tensor& x, const std::vector<int>& labels, const std::vector<int>& targets,
                  float eps) {
  LinfAttack cfg;
  cfg.eps = eps;
  cfg.steps = 1;
  cfg.step_size = eps;
  return linf_attack(m, x, labels, targets, cfg);
}

}  // namespace advx
