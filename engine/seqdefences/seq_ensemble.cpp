// SequenceEnsemble (seq_ensemble.h).
#include "engine/seqdefences/seq_ensemble.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace advx {

SequenceEnsemble::SequenceEnsemble(std::vector<SequenceClassifier*> members, Vote vote,
                                   std::vector<std::unique_ptr<SequenceClassifier>> keep)
    : members_(std::move(members)), keep_(std::move(keep)), vote_(vote) {
  ADVX_REQUIRE(!members_.empty(), "an ensemble needs at least one member");
  const int v = members_[0]->vocab_size();
  k_ = members_[0]->classes();
  e_ = members_[0]->embedding_dim();
  for (size_t m = 0; m < members_.size(); ++m) {
    ADVX_REQUIRE(members_[m], "ensemble member " + std::to_string(m) + " is null");
    ADVX_REQUIRE(members_[m]->vocab_size() == v && members_[m]->classes() == k_ && members_[m]->embedding_dim() == e_,
                 "ensemble member " + std::to_string(m) + " (" + members_[m]->name() + ") has vocabulary " +
                     std::to_string(members_[m]->vocab_size()) + ", " + std::to_string(members_[m]->classes()) +
                     " classes, embedding " + std::to_string(members_[m]->embedding_dim()) + "; member 0 has " +
                     std::to_string(v) + ", " + std::to_string(k_) + ", " + std::to_string(e_) +
                     ": use members trained on the same split and recipe");
  }
  const int mm = size();
  w_ = Tensor({v, mm * e_});
  for (int m = 0; m < mm; ++m) {
    const Tensor& wm = members_[static_cast<size_t>(m)]->embedding_matrix();
    for (int t = 0; t < v; ++t)
      std::copy(wm.ptr() + static_cast<std::ptrdiff_t>(t) * e_, wm.ptr() + static_cast<std::ptrdiff_t>(t + 1) * e_,
                w_.ptr() + static_cast<std::ptrdiff_t>(t) * mm * e_ + static_cast<std::ptrdiff_t>(m) * e_);
  }
  probs_.resize(members_.size());
}

std::string SequenceEnsemble::name() const {
  std::string s = std::string(vote_ == Vote::Soft ? "soft" : "hard") + " ensemble(";
  for (size_t m = 0; m < members_.size(); ++m) s += (m ? ", " : "") + members_[m]->name();
  return s + ")";
}

GradientKind SequenceEnsemble::gradient_kind() const {
  GradientKind g = vote_ == Vote::Soft ? GradientKind::Exact : GradientKind::StraightThrough;
  for (const SequenceClassifier* m : members_) g = advx::combine(g, m->gradient_kind());
  return g;
}

double SequenceEnsemble::macs_per_token() const {
  double s = 0.0;
  for (const SequenceClassifier* m : members_) s += m->macs_per_token();
  return s;
}

const Tensor& SequenceEnsemble::logits(const Tokens& tokens) {
  for (size_t m = 0; m < members_.size(); ++m) {
    const Tensor& z = members_[m]->logits(tokens);
    std::vector<float>& p = probs_[m];
    const int n = z.dim(0);
    p.resize(static_cast<size_t>(n * k_));
    for (int i = 0; i < n; ++i) {
      const float* r = z.ptr() + static_cast<std::ptrdiff_t>(i) * k_;
      const float mx = *std::max_element(r, r + k_);
      double s = 0.0;
      for (int j = 0; j < k_; ++j) s += std::exp(static_cast<double>(r[j] - mx));
      for (int j = 0; j < k_; ++j)
        p[static_cast<size_t>(i * k_ + j)] = static_cast<float>(std::exp(static_cast<double>(r[j] - mx)) / s);
    }
  }
  return vote_logits();
}

const Tensor& SequenceEnsemble::logits_embedded(const Tensor& embedded, const std::vector<int>& lengths) {
  const int mm = size();
  ADVX_REQUIRE(embedded.rank() == 3 && embedded.dim(2) == mm * e_,
               "ensemble: embedded input has shape " + shape_str(embedded.shape) + ", expected [N, T, " +
                   std::to_string(mm * e_) + "] (the members' embeddings side by side)");
  const int n = embedded.dim(0), t = embedded.dim(1);
  for (int m = 0; m < mm; ++m) {
    slice_ = Tensor({n, t, e_});
    for (int r = 0; r < n * t; ++r)
      std::copy(embedded.ptr() + static_cast<std::ptrdiff_t>(r) * mm * e_ + static_cast<std::ptrdiff_t>(m) * e_,
                embedded.ptr() + static_cast<std::ptrdiff_t>(r) * mm * e_ + static_cast<std::ptrdiff_t>(m + 1) * e_,
                slice_.ptr() + static_cast<std::ptrdiff_t>(r) * e_);
    const Tensor& z = members_[static_cast<size_t>(m)]->logits_embedded(slice_, lengths);
    std::vector<float>& p = probs_[static_cast<size_t>(m)];
    p.resize(static_cast<size_t>(n * k_));
    for (int i = 0; i < n; ++i) {
      const float* row = z.ptr() + static_cast<std::ptrdiff_t>(i) * k_;
      const float mx = *std::max_element(row, row + k_);
      double s = 0.0;
      for (int j = 0; j < k_; ++j) s += std::exp(static_cast<double>(row[j] - mx));
      for (int j = 0; j < k_; ++j)
        p[static_cast<size_t>(i * k_ + j)] = static_cast<float>(std::exp(static_cast<double>(row[j] - mx)) / s);
    }
  }
  return vote_logits();
}

const Tensor& SequenceEnsemble::vote_logits() {
  const int n = static_cast<int>(probs_[0].size()) / k_;
  const double inv = 1.0 / size();
  mean_.assign(static_cast<size_t>(n * k_), 0.0f);
  for (const std::vector<float>& p : probs_)
    for (size_t j = 0; j < mean_.size(); ++j) mean_[j] += static_cast<float>(p[j] * inv);
  z_ = Tensor({n, k_});
  if (vote_ == Vote::Soft) {
    for (size_t j = 0; j < mean_.size(); ++j) z_.data[j] = std::log(std::max(mean_[j], 1e-30f));
    return z_;
  }
  for (const std::vector<float>& p : probs_)
    for (int i = 0; i < n; ++i) {
      const float* r = p.data() + static_cast<std::ptrdiff_t>(i) * k_;
      z_.data[static_cast<size_t>(i * k_ + (std::max_element(r, r + k_) - r))] += static_cast<float>(inv);
    }
  for (size_t j = 0; j < mean_.size(); ++j) z_.data[j] += 1e-3f * mean_[j];
  return z_;
}

void SequenceEnsemble::embedded_gradient(const Tensor& dlogits, Tensor& d_embedded) {
  const int n = z_.dim(0), mm = size();
  ADVX_REQUIRE(dlogits.rank() == 2 && dlogits.dim(0) == n && dlogits.dim(1) == k_,
               "ensemble: dlogits has shape " + shape_str(dlogits.shape) + ", expected [" + std::to_string(n) + ", " +
                   std::to_string(k_) + "] (the last forward's)");
  bool first = true;
  for (int m = 0; m < mm; ++m) {
    const std::vector<float>& p = probs_[static_cast<size_t>(m)];
    dz_m_ = Tensor({n, k_});
    for (int i = 0; i < n; ++i) {
      // u = dL/dp̄ = g / p̄ (soft vote; the hard vote's surrogate); dz_m = (1/M) p_m ⊙ (u - <p_m, u>).
      double dot = 0.0;
      std::vector<double> u(static_cast<size_t>(k_));
      for (int j = 0; j < k_; ++j) {
        const size_t ij = static_cast<size_t>(i * k_ + j);
        u[static_cast<size_t>(j)] = dlogits.data[ij] / std::max(static_cast<double>(mean_[ij]), 1e-30);
        dot += p[ij] * u[static_cast<size_t>(j)];
      }
      for (int j = 0; j < k_; ++j) {
        const size_t ij = static_cast<size_t>(i * k_ + j);
        dz_m_.data[ij] = static_cast<float>(p[ij] * (u[static_cast<size_t>(j)] - dot) / mm);
      }
    }
    members_[static_cast<size_t>(m)]->embedded_gradient(dz_m_, de_m_);
    const int t = de_m_.dim(1);
    if (first) d_embedded = Tensor({n, t, mm * e_}), first = false;
    for (int r = 0; r < n * t; ++r)
      std::copy(de_m_.ptr() + static_cast<std::ptrdiff_t>(r) * e_,
                de_m_.ptr() + static_cast<std::ptrdiff_t>(r + 1) * e_,
                d_embedded.ptr() + static_cast<std::ptrdiff_t>(r) * mm * e_ + static_cast<std::ptrdiff_t>(m) * e_);
  }
}

std::vector<std::vector<int>> SequenceEnsemble::member_votes() const {
  std::vector<std::vector<int>> out;
  for (const std::vector<float>& p : probs_) {
    std::vector<int> v;
    for (size_t i = 0; i + static_cast<size_t>(k_) <= p.size(); i += static_cast<size_t>(k_))
      v.push_back(static_cast<int>(std::max_element(p.begin() + static_cast<std::ptrdiff_t>(i),
                                                    p.begin() + static_cast<std::ptrdiff_t>(i) + k_) -
                                   p.begin() - static_cast<std::ptrdiff_t>(i)));
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace advx
