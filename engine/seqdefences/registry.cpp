// The sequence defence registry (seq_defence.h): the list, parameter checks, detector calibration.
#include <algorithm>

#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/loss.h"
#include "engine/seqdefences/seq_defence.h"
#include "engine/seqdefences/seq_ensemble.h"

namespace advx {

#define ADVX_SEQ_DEFENCE(name) SeqDefenceSpec name##_seq_defence();
#include "engine/seqdefences/list.inc"
#undef ADVX_SEQ_DEFENCE

const std::vector<SeqDefenceSpec>& seq_defences() {
#define ADVX_SEQ_DEFENCE(name) name##_seq_defence(),
  static const std::vector<SeqDefenceSpec> all = {
#include "engine/seqdefences/list.inc"
  };
#undef ADVX_SEQ_DEFENCE
  return all;
}

const SeqDefenceSpec* find_seq_defence(const std::string& name) {
  for (const SeqDefenceSpec& d : seq_defences())
    if (d.name == name) return &d;
  return nullptr;
}

std::string seq_defence_names(const std::string& sep) {
  std::string out;
  for (const SeqDefenceSpec& d : seq_defences()) out += (out.empty() ? "" : sep) + d.name;
  return out;
}

SeqDefended build_seq_defence(const SeqDefenceSpec& spec, const SeqDefenceContext& ctx, SequenceClassifier& base,
                              const ParamValues& params) {
  check_values(spec.params, params, "");
  for (const ParamSpec& p : spec.params)
    ADVX_REQUIRE(params.has(p.key),
                 "sequence defence '" + spec.name + "' needs parameter '" + p.key + "' (" + p.help + ")");
  ADVX_REQUIRE(ctx.validation.size() >= 2, "sequence defence '" + spec.name + "' needs clean validation samples (" +
                                               std::to_string(ctx.validation.size()) +
                                               " given): use a test split of at least 4 samples");
  SeqDefended d = spec.build(ctx, base, params);
  if (!d.model) d.model = d.owned ? d.owned.get() : &base;
  return d;
}

DefenceReport seq_defence_report(const SeqDefended& d, const TokenSeq& sequence, std::vector<float>* probs) {
  ADVX_REQUIRE(d.model, "seq_defence_report: the defence was not built (build_seq_defence sets its model)");
  ADVX_REQUIRE(!sequence.empty(), "seq_defence_report: the sequence is empty; it needs at least one token");
  Tokens t;
  pack_tokens({&sequence}, t);
  const Tensor p = softmax(d.model->logits(t));
  if (probs) probs->assign(p.data.begin(), p.data.end());
  DefenceReport r;
  if (const auto* ens = dynamic_cast<const SequenceEnsemble*>(d.model)) {
    const std::vector<std::vector<float>>& mp = ens->member_probs();  // of the logits call above
    for (size_t m = 0; m < mp.size(); ++m) {
      DefenceReport::Vote v;
      v.member = "member " + std::to_string(m + 1);
      v.probs = mp[m];
      v.pred = static_cast<int>(std::max_element(v.probs.begin(), v.probs.end()) - v.probs.begin());
      r.votes.push_back(std::move(v));
    }
  }
  if (d.detects()) {
    DefenceReport::Score s;
    s.name = d.score_name;
    s.value = static_cast<double>(d.score({sequence}).at(0));
    s.threshold = d.threshold;
    s.flagged = s.value > d.threshold;
    r.scores.push_back(s);
  }
  return r;
}

SeqDetectorTerm SeqDefended::detector_term() const {
  ADVX_REQUIRE(detects(), "detector_term: this sequence defence does not detect");
  SeqDetectorTerm t;
  t.score = score;
  t.threshold = threshold;
  t.weight = detector_weight;
  t.edit_scores = edit_scores;
  return t;
}

SeqDetectorTerm adaptive_detector_term(const SeqDefended& d, const SeqAttackSpec& attack) {
  return d.detects() && attack.detector_term ? d.detector_term() : SeqDetectorTerm{};
}

ParamSpec seq_detector_weight_param() {
  ParamSpec s = float_param(
      "detector_weight", 0.0, 1000.0, 10.0,
      "the adaptive attacker's weight on the detector: it maximises its loss minus weight * "
      "max(0, score - threshold) (0: the detector only decides when it may stop: misclassified and unflagged)");
  s.advanced = true;
  return s;
}

ParamSpec seq_fpr_param() {
  return float_param("fpr", 0.001, 0.5, 0.05,
                     "false-positive rate the detector's threshold is set for, on clean validation samples "
                     "(the odd-indexed test samples)");
}

void calibrate_seq_detector(SeqDefended& d, const SeqDefenceContext& ctx, double fpr) {
  ADVX_REQUIRE(d.score, "calibrating a sequence defence that has no detector score (a bug in its file)");
  const std::vector<float> s = d.score(ctx.validation.sequences);
  d.threshold = threshold_at_fpr(s, fpr);
  d.target_fpr = fpr;
  d.validation_fpr = fraction_above(s, d.threshold);
}

}  // namespace advx
