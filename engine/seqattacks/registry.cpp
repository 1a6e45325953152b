// The sequence attack registry (seq_attack.h): the list, input checks, the shared helpers.
#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/loss.h"
#include "engine/seqattacks/seq_attack.h"

namespace advx {

#define ADVX_SEQ_ATTACK(name) SeqAttackSpec name##_seq_attack();
#include "engine/seqattacks/list.inc"
#undef ADVX_SEQ_ATTACK

const char* seq_edit_name(SeqEdit e) {
  return e == SeqEdit::Insert ? "insert" : "substitute";
}

const char* seq_edited_name(SeqEdit e) {
  return e == SeqEdit::Insert ? "inserted" : "substituted";
}

const std::vector<SeqAttackSpec>& seq_attacks() {
#define ADVX_SEQ_ATTACK(name) name##_seq_attack(),
  static const std::vector<SeqAttackSpec> all = {
#include "engine/seqattacks/list.inc"
  };
#undef ADVX_SEQ_ATTACK
  return all;
}

const SeqAttackSpec* find_seq_attack(const std::string& name) {
  for (const SeqAttackSpec& a : seq_attacks())
    if (a.name == name) return &a;
  return nullptr;
}

std::string seq_attack_names(const std::string& sep) {
  std::string out;
  for (const SeqAttackSpec& a : seq_attacks()) out += (out.empty() ? "" : sep) + a.name;
  return out;
}

ParamSpec seq_budget_param() {
  ParamSpec s = float_param("budget", 0.0, 1.0, 0.1,
                            "edits allowed, as a share F of each sequence's length (at most ceil(F * length))");
  s.required = true;
  s.ui_max = 0.5;
  return s;
}

int edit_budget(double fraction, int length) {
  return static_cast<int>(std::ceil(fraction * static_cast<double>(length) - 1e-9));
}

void pack_tokens(const std::vector<const TokenSeq*>& seqs, Tokens& out) {
  out.n = static_cast<int>(seqs.size());
  out.t = 1;
  for (const TokenSeq* s : seqs) out.t = std::max(out.t, static_cast<int>(s->size()));
  out.ids.assign(static_cast<size_t>(out.n) * static_cast<size_t>(out.t), 0);
  out.lengths.resize(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    std::copy(seqs[i]->begin(), seqs[i]->end(),
              out.ids.begin() + static_cast<std::ptrdiff_t>(i * static_cast<size_t>(out.t)));
    out.lengths[i] = static_cast<int>(seqs[i]->size());
  }
}

void evaluate_seq_result(SequenceClassifier& model, const Goal& goal, SeqAttackResult& r,
                         const SeqDetectorTerm* detector) {
  constexpr size_t kBatch = 256;
  const size_t n = r.adv.size();
  r.pred.assign(n, -1);
  r.success.assign(n, 0);
  std::vector<const TokenSeq*> ptrs;
  Tokens batch;
  for (size_t b = 0; b < n; b += kBatch) {
    ptrs.clear();
    for (size_t i = b; i < std::min(n, b + kBatch); ++i) ptrs.push_back(&r.adv[i]);
    pack_tokens(ptrs, batch);
    const std::vector<int> pred = argmax_rows(model.logits(batch));
    for (size_t k = 0; k < pred.size(); ++k) {
      r.pred[b + k] = pred[k];
      r.success[b + k] = goal.succeeded(b + k, pred[k]);
    }
  }
  r.queries += static_cast<std::int64_t>(n);
  if (detector) r.scores = detector->score(r.adv);
}

bool seq_goal_reached(const Goal& goal, const SeqDetectorTerm* detector, std::size_t i, int pred, float score) {
  return goal.succeeded(i, pred) && !(detector && detector->flags(score));
}

void apply_detector_term(const SeqDetectorTerm& detector, const std::vector<TokenSeq>& seqs, std::vector<float>& values,
                         std::vector<float>& scores, std::int64_t& queries) {
  scores = detector.score(seqs);
  ADVX_REQUIRE(
      scores.size() == seqs.size() && values.size() >= seqs.size(),
      "detector term: " + std::to_string(scores.size()) + " scores for " + std::to_string(seqs.size()) + " sequences");
  queries += static_cast<std::int64_t>(seqs.size());
  for (size_t q = 0; q < seqs.size(); ++q) values[q] -= static_cast<float>(detector.penalty(scores[q]));
}

std::unique_ptr<SeqAttackRun> start_seq_attack(const SeqAttackSpec& spec, const SeqAttackInput& in) {
  check_values(spec.params, in.params, "");
  for (const ParamSpec& p : spec.params)
    ADVX_REQUIRE(in.params.has(p.key), "attack '" + spec.name + "' needs parameter '" + p.key + "' (" + p.help + ")");
  const int vocab = in.model.vocab_size(), k = in.model.classes();
  const size_t n = in.sequences.size();
  for (size_t i = 0; i < n; ++i) {
    const TokenSeq& s = in.sequences[i];
    ADVX_REQUIRE(!s.empty(), "sequence " + std::to_string(i) + " is empty; every sequence needs at least one token");
    for (size_t j = 0; j < s.size(); ++j)
      ADVX_REQUIRE(s[j] > 0 && s[j] < vocab, "sequence " + std::to_string(i) + " token " + std::to_string(j) +
                                                 " has id " + std::to_string(s[j]) + ", not a token of the model's " +
                                                 std::to_string(vocab) + "-token vocabulary (ids 1.." +
                                                 std::to_string(vocab - 1) + "; 0 is <pad>)");
  }
  auto check_classes = [&](const std::vector<int>& c, const char* what) {
    ADVX_REQUIRE(c.size() == n, std::string(what) + ": " + std::to_string(c.size()) + " given for " +
                                    std::to_string(n) + " sequences; give one per sequence");
    for (int y : c)
      ADVX_REQUIRE(y >= 0 && y < k, std::string(what) + " " + std::to_string(y) + " is out of range: classes are 0.." +
                                        std::to_string(k - 1));
  };
  ADVX_REQUIRE(
      !in.detector || spec.detector_term,
      "attack '" + spec.name + "' has no detector term; the attacks that take one: " + [] {
        std::string s;
        for (const SeqAttackSpec& a : seq_attacks())
          if (a.detector_term) s += (s.empty() ? "" : ", ") + a.name;
        return s;
      }());
  ADVX_REQUIRE(!in.detector || (in.detector->score && in.detector->weight >= 0.0),
               "a detector term needs a score function and a weight >= 0");
  check_classes(in.goal.labels, "labels");
  if (in.goal.targeted()) check_classes(in.goal.targets, "targets");
  return spec.start(in);
}

SeqAttackResult run_seq_attack(const SeqAttackSpec& spec, const SeqAttackInput& in) {
  std::unique_ptr<SeqAttackRun> run = start_seq_attack(spec, in);
  while (!run->step()) {
  }
  return run->result();
}

}  // namespace advx
