#include "engine/objective.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/error.h"
#include "engine/loss.h"

namespace advx {

bool Goal::succeeded(std::size_t i, int pred) const {
  return attack_succeeded(pred, labels[i], target(i), reject);
}

Goal Goal::slice(std::size_t begin, std::size_t count) const {
  Goal g;
  g.reject = reject;
  g.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(begin),
                  labels.begin() + static_cast<std::ptrdiff_t>(begin + count));
  if (!targets.empty())
    g.targets.assign(targets.begin() + static_cast<std::ptrdiff_t>(begin),
                     targets.begin() + static_cast<std::ptrdiff_t>(begin + count));
  return g;
}

namespace {

void check_goal(const Tensor& logits, const Goal& goal) {
  ADVX_REQUIRE(logits.rank() == 2, "objective: logits must be [N, K], got " + shape_str(logits.shape));
  const auto n = static_cast<std::size_t>(logits.dim(0));
  ADVX_REQUIRE(goal.labels.size() == n && (goal.targets.empty() || goal.targets.size() == n),
               "objective: " + std::to_string(goal.labels.size()) + " labels and " +
                   std::to_string(goal.targets.size()) + " targets for " + std::to_string(n) + " samples");
  ADVX_REQUIRE(goal.reject < logits.dim(1), "objective: reject class " + std::to_string(goal.reject) +
                                                " out of range for " + std::to_string(logits.dim(1)) + " classes");
}

// Untargeted cross-entropy with a reject class r: v = -log(p_y + p_r) = log(1 + S / (e^z_y + e^z_r))
// with S = sum_{j not in {y, r}} e^z_j, and
//   dv/dz_j = p_j                                  for j not in {y, r}
//   dv/dz_c = -e^z_c S / (sum_j e^z_j (e^z_y + e^z_r))  for c in {y, r}
// (formed from S, not as p_c - e^z_c / (e^z_y + e^z_r), which cancels to 0 on confident inputs).
void reject_cross_entropy(const Tensor& logits, const Goal& goal, std::vector<float>& value, Tensor* grad) {
  const int n = logits.dim(0), k = logits.dim(1), r = goal.reject;
  value.assign(static_cast<std::size_t>(n), 0.0f);
  if (grad) grad->resize(logits.shape);
  for (int i = 0; i < n; ++i) {
    const float* z = logits.ptr() + static_cast<std::int64_t>(i) * k;
    const int y = goal.labels[static_cast<std::size_t>(i)];
    ADVX_REQUIRE(y >= 0 && y < k,
                 "objective: class " + std::to_string(y) + " out of range [0, " + std::to_string(k) + ")");
    const double m = *std::max_element(z, z + k);
    auto e = [&](int j) { return std::exp(static_cast<double>(z[j]) - m); };
    double rest = 0.0;
    for (int j = 0; j < k; ++j)
      if (j != y && j != r) rest += e(j);
    const double held = e(y) + (r == y ? 0.0 : e(r)), sum = held + rest;
    value[static_cast<std::size_t>(i)] = static_cast<float>(std::log1p(rest / held));
    if (!grad) continue;
    float* g = grad->ptr() + static_cast<std::int64_t>(i) * k;
    for (int j = 0; j < k; ++j) g[j] = static_cast<float>(e(j) / sum);
    g[y] = static_cast<float>(-e(y) * rest / (sum * held));
    if (r != y) g[r] = static_cast<float>(-e(r) * rest / (sum * held));
  }
}

}  // namespace

// Cross-entropy through loss.cpp's cross_entropy (gradient softmax - onehot formed in double, so a
// confident prediction keeps the true class's gradient). Targeted: the negation, which is exact in
// floating point, so a targeted step is bit for bit the descent of the target's loss.
void CrossEntropyObjective::evaluate(const Tensor& logits, const Goal& goal, std::vector<float>& value,
                                     Tensor* grad) const {
  check_goal(logits, goal);
  if (goal.reject >= 0 && !goal.targeted()) {
    reject_cross_entropy(logits, goal, value, grad);
    return;
  }
  cross_entropy(logits, goal.targeted() ? goal.targets : goal.labels, Reduction::Sum, grad, &value);
  if (goal.targeted()) {
    for (float& v : value) v = -v;
    if (grad)
      for (float& g : grad->data) g = -g;
  }
}

// v = min(z_a - z_b, kappa) with (a, b) = (best other class, label) untargeted and (target, best
// other class) targeted. dv/dz: +1 at a, -1 at b, 0 elsewhere, and 0 everywhere once capped. With a
// reject class r, untargeted: a = the best class other than y and r, b = whichever of y, r is higher.
void MarginObjective::evaluate(const Tensor& logits, const Goal& goal, std::vector<float>& value, Tensor* grad) const {
  check_goal(logits, goal);
  const int n = logits.dim(0), k = logits.dim(1);
  value.assign(static_cast<std::size_t>(n), 0.0f);
  if (grad) {
    grad->resize(logits.shape);
    grad->fill(0.0f);
  }
  for (int i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    const float* z = logits.ptr() + static_cast<std::int64_t>(i) * k;
    const int c = goal.targeted() ? goal.targets[u] : goal.labels[u];
    ADVX_REQUIRE(c >= 0 && c < k,
                 "objective: class " + std::to_string(c) + " out of range [0, " + std::to_string(k) + ")");
    // Untargeted with a reject class: the reject class sides with the label.
    const int r = goal.targeted() ? -1 : goal.reject;
    int other = -1;
    for (int j = 0; j < k; ++j)
      if (j != c && j != r && (other < 0 || z[j] > z[other])) other = j;
    ADVX_REQUIRE(other >= 0, "objective: no class besides the label and the reject class");
    const int held = r >= 0 && z[r] > z[c] ? r : c;
    const int a = goal.targeted() ? c : other, b = goal.targeted() ? other : held;
    const float v = z[a] - z[b];
    value[u] = std::min(v, kappa_);
    if (grad && v < kappa_) {
      float* g = grad->ptr() + static_cast<std::int64_t>(i) * k;
      g[a] += 1.0f;
      g[b] -= 1.0f;
    }
  }
}

std::string WeightedSumObjective::name() const {
  std::string s;
  for (const auto& [w, t] : terms_) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g*", static_cast<double>(w));
    s += (s.empty() ? "" : " + ") + std::string(buf) + t->name();
  }
  return s.empty() ? "0" : s;
}

void WeightedSumObjective::evaluate(const Tensor& logits, const Goal& goal, std::vector<float>& value,
                                    Tensor* grad) const {
  check_goal(logits, goal);
  value.assign(static_cast<std::size_t>(logits.dim(0)), 0.0f);
  if (grad) {
    grad->resize(logits.shape);
    grad->fill(0.0f);
  }
  std::vector<float> v;
  Tensor g;
  for (const auto& [w, term] : terms_) {
    term->evaluate(logits, goal, v, grad ? &g : nullptr);
    for (std::size_t i = 0; i < v.size(); ++i) value[i] += w * v[i];
    if (grad)
      for (std::size_t i = 0; i < g.data.size(); ++i) grad->data[i] += w * g.data[i];
  }
}

const Objective& cross_entropy_objective() {
  static const CrossEntropyObjective ce;
  return ce;
}

}  // namespace advx
