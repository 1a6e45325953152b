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
#include <memory>

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

// The evolution as a resumable run: each step() is one generation (generation 0: the random
// start) for every running sample, then a last step that finishes.
class SeqDeRun : public SeqAttackRun {
 public:
  explicit SeqDeRun(const SeqAttackInput& in)
      : in_(in),
        model_(in.model),
        vocab_(model_.vocab_size()),
        pop_(in.params.integer("de_pop")),
        gens_(in.params.integer("de_gens")),
        fmut_(static_cast<float>(in.params.number("de_mutation"))),
        n_(in.sequences.size()),
        det_(in.detector) {
    const double budget = in.params.number("budget");
    ADVX_REQUIRE(vocab_ > 2, "the model's vocabulary has no real token (only <pad> and <unk>)");
    r_.adv = in.sequences;
    r_.edits.assign(n_, 0);
    r_.budget.resize(n_);
    for (size_t i = 0; i < n_; ++i) r_.budget[i] = edit_budget(budget, static_cast<int>(in.sequences[i].size()));
    evaluate_seq_result(model_, in.goal, r_, det_);
    done_.assign(n_, 0);
    for (size_t i = 0; i < n_; ++i)
      done_[i] = seq_goal_reached(in.goal, det_, i, r_.pred[i], det_ ? r_.scores[i] : 0.0f) || r_.budget[i] == 0;
    // Per sample: population and children [pop, 2B], fitness.
    popn_.resize(n_), kids_.resize(n_), fit_.resize(n_);
    rngs_.reserve(n_);
    for (size_t i = 0; i < n_; ++i) {
      rngs_.emplace_back(mix_seed(in.seed, i));
      if (done_[i]) continue;
      const int g = 2 * r_.budget[i], len = static_cast<int>(in.sequences[i].size());
      popn_[i].resize(static_cast<size_t>(pop_ * g));
      kids_[i].resize(static_cast<size_t>(pop_ * g));
      fit_[i].assign(static_cast<size_t>(pop_), -1e30f);
      for (int c = 0; c < pop_; ++c)
        for (int b = 0; b < r_.budget[i]; ++b) {
          kids_[i][static_cast<size_t>(c * g + 2 * b)] = rngs_[i].uniform(0.0f, static_cast<float>(len) + 0.999f);
          kids_[i][static_cast<size_t>(c * g + 2 * b + 1)] =
              rngs_[i].uniform(2.0f, static_cast<float>(vocab_) - 0.001f);
        }
    }
    rows_.reject = in.goal.reject;
  }

  bool step() override {
    if (finished_) return true;
    active_.clear();
    for (size_t i = 0; i < n_; ++i)
      if (!done_[i]) active_.push_back(static_cast<int>(i));
    if (gen_ > gens_ || active_.empty()) {
      finish();
      return true;
    }
    if (gen_ > 0) breed();
    for (size_t a0 = 0; a0 < active_.size();) a0 = evaluate_chunk(a0);
    ++gen_;
    return false;
  }
  bool done() const override { return finished_; }
  double progress() const override {
    return finished_ ? 1.0 : 0.99 * static_cast<double>(gen_) / static_cast<double>(gens_ + 1);
  }
  const SeqAttackResult& result() const override { return r_; }

 private:
  void breed();                      // DE/rand/1 children of every running sample
  size_t evaluate_chunk(size_t a0);  // evaluates whole samples from active_[a0]; returns the next a0
  void finish();                     // the fittest candidate of samples that never reached the goal

  SeqAttackInput in_;
  SequenceClassifier& model_;
  const int vocab_, pop_, gens_;
  const float fmut_;
  const size_t n_;
  const SeqDetectorTerm* det_;
  SeqAttackResult r_;
  std::vector<char> done_;
  std::vector<std::vector<float>> popn_, kids_, fit_;
  std::vector<Rng> rngs_;
  int gen_ = 0;
  bool finished_ = false;
  // Workspace, reused by every generation.
  std::vector<float> scores_;
  std::vector<TokenSeq> seqs_;
  std::vector<const TokenSeq*> ptrs_;
  std::vector<std::pair<int, int>> tmp_;
  std::vector<float> values_;
  Goal rows_;
  Tokens batch_;
  std::vector<int> active_;
};

void SeqDeRun::breed() {
  for (int ii : active_) {
    const auto i = static_cast<size_t>(ii);
    const int g = 2 * r_.budget[i], len = static_cast<int>(in_.sequences[i].size());
    for (int c = 0; c < pop_; ++c) {
      int a, b, d;
      do a = static_cast<int>(rngs_[i].below(static_cast<std::uint64_t>(pop_)));
      while (a == c);
      do b = static_cast<int>(rngs_[i].below(static_cast<std::uint64_t>(pop_)));
      while (b == c || b == a);
      do d = static_cast<int>(rngs_[i].below(static_cast<std::uint64_t>(pop_)));
      while (d == c || d == a || d == b);
      for (int j = 0; j < g; ++j) {
        const float hi = j % 2 == 0 ? static_cast<float>(len) + 0.999f : static_cast<float>(vocab_) - 0.001f;
        const float lo = j % 2 == 0 ? 0.0f : 2.0f;
        const float v = popn_[i][static_cast<size_t>(a * g + j)] +
                        fmut_ * (popn_[i][static_cast<size_t>(b * g + j)] - popn_[i][static_cast<size_t>(d * g + j)]);
        kids_[i][static_cast<size_t>(c * g + j)] = std::clamp(v, lo, hi);
      }
    }
  }
}

size_t SeqDeRun::evaluate_chunk(size_t a0) {
  const auto pop = static_cast<size_t>(pop_);
  size_t a1 = a0;
  ptrs_.clear(), rows_.labels.clear(), rows_.targets.clear();
  while (a1 < active_.size() && (a1 == a0 || (a1 - a0 + 1) * pop <= kMaxRows)) ++a1;
  seqs_.resize((a1 - a0) * pop);  // kept sequences: apply_genome reuses their memory
  for (size_t a = a0; a < a1; ++a) {
    const auto i = static_cast<size_t>(active_[a]);
    const int g = 2 * r_.budget[i];
    for (int c = 0; c < pop_; ++c) {
      TokenSeq& t = seqs_[(a - a0) * pop + static_cast<size_t>(c)];
      apply_genome(in_.sequences[i], kids_[i].data() + c * g, r_.budget[i], vocab_, tmp_, t);
      ptrs_.push_back(&t);
      rows_.labels.push_back(in_.goal.labels[i]);
      if (in_.goal.targeted()) rows_.targets.push_back(in_.goal.targets[i]);
    }
  }
  pack_tokens(ptrs_, batch_);
  const Tensor& z = model_.logits(batch_);
  in_.objective.evaluate(z, rows_, values_, nullptr);
  const std::vector<int> pred = argmax_rows(z);
  r_.queries += static_cast<std::int64_t>(ptrs_.size());
  if (det_) apply_detector_term(*det_, seqs_, values_, scores_, r_.queries);  // fitness (H) of seq_attack.h
  for (size_t a = a0; a < a1; ++a) {
    const auto i = static_cast<size_t>(active_[a]);
    const int g = 2 * r_.budget[i];
    int best_ok = -1;
    for (int c = 0; c < pop_; ++c) {
      const size_t q = (a - a0) * pop + static_cast<size_t>(c);
      if (seq_goal_reached(in_.goal, det_, i, pred[q], det_ ? scores_[q] : 0.0f) &&
          (best_ok < 0 || values_[q] > values_[(a - a0) * pop + static_cast<size_t>(best_ok)]))
        best_ok = c;
      if (values_[q] >= fit_[i][static_cast<size_t>(c)]) {
        fit_[i][static_cast<size_t>(c)] = values_[q];
        std::copy(kids_[i].begin() + c * g, kids_[i].begin() + (c + 1) * g, popn_[i].begin() + c * g);
      }
    }
    if (best_ok >= 0) {
      r_.adv[i] = seqs_[(a - a0) * pop + static_cast<size_t>(best_ok)];
      r_.edits[i] = r_.budget[i];
      done_[i] = 1;
    }
  }
  return a1;
}

void SeqDeRun::finish() {
  for (size_t i = 0; i < n_; ++i) {
    if (r_.edits[i] > 0 || popn_[i].empty()) continue;
    const auto best = static_cast<int>(std::max_element(fit_[i].begin(), fit_[i].end()) - fit_[i].begin());
    apply_genome(in_.sequences[i], popn_[i].data() + best * 2 * r_.budget[i], r_.budget[i], vocab_, tmp_, r_.adv[i]);
    r_.edits[i] = r_.budget[i];
  }
  evaluate_seq_result(model_, in_.goal, r_, det_);
  finished_ = true;
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
  s.start = [](const SeqAttackInput& in) { return std::make_unique<SeqDeRun>(in); };
  return s;
}

}  // namespace advx
