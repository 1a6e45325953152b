// The sequence defence registry (seq_defence.h): the list, parameter checks, detector calibration.
#include <algorithm>
#include <memory>
#include <utility>

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

std::unique_ptr<SeqDefenceBuild> start_seq_defence(const SeqDefenceSpec& spec, const SeqDefenceContext& ctx,
                                                   SequenceClassifier& base, const ParamValues& params) {
  check_values(spec.params, params, "");
  for (const ParamSpec& p : spec.params)
    ADVX_REQUIRE(params.has(p.key),
                 "sequence defence '" + spec.name + "' needs parameter '" + p.key + "' (" + p.help + ")");
  ADVX_REQUIRE(ctx.validation.size() >= 2, "sequence defence '" + spec.name + "' needs clean validation samples (" +
                                               std::to_string(ctx.validation.size()) +
                                               " given): use a test split of at least 4 samples");
  std::unique_ptr<SeqDefenceBuild> b =
      spec.start
          ? spec.start(ctx, base, params)
          : std::make_unique<SeqDefenceBuild>(std::vector<SeqDefenceBuild::Stage>{},
                                              [&spec, ctx, &base, params] { return spec.build(ctx, base, params); });
  b->base_ = &base;
  return b;
}

SeqDefended build_seq_defence(const SeqDefenceSpec& spec, const SeqDefenceContext& ctx, SequenceClassifier& base,
                              const ParamValues& params) {
  std::unique_ptr<SeqDefenceBuild> b = start_seq_defence(spec, ctx, base, params);
  while (!b->step()) {
  }
  return b->result();
}

SeqDefenceBuild::SeqDefenceBuild(std::vector<Stage> stages, std::function<SeqDefended()> finish)
    : staged_(std::move(stages), std::move(finish)) {}

bool SeqDefenceBuild::step() {
  return staged_.step();
}

std::string SeqDefenceBuild::progress() const {
  return staged_.progress();
}

double SeqDefenceBuild::fraction() const {
  return staged_.fraction();
}

SeqDefended SeqDefenceBuild::result() {
  ADVX_REQUIRE(staged_.done() && !taken_, "the sequence defence's build has not finished (or its result was taken)");
  taken_ = true;
  SeqDefended& r = staged_.result();
  if (!r.model) r.model = r.owned ? r.owned.get() : base_;
  ADVX_REQUIRE(r.model, "a sequence defence's build without its base model (start it with start_seq_defence)");
  return std::move(r);
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

int validation_batch(const SeqDefenceContext& ctx, double score_macs_per_token) {
  std::size_t longest = 1;
  for (const TokenSeq& s : ctx.validation.sequences) longest = std::max(longest, s.size());
  return batch_for(score_macs_per_token * static_cast<double>(longest));
}

namespace {

// The detector's scores of the validation sequences, a batch a step; the last batch sets the threshold.
class SeqCalibrationWork : public BatchedWork {
 public:
  SeqCalibrationWork(SeqDefended& d, const SequenceSplit& val, double fpr, int batch)
      : BatchedWork("setting the threshold on validation sequences", static_cast<int>(val.sequences.size()), batch),
        d_(d),
        val_(val),
        fpr_(fpr) {
    s_.reserve(val.sequences.size());
  }

 protected:
  void run(int first, int count) override {
    const auto b = val_.sequences.begin() + first;
    part_.assign(b, b + count);
    const std::vector<float> got = d_.score(part_);
    s_.resize(static_cast<std::size_t>(first));  // a batch that threw before is scored again
    s_.insert(s_.end(), got.begin(), got.end());
    if (first + count < total()) return;
    d_.threshold = threshold_at_fpr(s_, fpr_);
    d_.target_fpr = fpr_;
    d_.validation_fpr = fraction_above(s_, d_.threshold);
  }

 private:
  SeqDefended& d_;
  const SequenceSplit& val_;
  double fpr_;
  std::vector<TokenSeq> part_;
  std::vector<float> s_;
};

}  // namespace

std::shared_ptr<BatchedWork> start_seq_calibration(SeqDefended& d, const SeqDefenceContext& ctx, double fpr,
                                                   double score_macs_per_token) {
  ADVX_REQUIRE(d.score, "calibrating a sequence defence that has no detector score (a bug in its file)");
  return std::make_shared<SeqCalibrationWork>(d, ctx.validation, fpr, validation_batch(ctx, score_macs_per_token));
}

}  // namespace advx
