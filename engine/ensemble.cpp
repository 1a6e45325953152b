#include "engine/ensemble.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/error.h"

namespace advx {
namespace {
constexpr int kMaxClasses = 1024;  // the backward's per-row scratch lives on the stack
}  // namespace

const char* vote_name(Vote v) {
  return v == Vote::Hard ? "hard" : "soft";
}

Ensemble::Ensemble(std::vector<Classifier*> members, Vote vote, bool surrogate, std::vector<std::string> names)
    : members_(std::move(members)) {
  init(vote, surrogate, std::move(names));
}

std::unique_ptr<Ensemble> Ensemble::owning(std::vector<std::unique_ptr<Classifier>> members, Vote vote, bool surrogate,
                                           std::vector<std::string> names) {
  std::vector<Classifier*> raw;
  for (auto& m : members) raw.push_back(m.get());
  auto e = std::make_unique<Ensemble>(raw, vote, surrogate, std::move(names));
  e->owned_ = std::move(members);
  return e;
}

void Ensemble::init(Vote vote, bool surrogate, std::vector<std::string> names) {
  vote_ = vote, surrogate_ = surrogate;
  ADVX_REQUIRE(!members_.empty(), "an ensemble needs at least one member");
  std::set<const Classifier*> seen;
  for (size_t i = 0; i < members_.size(); ++i) {
    ADVX_REQUIRE(members_[i], "ensemble member " + std::to_string(i) + " is null");
    ADVX_REQUIRE(seen.insert(members_[i]).second, "ensemble member " + std::to_string(i) +
                                                      " is the same object as another: each member keeps its own "
                                                      "forward state, so give distinct models");
    ADVX_REQUIRE(members_[i]->input_shape() == members_[0]->input_shape() &&
                     members_[i]->num_classes() == members_[0]->num_classes(),
                 "ensemble member " + std::to_string(i) + " ('" + members_[i]->name() + "') reads " +
                     shape_str(members_[i]->input_shape()) + " with " + std::to_string(members_[i]->num_classes()) +
                     " classes, member 0 ('" + members_[0]->name() + "') " + shape_str(members_[0]->input_shape()) +
                     " with " + std::to_string(members_[0]->num_classes()) + ": members must share the task");
  }
  ADVX_REQUIRE(members_[0]->num_classes() <= kMaxClasses, "an ensemble takes at most 1024 classes");
  ADVX_REQUIRE(
      names.empty() || names.size() == members_.size(),
      "ensemble: " + std::to_string(names.size()) + " names for " + std::to_string(members_.size()) + " members");
  names_ = std::move(names);
  if (names_.empty())
    for (size_t i = 0; i < members_.size(); ++i) names_.push_back(members_[i]->name() + " #" + std::to_string(i));
  logp_.resize(members_.size());
  probs_.resize(members_.size());
  preds_.resize(members_.size());
}

std::string Ensemble::name() const {
  std::string s = std::string("ensemble(") + vote_name(vote_) + ":";
  for (size_t i = 0; i < names_.size(); ++i) s += (i ? ", " : " ") + names_[i];
  return s + ")";
}

GradientKind Ensemble::gradient_kind() const {
  GradientKind k = GradientKind::Exact;
  for (const Classifier* m : members_) k = combine(k, m->gradient_kind());
  return vote_ == Vote::Hard && surrogate_ ? combine(k, GradientKind::StraightThrough) : k;
}

Tensor Ensemble::probabilities(const Tensor& x) {
  if (vote_ == Vote::Soft) return Classifier::probabilities(x);  // softmax(log p̄) = p̄
  Tensor p = logits(x);
  const float total = static_cast<float>(members_.size()) + 0.5f;
  for (float& v : p.data) v /= total;
  return p;
}

const Tensor& Ensemble::logits(const Tensor& x) {
  check_input(*this, x, false);
  const int n = x.dim(0), kc = num_classes();
  const double inv_n = 1.0 / static_cast<double>(members_.size());
  mean_.resize({n, kc});
  mean_.fill(0.0f);
  for (size_t i = 0; i < members_.size(); ++i) {
    const Tensor& z = members_[i]->logits(x);
    ADVX_REQUIRE(z.shape == (Shape{n, kc}),
                 "ensemble member '" + names_[i] + "' returned logits " + shape_str(z.shape));
    logp_[i].resize({n, kc});
    probs_[i].resize({n, kc});
    preds_[i].resize(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) {
      const float* zr = z.ptr() + static_cast<std::int64_t>(r) * kc;
      float* lr = logp_[i].ptr() + static_cast<std::int64_t>(r) * kc;
      float* pr = probs_[i].ptr() + static_cast<std::int64_t>(r) * kc;
      int best = 0;
      double mx = zr[0];
      for (int k = 1; k < kc; ++k)
        if (zr[k] > zr[best]) best = k, mx = zr[k];
      double sum = 0.0;
      for (int k = 0; k < kc; ++k) sum += std::exp(static_cast<double>(zr[k]) - mx);
      const double lse = mx + std::log(sum);
      for (int k = 0; k < kc; ++k) {
        lr[k] = static_cast<float>(zr[k] - lse);
        pr[k] = static_cast<float>(std::exp(zr[k] - lse));
        mean_.data[static_cast<size_t>(r * kc + k)] += static_cast<float>(pr[k] * inv_n);
      }
      preds_[i][static_cast<size_t>(r)] = best;
    }
  }
  // log p̄_k = logsumexp_i(log p_ik) - log N, in double: exact where p̄_k underflows in float.
  logmean_.resize({n, kc});
  for (int r = 0; r < n; ++r)
    for (int k = 0; k < kc; ++k) {
      double mx = -INFINITY;
      for (size_t i = 0; i < members_.size(); ++i)
        mx = std::max(mx, static_cast<double>(logp_[i].data[static_cast<size_t>(r * kc + k)]));
      double sum = 0.0;
      for (size_t i = 0; i < members_.size(); ++i)
        sum += std::exp(static_cast<double>(logp_[i].data[static_cast<size_t>(r * kc + k)]) - mx);
      logmean_.data[static_cast<size_t>(r * kc + k)] = static_cast<float>(mx + std::log(sum * inv_n));
    }
  if (vote_ == Vote::Soft) {
    out_ = logmean_;
  } else {
    out_.resize({n, kc});
    for (int r = 0; r < n; ++r)
      for (int k = 0; k < kc; ++k)
        out_.data[static_cast<size_t>(r * kc + k)] = 0.5f * mean_.data[static_cast<size_t>(r * kc + k)];
    for (size_t i = 0; i < members_.size(); ++i)
      for (int r = 0; r < n; ++r) out_.data[static_cast<size_t>(r * kc + preds_[i][static_cast<size_t>(r)])] += 1.0f;
  }
  have_forward_ = true;
  return out_;
}

void Ensemble::input_gradient(const Tensor& dlogits, Tensor& dx) {
  ADVX_REQUIRE(have_forward_, "ensemble: input_gradient called before logits");
  ADVX_REQUIRE(dlogits.shape == out_.shape, "ensemble backward: gradient shape " + shape_str(dlogits.shape) +
                                                " != logits shape " + shape_str(out_.shape));
  const int n = out_.dim(0), kc = out_.dim(1);
  const double inv_n = 1.0 / static_cast<double>(members_.size());
  const bool soft_backward = vote_ == Vote::Soft || surrogate_;
  dz_.resize(out_.shape);
  for (size_t i = 0; i < members_.size(); ++i) {
    for (int r = 0; r < n; ++r) {
      const float* g = dlogits.ptr() + static_cast<std::int64_t>(r) * kc;
      const float* p = probs_[i].ptr() + static_cast<std::int64_t>(r) * kc;
      float* d = dz_.ptr() + static_cast<std::int64_t>(r) * kc;
      if (soft_backward) {
        // dL/dz_ij = g_j r_ij - p_ij sum_k g_k r_ik, r_ik = p_ik / (N p̄_k) = exp(log p_ik - log N - log p̄_k)
        const float* lp = logp_[i].ptr() + static_cast<std::int64_t>(r) * kc;
        const float* lm = logmean_.ptr() + static_cast<std::int64_t>(r) * kc;
        double s = 0.0;
        double resp[kMaxClasses];
        for (int k = 0; k < kc; ++k) {
          resp[k] = std::min(1.0, std::exp(static_cast<double>(lp[k]) - static_cast<double>(lm[k])) * inv_n);
          s += static_cast<double>(g[k]) * resp[k];
        }
        for (int j = 0; j < kc; ++j) d[j] = static_cast<float>(g[j] * resp[j] - p[j] * s);
      } else {
        // The true gradient of p̄_k / 2: dL/dz_ij = (1 / 2N) (g_j p_ij - p_ij sum_k g_k p_ik)
        double s = 0.0;
        for (int k = 0; k < kc; ++k) s += static_cast<double>(g[k]) * p[k];
        for (int j = 0; j < kc; ++j) d[j] = static_cast<float>(0.5 * inv_n * (g[j] * p[j] - p[j] * s));
      }
    }
    if (i == 0) {
      members_[i]->input_gradient(dz_, dx);
    } else {
      members_[i]->input_gradient(dz_, dxi_);
      for (size_t t = 0; t < dx.data.size(); ++t) dx.data[t] += dxi_.data[t];
    }
  }
}

}  // namespace advx
