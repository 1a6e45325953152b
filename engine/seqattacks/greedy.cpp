// Gradient-guided greedy edits of token sequences: the loop of the insertion attack on API-call
// traces (Rosenberg, Shabtai, Rokach, Elovici 2018, "Generic Black-Box End-to-End Attack Against
// State of the Art API Call Based Malware Classifiers", arXiv:1707.05970, white-box variant) and of
// the word-substitution attack on SMS, both after Papernot, McDaniel, Swami, Harang 2016, "Crafting
// Adversarial Input Sequences for Recurrent Neural Networks", arXiv:1604.08275.
//
// The math. Let v(z) be the attacker's objective (engine/objective.h, larger = closer to the goal;
// cross-entropy of the true label for the untargeted attack), z the logits of the embedded sequence
// e = (W[x_1], ..., W[x_L]), W [V, E] the embedding matrix, g_s = dv/de_s (one backward). Writing
// token w at position s changes e_s from b to W[w]; to first order
//
//     v(after) - v(before) ~= g_s . (W[w] - b)                                            (1)
//
// which is what Papernot et al.'s rule estimates (they keep the word whose embedding difference has
// the sign pattern closest to sign(g_s)); (1) ranks the words by the size of the move along g_s,
// i.e. it projects e_s + eta g_s onto the nearest real token's embedding as eta grows.
//
//   substitute  b = W[x_s] (the current word); w ranges over the k nearest tokens of the ORIGINAL
//               word x_s in embedding space (Euclidean, never <pad> or <unk>), each position changed
//               at most once, so the edits are the positions that differ from the original.
//   insert      an insertion at gap p (before token p; p = L appends) has no token to start from: the
//               gradient is taken on a probe sequence with a neutral vector b = the mean embedding of
//               the real tokens (ids >= 2) placed in that gap, for `positions` gaps at a time (all of
//               them when the trace is shorter; otherwise a random subset from the sample's own Rng,
//               one batched forward + backward for all probes). Every original call stays, in order.
//
// Each step then VERIFIES the `candidates` best (position, token) proposals of (1) by one batched
// forward pass and keeps the one with the largest true objective (ties: the better first-order score),
// so a wrong linearisation costs a query, not the step. The sample stops as soon as its prediction
// reaches the goal (engine/objective.h: untargeted pred != label, targeted pred == target), or when
// its budget of edits (seq_attack.h) is spent.
//
// With a detector term (seq_attack.h, SeqDetectorTerm; the adaptive attacker of a detecting defence,
// after Carlini & Wagner 2017, arXiv:1705.07263) every value above becomes (H): the verified value
// less weight * max(0, score - threshold), the score computed exactly for the verified trials (one
// batched call), and, when the detector gives exact per-token scores (edit_scores: a transition
// model is a function of the tokens, so no gradient is needed), for every proposal before ranking.
// A detector without edit_scores (squeezing: its score takes two forward passes) only re-ranks the
// `candidates` verified trials, which the classifier's gradient proposed. A sample stops when it is
// misclassified AND unflagged, or its budget is spent; detector scorings count as queries.
//
// Deviations, stated: Rosenberg et al. insert at random positions and choose only the call from the
// gradient; here the position is chosen too (from the probed gaps), and every step is verified by
// forward passes (Papernot et al. take the linear step blindly). Both make the attack stronger per
// inserted call; their cost is in `queries`.
#include "engine/seqattacks/greedy.h"

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>

#include "engine/error.h"
#include "engine/kernels/eigen_gemm.h"
#include "engine/loss.h"
#include "engine/rng.h"

namespace advx {
namespace {

constexpr std::int32_t kFirstToken = 2;  // ids 0 (<pad>) and 1 (<unk>) are never written
constexpr int kMaxRows = 512;            // probe sequences per batched forward

struct Proposal {
  float score = 0.0f;
  int slot = 0;  // the gap (insert) or the position (substitute)
  std::int32_t token = 0;
};

// Keeps the `cap` best proposals by score, descending; an equal score stays behind the earlier one.
void keep_best(std::vector<Proposal>& best, size_t cap, const Proposal& p) {
  if (best.size() == cap && !(p.score > best.back().score)) return;
  auto it = std::upper_bound(best.begin(), best.end(), p,
                             [](const Proposal& a, const Proposal& b) { return a.score > b.score; });
  best.insert(it, p);
  if (best.size() > cap) best.pop_back();
}

float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

std::vector<std::int32_t> nearest_tokens(const Tensor& w, std::int32_t token, int k) {
  const int v = w.dim(0), e = w.dim(1);
  ADVX_REQUIRE(token >= 0 && token < v,
               "nearest_tokens: token " + std::to_string(token) + " is not in the vocabulary of " + std::to_string(v));
  std::vector<std::pair<float, std::int32_t>> d;
  d.reserve(static_cast<size_t>(v));
  const float* t = w.ptr() + static_cast<std::ptrdiff_t>(token) * e;
  for (std::int32_t u = kFirstToken; u < v; ++u) {
    if (u == token) continue;
    const float* r = w.ptr() + static_cast<std::ptrdiff_t>(u) * e;
    float s = 0.0f;
    for (int j = 0; j < e; ++j) s += (r[j] - t[j]) * (r[j] - t[j]);
    d.emplace_back(s, u);
  }
  const size_t kk = std::min(d.size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(kk), d.end());
  std::vector<std::int32_t> out(kk);
  for (size_t i = 0; i < kk; ++i) out[i] = d[i].second;
  return out;
}

namespace {

// The loop as a resumable run: each step() is one round of the loop (one edit for every running
// sample), so a UI can slice an attack across frames; the work and the result are the same as one
// uninterrupted loop.
class GreedyRun : public SeqAttackRun {
 public:
  GreedyRun(const SeqAttackInput& in, const GreedyConfig& cfg)
      : in_(in),
        cfg_(cfg),
        model_(in.model),
        w_(model_.embedding_matrix()),
        vocab_(w_.dim(0)),
        e_(w_.dim(1)),
        insert_(cfg.edit == SeqEdit::Insert),
        n_(in.sequences.size()),
        cap_(static_cast<size_t>(cfg.candidates)),
        det_(in.detector) {
    ADVX_REQUIRE(vocab_ > kFirstToken, "the model's vocabulary has no real token (only <pad> and <unk>)");
    r_.adv = in.sequences;  // copies: the caller's sequences are never written
    r_.edits.assign(n_, 0);
    r_.budget.resize(n_);
    rngs_.reserve(n_);
    changed_.resize(n_);
    for (size_t i = 0; i < n_; ++i) {
      const int len = static_cast<int>(in.sequences[i].size());
      r_.budget[i] = edit_budget(cfg.budget, len);
      r_.adv[i].reserve(static_cast<size_t>(len + r_.budget[i]));
      if (!insert_) changed_[i].assign(static_cast<size_t>(len), 0);
      rngs_.emplace_back(mix_seed(in.seed, i));
      total_budget_ += r_.budget[i];
    }
    // The neutral probe of an insertion gap: the mean embedding of the real tokens.
    probe_.assign(static_cast<size_t>(e_), 0.0f);
    for (int u = kFirstToken; u < vocab_; ++u)
      for (int j = 0; j < e_; ++j) probe_[static_cast<size_t>(j)] += w_.ptr()[static_cast<std::ptrdiff_t>(u) * e_ + j];
    for (float& x : probe_) x /= static_cast<float>(vocab_ - kFirstToken);
    evaluate_seq_result(model_, in.goal, r_, det_);  // the clean predictions: a sample already at its goal is done
    done_.assign(n_, 0);
    for (size_t i = 0; i < n_; ++i)
      done_[i] = seq_goal_reached(in.goal, det_, i, r_.pred[i], det_ ? r_.scores[i] : 0.0f) || r_.budget[i] == 0;
    const int per_sample = insert_ ? cfg.positions : 1;
    chunk_ = static_cast<size_t>(std::max(1, kMaxRows / per_sample));
    rows_.reject = in.goal.reject;
    best_.resize(chunk_);
    for (auto& b : best_) b.reserve(cap_ + 1);
    trial_.resize(chunk_ * cap_);
  }

  bool step() override {
    if (finished_) return true;
    active_.clear();
    for (size_t i = 0; i < n_; ++i)
      if (!done_[i]) active_.push_back(static_cast<int>(i));
    if (active_.empty()) {
      evaluate_seq_result(model_, in_.goal, r_, det_);
      finished_ = true;
      return true;
    }
    for (size_t c0 = 0; c0 < active_.size(); c0 += chunk_) edit_chunk(c0, std::min(chunk_, active_.size() - c0));
    return false;
  }
  bool done() const override { return finished_; }
  double progress() const override {
    if (finished_) return 1.0;
    std::int64_t spent = 0;
    for (size_t i = 0; i < n_; ++i) spent += done_[i] ? r_.budget[i] : r_.edits[i];
    return total_budget_ > 0 ? 0.99 * static_cast<double>(spent) / static_cast<double>(total_budget_) : 0.99;
  }
  const SeqAttackResult& result() const override { return r_; }

 private:
  void set_goal_row(size_t sample) {
    rows_.labels.push_back(in_.goal.labels[sample]);
    if (in_.goal.targeted()) rows_.targets.push_back(in_.goal.targets[sample]);
  }

  // One edit for each of the running samples active_[c0, c0 + cn).
  void edit_chunk(size_t c0, size_t cn);

  SeqAttackInput in_;
  GreedyConfig cfg_;
  SequenceClassifier& model_;
  const Tensor& w_;
  const int vocab_, e_;
  const bool insert_;
  const size_t n_, cap_;
  const SeqDetectorTerm* det_;
  SeqAttackResult r_;
  std::vector<Rng> rngs_;
  std::vector<std::vector<char>> changed_;
  std::vector<float> probe_;
  std::map<std::int32_t, std::vector<std::int32_t>> neighbours_;  // substitute: per original token
  std::vector<char> done_;
  std::int64_t total_budget_ = 0;
  bool finished_ = false;
  size_t chunk_ = 1;
  // Workspace, reused by every step.
  std::vector<float> after_;  // detector scores of one slot's edits (det->edit_scores)
  Tensor emb_, demb_, dz_, grads_, scores_;
  std::vector<int> lengths_, row_sample_, row_slot_, gaps_;
  std::vector<float> values_;
  Goal rows_;
  std::vector<std::vector<Proposal>> best_;
  std::vector<TokenSeq> trial_;
  std::vector<const TokenSeq*> trial_ptrs_;
  std::vector<int> trial_sample_, trial_index_;
  std::vector<TokenSeq> trial_seqs_;  // the trials again, for the detector's batched score
  std::vector<float> trial_scores_;
  Tokens batch_;
  std::vector<int> active_;
};

void GreedyRun::edit_chunk(size_t c0, size_t cn) {
  // 1. Probes: one gradient per probed gap (insert) or per sequence (substitute).
  row_sample_.clear(), row_slot_.clear(), lengths_.clear(), rows_.labels.clear(), rows_.targets.clear();
  int t_max = 0;
  for (size_t c = 0; c < cn; ++c) {
    const auto i = static_cast<size_t>(active_[c0 + c]);
    const int len = static_cast<int>(r_.adv[i].size());
    if (insert_) {
      gaps_.resize(static_cast<size_t>(len + 1));
      std::iota(gaps_.begin(), gaps_.end(), 0);
      const int take = std::min(len + 1, cfg_.positions);
      if (take < len + 1)
        for (int k = 0; k < take; ++k) {  // partial Fisher-Yates
          const auto j = static_cast<size_t>(k) + rngs_[i].below(static_cast<std::uint64_t>(len + 1 - k));
          std::swap(gaps_[static_cast<size_t>(k)], gaps_[j]);
        }
      for (int k = 0; k < take; ++k) {
        row_sample_.push_back(static_cast<int>(c)), row_slot_.push_back(gaps_[static_cast<size_t>(k)]);
        lengths_.push_back(len + 1), set_goal_row(i);
      }
      t_max = std::max(t_max, len + 1);
    } else {
      row_sample_.push_back(static_cast<int>(c)), row_slot_.push_back(-1), lengths_.push_back(len), set_goal_row(i);
      t_max = std::max(t_max, len);
    }
  }
  const int nrows = static_cast<int>(row_sample_.size());
  emb_.resize({nrows, t_max, e_});
  emb_.fill(0.0f);
  for (int q = 0; q < nrows; ++q) {
    const TokenSeq& cur = r_.adv[static_cast<size_t>(active_[c0 + static_cast<size_t>(row_sample_[q])])];
    float* dst = emb_.ptr() + static_cast<std::ptrdiff_t>(q) * t_max * e_;
    const int gap = row_slot_[static_cast<size_t>(q)];
    for (int s = 0; s < lengths_[static_cast<size_t>(q)]; ++s) {
      const float* src =
          s == gap
              ? probe_.data()
              : w_.ptr() + static_cast<std::ptrdiff_t>(cur[static_cast<size_t>(gap >= 0 && s > gap ? s - 1 : s)]) * e_;
      std::copy(src, src + e_, dst + static_cast<std::ptrdiff_t>(s) * e_);
    }
  }
  in_.objective.evaluate(model_.logits_embedded(emb_, lengths_), rows_, values_, &dz_);
  model_.embedded_gradient(dz_, demb_);
  r_.gradient_calls += nrows, r_.queries += nrows;

  // 2. Proposals by the first-order gain (1).
  for (size_t c = 0; c < cn; ++c) best_[c].clear();
  if (insert_) {
    grads_.resize({nrows, e_});
    for (int q = 0; q < nrows; ++q) {
      const float* g = demb_.ptr() + (static_cast<std::ptrdiff_t>(q) * t_max + row_slot_[static_cast<size_t>(q)]) * e_;
      std::copy(g, g + e_, grads_.ptr() + static_cast<std::ptrdiff_t>(q) * e_);
    }
    scores_.resize({nrows, vocab_});
    kernels::matmul(kernels::N(grads_.mat()), kernels::T(w_.mat()), scores_.mat());
    for (int q = 0; q < nrows; ++q) {
      const float base = dot(grads_.ptr() + static_cast<std::ptrdiff_t>(q) * e_, probe_.data(), e_);
      const float* sq = scores_.ptr() + static_cast<std::ptrdiff_t>(q) * vocab_;
      const auto c = static_cast<size_t>(row_sample_[static_cast<size_t>(q)]);
      const int gap = row_slot_[static_cast<size_t>(q)];
      const bool exact = det_ && det_->edit_scores;  // rank by (H) of seq_attack.h, the detector exactly
      if (exact) det_->edit_scores(r_.adv[static_cast<size_t>(active_[c0 + c])], SeqEdit::Insert, gap, after_);
      for (std::int32_t u = kFirstToken; u < vocab_; ++u)
        keep_best(best_[c], cap_,
                  {sq[u] - base - (exact ? static_cast<float>(det_->penalty(after_[static_cast<size_t>(u)])) : 0.0f),
                   gap, u});
    }
  } else {
    for (int q = 0; q < nrows; ++q) {
      const auto c = static_cast<size_t>(row_sample_[static_cast<size_t>(q)]);
      const auto i = static_cast<size_t>(active_[c0 + c]);
      const TokenSeq& orig = in_.sequences[i];
      const bool exact = det_ && det_->edit_scores;
      for (size_t s = 0; s < orig.size(); ++s) {
        if (changed_[i][s]) continue;
        auto it = neighbours_.find(orig[s]);
        if (it == neighbours_.end())
          it = neighbours_.emplace(orig[s], nearest_tokens(w_, orig[s], cfg_.neighbours)).first;
        const float* g = demb_.ptr() + (static_cast<std::ptrdiff_t>(q) * t_max + static_cast<std::ptrdiff_t>(s)) * e_;
        const float base = dot(g, w_.ptr() + static_cast<std::ptrdiff_t>(orig[s]) * e_, e_);
        if (exact) det_->edit_scores(r_.adv[i], SeqEdit::Substitute, static_cast<int>(s), after_);
        for (std::int32_t u : it->second)
          keep_best(best_[c], cap_,
                    {dot(g, w_.ptr() + static_cast<std::ptrdiff_t>(u) * e_, e_) - base -
                         (exact ? static_cast<float>(det_->penalty(after_[static_cast<size_t>(u)])) : 0.0f),
                     static_cast<int>(s), u});
      }
    }
  }

  // 3. Verify the proposals by one batched forward; keep each sample's best.
  trial_ptrs_.clear(), trial_sample_.clear(), trial_index_.clear(), rows_.labels.clear(), rows_.targets.clear();
  for (size_t c = 0; c < cn; ++c) {
    const auto i = static_cast<size_t>(active_[c0 + c]);
    if (best_[c].empty()) done_[i] = 1;  // nothing left to try (every position already substituted)
    for (size_t k = 0; k < best_[c].size(); ++k) {
      TokenSeq& t = trial_[c * cap_ + k];
      t = r_.adv[i];
      const Proposal& p = best_[c][k];
      if (insert_)
        t.insert(t.begin() + p.slot, p.token);
      else
        t[static_cast<size_t>(p.slot)] = p.token;
      trial_ptrs_.push_back(&t), trial_sample_.push_back(static_cast<int>(c)),
          trial_index_.push_back(static_cast<int>(k));
      set_goal_row(i);
    }
  }
  if (trial_ptrs_.empty()) return;
  pack_tokens(trial_ptrs_, batch_);
  const Tensor& z = model_.logits(batch_);
  in_.objective.evaluate(z, rows_, values_, nullptr);
  r_.queries += static_cast<std::int64_t>(trial_ptrs_.size());
  const std::vector<int> pred = argmax_rows(z);
  if (det_) {                                // (H): the verified value less the detector's hinge, its score exact
    trial_seqs_.resize(trial_ptrs_.size());  // copies into kept buffers: no allocation once grown
    for (size_t q = 0; q < trial_ptrs_.size(); ++q) trial_seqs_[q] = *trial_ptrs_[q];
    apply_detector_term(*det_, trial_seqs_, values_, trial_scores_, r_.queries);
  }
  for (size_t q = 0; q < trial_ptrs_.size();) {
    const auto c = static_cast<size_t>(trial_sample_[q]);
    size_t pick = q;
    size_t end = q;
    for (; end < trial_ptrs_.size() && static_cast<size_t>(trial_sample_[end]) == c; ++end)
      if (values_[end] > values_[pick]) pick = end;
    const auto i = static_cast<size_t>(active_[c0 + c]);
    const Proposal& p = best_[c][static_cast<size_t>(trial_index_[pick])];
    r_.adv[i] = *trial_ptrs_[pick];
    if (!insert_) changed_[i][static_cast<size_t>(p.slot)] = 1;
    ++r_.edits[i];
    if (seq_goal_reached(in_.goal, det_, i, pred[pick], det_ ? trial_scores_[pick] : 0.0f) ||
        r_.edits[i] >= r_.budget[i])
      done_[i] = 1;
    q = end;
  }
}

}  // namespace

std::unique_ptr<SeqAttackRun> start_greedy(const SeqAttackInput& in, const GreedyConfig& cfg) {
  return std::make_unique<GreedyRun>(in, cfg);
}

}  // namespace advx
