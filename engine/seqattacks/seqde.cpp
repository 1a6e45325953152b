// seqde: the one-pixel attack's idea on token sequences, black-box. Differential evolution (Storn &
// Price 1997) over B (gap, token) pairs, B = the budget of insertions (seq_attack.h), as Su, Vargas,
// Sakurai 2019 (arXiv:1710.08864) evolve (x, y, value) pixels; the insertion-only rule of Rosenberg
// et al. 2018 (arXiv:1707.05970), whose own attack is black-box too (through a substitute model; this
// one queries the target model directly instead).
//
// A candidate is 2B numbers (g_1, w_1, ..., g_B, w_B), g in [0, L + 1), w in [2, V) (continuous);
// applied, pair b inserts token min(floor(w_b), V - 1) before original token min(floor(g_b), L)
// (L appends), pairs with the same gap in pair order, so every original token stays, in order, and
// exactly B tokens are added. DE/rand/1 as engine/attacks/pixel.cpp: child = x_r1 + F (x_r2 - x_r3),
// no crossover, clamped to the bounds, a child replaces its parent when its fitness is at least the
// parent's; fitness = the attacker's objective on the logits (forward passes only: queries, no
// gradient). Stop at the first generation in which some candidate reaches the goal (its fittest
// successful candidate is the result), or after `gens` generations (the fittest candidate).
// One batched forward per generation evaluates the whole population of every running sample
// (chunks of at most 1024 sequences). Each sample draws from its own Rng(mix_seed(seed, i)).
//
// With a detector term (seq_attack.h; Carlini & Wagner 2017, arXiv:1705.07263) the fitness is (H):
// the objective less weight * max(0, score - threshold), every child scored exactly by the detector
// (counted as queries), and a candidate reaches the goal only if the detector does not flag it.
//
// Deviations: always inserts the whole budget (the paper's pixel count is fixed too); insertion only,
// so it serves the malware traces (a substitution variant is not written).
#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/loss.h"
#include "engine/rng.h"
#include "engine/seqattacks/seq_attack.h"

namespace advx {
namespace {

constexpr size_t kMaxRows = 1024;

// The sequence a genome stands for: `orig` with the genome's B insertions.
void apply_genome(const TokenSeq& orig, const float* genome, int pairs, int vocab,
                  std::vector<std::pair<int, int>>& tmp, TokenSeq& out) {
  const int len = static_cast<int>(orig.size());
  tmp.clear();
  for (int b = 0; b < pairs; ++b) {
    const int gap = std::min(static_cast<int>(genome[2 * b]), len);
    const int tok = std::min(static_cast<int>(genome[2 * b + 1]), vocab - 1);
    tmp.emplace_back(gap, tok);
  }
  std::stable_sort(tmp.begin(), tmp.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  out.clear();
  size_t k = 0;
  for (int s = 0; s <= len; ++s) {
    for (; k < tmp.size() && tmp[k].first == s; ++k) out.push_back(tmp[k].second);
    if (s < len) out.push_back(orig[static_cast<size_t>(s)]);
  }
}

}  // namespace

SeqAttackSpec seqde_seq_attack() {
  SeqAttackSpec s;
  s.name = "seqde";
  s.title = "Differential evolution over insertions (black-box)";
  s.summary = "black-box: evolve (position, token) insertions by differential evolution, queries only";
  s.citation = "Su et al. 2019, arXiv:1710.08864; Rosenberg et al. 2018, arXiv:1707.05970";
  s.edit = SeqEdit::Insert;
  s.budget = "budget";
  s.gradient = false;
  s.detector_term = true;
  ParamSpec pop_p = int_param("de_pop", 4, 1000, 50, "candidates per sequence in each generation");
  ParamSpec gens_p = int_param("de_gens", 0, 1000, 30, "generations (0: the random start only)");
  ParamSpec mut_p = float_param("de_mutation", 0.0, 2.0, 0.5, "differential weight F in child = a + F (b - c)");
  mut_p.advanced = true;
  s.params = {seq_budget_param(), pop_p, gens_p, mut_p};
  s.run = [](const SeqAttackInput& in) {
    SequenceClassifier& model = in.model;
    const int vocab = model.vocab_size();
    const int pop = in.params.integer("de_pop"), gens = in.params.integer("de_gens");
    const auto fmut = static_cast<float>(in.params.number("de_mutation"));
    const double budget = in.params.number("budget");
    const size_t n = in.sequences.size();
    ADVX_REQUIRE(vocab > 2, "the model's vocabulary has no real token (only <pad> and <unk>)");
    SeqAttackResult r;
    r.adv = in.sequences;
    r.edits.assign(n, 0);
    r.budget.resize(n);
    for (size_t i = 0; i < n; ++i) r.budget[i] = edit_budget(budget, static_cast<int>(in.sequences[i].size()));
    const SeqDetectorTerm* det = in.detector;
    evaluate_seq_result(model, in.goal, r, det);
    std::vector<char> done(n, 0);
    for (size_t i = 0; i < n; ++i)
      done[i] = seq_goal_reached(in.goal, det, i, r.pred[i], det ? r.scores[i] : 0.0f) || r.budget[i] == 0;
    std::vector<float> scores;

    // Per sample: population and children [pop, 2B], fitness.
    std::vector<std::vector<float>> popn(n), kids(n), fit(n);
    std::vector<Rng> rngs;
    rngs.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      rngs.emplace_back(mix_seed(in.seed, i));
      if (done[i]) continue;
      const int g = 2 * r.budget[i], len = static_cast<int>(in.sequences[i].size());
      popn[i].resize(static_cast<size_t>(pop * g));
      kids[i].resize(static_cast<size_t>(pop * g));
      fit[i].assign(static_cast<size_t>(pop), -1e30f);
      for (int c = 0; c < pop; ++c)
        for (int b = 0; b < r.budget[i]; ++b) {
          kids[i][static_cast<size_t>(c * g + 2 * b)] = rngs[i].uniform(0.0f, static_cast<float>(len) + 0.999f);
          kids[i][static_cast<size_t>(c * g + 2 * b + 1)] = rngs[i].uniform(2.0f, static_cast<float>(vocab) - 0.001f);
        }
    }
    std::vector<TokenSeq> seqs;
    std::vector<const TokenSeq*> ptrs;
    std::vector<std::pair<int, int>> tmp;
    std::vector<int> row_sample;
    std::vector<float> values;
    Goal rows;
    rows.reject = in.goal.reject;
    Tokens batch;
    std::vector<int> active;
    for (int gen = 0; gen <= gens; ++gen) {
      active.clear();
      for (size_t i = 0; i < n; ++i)
        if (!done[i]) active.push_back(static_cast<int>(i));
      if (active.empty()) break;
      if (gen > 0)  // DE/rand/1 children of every running sample
        for (int ii : active) {
          const auto i = static_cast<size_t>(ii);
          const int g = 2 * r.budget[i], len = static_cast<int>(in.sequences[i].size());
          for (int c = 0; c < pop; ++c) {
            int a, b, d;
            do a = static_cast<int>(rngs[i].below(static_cast<std::uint64_t>(pop)));
            while (a == c);
            do b = static_cast<int>(rngs[i].below(static_cast<std::uint64_t>(pop)));
            while (b == c || b == a);
            do d = static_cast<int>(rngs[i].below(static_cast<std::uint64_t>(pop)));
            while (d == c || d == a || d == b);
            for (int j = 0; j < g; ++j) {
              const float hi = j % 2 == 0 ? static_cast<float>(len) + 0.999f : static_cast<float>(vocab) - 0.001f;
              const float lo = j % 2 == 0 ? 0.0f : 2.0f;
              const float v =
                  popn[i][static_cast<size_t>(a * g + j)] +
                  fmut * (popn[i][static_cast<size_t>(b * g + j)] - popn[i][static_cast<size_t>(d * g + j)]);
              kids[i][static_cast<size_t>(c * g + j)] = std::clamp(v, lo, hi);
            }
          }
        }
      // Evaluate every child of every running sample, in chunks of whole samples.
      for (size_t a0 = 0; a0 < active.size();) {
        size_t a1 = a0;
        ptrs.clear(), row_sample.clear(), rows.labels.clear(), rows.targets.clear();
        while (a1 < active.size() && (a1 == a0 || (a1 - a0 + 1) * static_cast<size_t>(pop) <= kMaxRows)) ++a1;
        seqs.resize((a1 - a0) * static_cast<size_t>(pop));  // kept sequences: apply_genome reuses their memory
        for (size_t a = a0; a < a1; ++a) {
          const auto i = static_cast<size_t>(active[a]);
          const int g = 2 * r.budget[i];
          for (int c = 0; c < pop; ++c) {
            TokenSeq& t = seqs[(a - a0) * static_cast<size_t>(pop) + static_cast<size_t>(c)];
            apply_genome(in.sequences[i], kids[i].data() + c * g, r.budget[i], vocab, tmp, t);
            ptrs.push_back(&t), row_sample.push_back(static_cast<int>(i));
            rows.labels.push_back(in.goal.labels[i]);
            if (in.goal.targeted()) rows.targets.push_back(in.goal.targets[i]);
          }
        }
        pack_tokens(ptrs, batch);
        const Tensor& z = model.logits(batch);
        in.objective.evaluate(z, rows, values, nullptr);
        const std::vector<int> pred = argmax_rows(z);
        r.queries += static_cast<std::int64_t>(ptrs.size());
        if (det) apply_detector_term(*det, seqs, values, scores, r.queries);  // fitness (H) of seq_attack.h
        for (size_t a = a0; a < a1; ++a) {
          const auto i = static_cast<size_t>(active[a]);
          const int g = 2 * r.budget[i];
          int best_ok = -1;
          for (int c = 0; c < pop; ++c) {
            const size_t q = (a - a0) * static_cast<size_t>(pop) + static_cast<size_t>(c);
            if (seq_goal_reached(in.goal, det, i, pred[q], det ? scores[q] : 0.0f) &&
                (best_ok < 0 || values[q] > values[(a - a0) * static_cast<size_t>(pop) + static_cast<size_t>(best_ok)]))
              best_ok = c;
            if (values[q] >= fit[i][static_cast<size_t>(c)]) {
              fit[i][static_cast<size_t>(c)] = values[q];
              std::copy(kids[i].begin() + c * g, kids[i].begin() + (c + 1) * g, popn[i].begin() + c * g);
            }
          }
          if (best_ok >= 0) {
            r.adv[i] = seqs[(a - a0) * static_cast<size_t>(pop) + static_cast<size_t>(best_ok)];
            r.edits[i] = r.budget[i];
            done[i] = 1;
          }
        }
        a0 = a1;
      }
    }
    // Samples that never reached the goal: their fittest candidate.
    for (size_t i = 0; i < n; ++i) {
      if (r.edits[i] > 0 || popn[i].empty()) continue;
      const auto best = static_cast<int>(std::max_element(fit[i].begin(), fit[i].end()) - fit[i].begin());
      apply_genome(in.sequences[i], popn[i].data() + best * 2 * r.budget[i], r.budget[i], vocab, tmp, r.adv[i]);
      r.edits[i] = r.budget[i];
    }
    evaluate_seq_result(model, in.goal, r, det);
    return r;
  };
  return s;
}

}  // namespace advx
