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

SeqAttackResult greedy_attack(const SeqAttackInput& in, const GreedyConfig& cfg) {
  SequenceClassifier& model = in.model;
  const Tensor& w = model.embedding_matrix();
  const int vocab = w.dim(0), e = w.dim(1);
  const bool insert = cfg.edit == SeqEdit::Insert;
  const size_t n = in.sequences.size();
  const auto cap = static_cast<size_t>(cfg.candidates);
  ADVX_REQUIRE(vocab > kFirstToken, "the model's vocabulary has no real token (only <pad> and <unk>)");

  SeqAttackResult r;
  r.adv = in.sequences;  // copies: the caller's sequences are never written
  r.edits.assign(n, 0);
  r.budget.resize(n);
  std::vector<Rng> rngs;
  rngs.reserve(n);
  std::vector<std::vector<char>> changed(n);
  for (size_t i = 0; i < n; ++i) {
    const int len = static_cast<int>(in.sequences[i].size());
    r.budget[i] = edit_budget(cfg.budget, len);
    r.adv[i].reserve(static_cast<size_t>(len + r.budget[i]));
    if (!insert) changed[i].assign(static_cast<size_t>(len), 0);
    rngs.emplace_back(mix_seed(in.seed, i));
  }
  // The neutral probe of an insertion gap: the mean embedding of the real tokens.
  std::vector<float> probe(static_cast<size_t>(e), 0.0f);
  for (int u = kFirstToken; u < vocab; ++u)
    for (int j = 0; j < e; ++j) probe[static_cast<size_t>(j)] += w.ptr()[static_cast<std::ptrdiff_t>(u) * e + j];
  for (float& x : probe) x /= static_cast<float>(vocab - kFirstToken);
  std::map<std::int32_t, std::vector<std::int32_t>> neighbours;  // substitute: per original token

  const SeqDetectorTerm* det = in.detector;
  evaluate_seq_result(model, in.goal, r, det);  // the clean predictions: a sample already at its goal is done
  std::vector<char> done(n, 0);
  for (size_t i = 0; i < n; ++i)
    done[i] = seq_goal_reached(in.goal, det, i, r.pred[i], det ? r.scores[i] : 0.0f) || r.budget[i] == 0;
  std::vector<float> after;  // detector scores of one slot's edits (det->edit_scores)

  // Workspace, reused by every step.
  const int per_sample = insert ? cfg.positions : 1;
  const size_t chunk = static_cast<size_t>(std::max(1, kMaxRows / per_sample));
  Tensor emb, demb, dz, grads, scores;
  std::vector<int> lengths, row_sample, row_slot, gaps;
  std::vector<float> values;
  Goal rows;
  rows.reject = in.goal.reject;
  std::vector<std::vector<Proposal>> best(chunk);
  for (auto& b : best) b.reserve(cap + 1);
  std::vector<TokenSeq> trial(chunk * cap);
  std::vector<const TokenSeq*> trial_ptrs;
  std::vector<int> trial_sample, trial_index;
  std::vector<TokenSeq> trial_seqs;  // the trials again, for the detector's batched score
  std::vector<float> trial_scores;
  Tokens batch;
  std::vector<int> active;

  auto set_goal_row = [&](size_t sample) {
    rows.labels.push_back(in.goal.labels[sample]);
    if (in.goal.targeted()) rows.targets.push_back(in.goal.targets[sample]);
  };

  for (;;) {
    active.clear();
    for (size_t i = 0; i < n; ++i)
      if (!done[i]) active.push_back(static_cast<int>(i));
    if (active.empty()) break;
    for (size_t c0 = 0; c0 < active.size(); c0 += chunk) {
      const size_t cn = std::min(chunk, active.size() - c0);
      // 1. Probes: one gradient per probed gap (insert) or per sequence (substitute).
      row_sample.clear(), row_slot.clear(), lengths.clear(), rows.labels.clear(), rows.targets.clear();
      int t_max = 0;
      for (size_t c = 0; c < cn; ++c) {
        const auto i = static_cast<size_t>(active[c0 + c]);
        const int len = static_cast<int>(r.adv[i].size());
        if (insert) {
          gaps.resize(static_cast<size_t>(len + 1));
          std::iota(gaps.begin(), gaps.end(), 0);
          const int take = std::min(len + 1, cfg.positions);
          if (take < len + 1)
            for (int k = 0; k < take; ++k) {  // partial Fisher-Yates
              const auto j = static_cast<size_t>(k) + rngs[i].below(static_cast<std::uint64_t>(len + 1 - k));
              std::swap(gaps[static_cast<size_t>(k)], gaps[j]);
            }
          for (int k = 0; k < take; ++k) {
            row_sample.push_back(static_cast<int>(c)), row_slot.push_back(gaps[static_cast<size_t>(k)]);
            lengths.push_back(len + 1), set_goal_row(i);
          }
          t_max = std::max(t_max, len + 1);
        } else {
          row_sample.push_back(static_cast<int>(c)), row_slot.push_back(-1), lengths.push_back(len), set_goal_row(i);
          t_max = std::max(t_max, len);
        }
      }
      const int nrows = static_cast<int>(row_sample.size());
      emb.resize({nrows, t_max, e});
      emb.fill(0.0f);
      for (int q = 0; q < nrows; ++q) {
        const TokenSeq& cur = r.adv[static_cast<size_t>(active[c0 + static_cast<size_t>(row_sample[q])])];
        float* dst = emb.ptr() + static_cast<std::ptrdiff_t>(q) * t_max * e;
        const int gap = row_slot[static_cast<size_t>(q)];
        for (int s = 0; s < lengths[static_cast<size_t>(q)]; ++s) {
          const float* src =
              s == gap ? probe.data()
                       : w.ptr() +
                             static_cast<std::ptrdiff_t>(cur[static_cast<size_t>(gap >= 0 && s > gap ? s - 1 : s)]) * e;
          std::copy(src, src + e, dst + static_cast<std::ptrdiff_t>(s) * e);
        }
      }
      in.objective.evaluate(model.logits_embedded(emb, lengths), rows, values, &dz);
      model.embedded_gradient(dz, demb);
      r.gradient_calls += nrows, r.queries += nrows;

      // 2. Proposals by the first-order gain (1).
      for (size_t c = 0; c < cn; ++c) best[c].clear();
      if (insert) {
        grads.resize({nrows, e});
        for (int q = 0; q < nrows; ++q) {
          const float* g = demb.ptr() + (static_cast<std::ptrdiff_t>(q) * t_max + row_slot[static_cast<size_t>(q)]) * e;
          std::copy(g, g + e, grads.ptr() + static_cast<std::ptrdiff_t>(q) * e);
        }
        scores.resize({nrows, vocab});
        kernels::matmul(kernels::N(grads.mat()), kernels::T(w.mat()), scores.mat());
        for (int q = 0; q < nrows; ++q) {
          const float base = dot(grads.ptr() + static_cast<std::ptrdiff_t>(q) * e, probe.data(), e);
          const float* sq = scores.ptr() + static_cast<std::ptrdiff_t>(q) * vocab;
          const auto c = static_cast<size_t>(row_sample[static_cast<size_t>(q)]);
          const int gap = row_slot[static_cast<size_t>(q)];
          const bool exact = det && det->edit_scores;  // rank by (H) of seq_attack.h, the detector exactly
          if (exact) det->edit_scores(r.adv[static_cast<size_t>(active[c0 + c])], SeqEdit::Insert, gap, after);
          for (std::int32_t u = kFirstToken; u < vocab; ++u)
            keep_best(best[c], cap,
                      {sq[u] - base - (exact ? static_cast<float>(det->penalty(after[static_cast<size_t>(u)])) : 0.0f),
                       gap, u});
        }
      } else {
        for (int q = 0; q < nrows; ++q) {
          const auto c = static_cast<size_t>(row_sample[static_cast<size_t>(q)]);
          const auto i = static_cast<size_t>(active[c0 + c]);
          const TokenSeq& orig = in.sequences[i];
          const bool exact = det && det->edit_scores;
          for (size_t s = 0; s < orig.size(); ++s) {
            if (changed[i][s]) continue;
            auto it = neighbours.find(orig[s]);
            if (it == neighbours.end())
              it = neighbours.emplace(orig[s], nearest_tokens(w, orig[s], cfg.neighbours)).first;
            const float* g = demb.ptr() + (static_cast<std::ptrdiff_t>(q) * t_max + static_cast<std::ptrdiff_t>(s)) * e;
            const float base = dot(g, w.ptr() + static_cast<std::ptrdiff_t>(orig[s]) * e, e);
            if (exact) det->edit_scores(r.adv[i], SeqEdit::Substitute, static_cast<int>(s), after);
            for (std::int32_t u : it->second)
              keep_best(best[c], cap,
                        {dot(g, w.ptr() + static_cast<std::ptrdiff_t>(u) * e, e) - base -
                             (exact ? static_cast<float>(det->penalty(after[static_cast<size_t>(u)])) : 0.0f),
                         static_cast<int>(s), u});
          }
        }
      }

      // 3. Verify the proposals by one batched forward; keep each sample's best.
      trial_ptrs.clear(), trial_sample.clear(), trial_index.clear(), rows.labels.clear(), rows.targets.clear();
      for (size_t c = 0; c < cn; ++c) {
        const auto i = static_cast<size_t>(active[c0 + c]);
        if (best[c].empty()) done[i] = 1;  // nothing left to try (every position already substituted)
        for (size_t k = 0; k < best[c].size(); ++k) {
          TokenSeq& t = trial[c * cap + k];
          t = r.adv[i];
          const Proposal& p = best[c][k];
          if (insert)
            t.insert(t.begin() + p.slot, p.token);
          else
            t[static_cast<size_t>(p.slot)] = p.token;
          trial_ptrs.push_back(&t), trial_sample.push_back(static_cast<int>(c)),
              trial_index.push_back(static_cast<int>(k));
          set_goal_row(i);
        }
      }
      if (trial_ptrs.empty()) continue;
      pack_tokens(trial_ptrs, batch);
      const Tensor& z = model.logits(batch);
      in.objective.evaluate(z, rows, values, nullptr);
      r.queries += static_cast<std::int64_t>(trial_ptrs.size());
      const std::vector<int> pred = argmax_rows(z);
      if (det) {                               // (H): the verified value less the detector's hinge, its score exact
        trial_seqs.resize(trial_ptrs.size());  // copies into kept buffers: no allocation once grown
        for (size_t q = 0; q < trial_ptrs.size(); ++q) trial_seqs[q] = *trial_ptrs[q];
        apply_detector_term(*det, trial_seqs, values, trial_scores, r.queries);
      }
      for (size_t q = 0; q < trial_ptrs.size();) {
        const auto c = static_cast<size_t>(trial_sample[q]);
        size_t pick = q;
        size_t end = q;
        for (; end < trial_ptrs.size() && static_cast<size_t>(trial_sample[end]) == c; ++end)
          if (values[end] > values[pick]) pick = end;
        const auto i = static_cast<size_t>(active[c0 + c]);
        const Proposal& p = best[c][static_cast<size_t>(trial_index[pick])];
        r.adv[i] = *trial_ptrs[pick];
        if (!insert) changed[i][static_cast<size_t>(p.slot)] = 1;
        ++r.edits[i];
        if (seq_goal_reached(in.goal, det, i, pred[pick], det ? trial_scores[pick] : 0.0f) || r.edits[i] >= r.budget[i])
          done[i] = 1;
        q = end;
      }
    }
  }
  evaluate_seq_result(model, in.goal, r, det);
  return r;
}

}  // namespace advx
