// transitions: statistical sequence irregularity detection as a registered defence (the model and
// its score are in transitions.h; Rosenberg et al. 2019, arXiv:1901.09963). The classifier is the
// base model unchanged; the detector is the transition model fitted on the training split, its
// threshold set at `fpr` on the clean validation samples. The adaptive attacker attacks the
// classifier with the detector in its objective (seq_attack.h, (H); Carlini & Wagner 2017,
// arXiv:1705.07263): the score is a function of the tokens, so every proposed edit's score is
// computed exactly (TransitionModel::edit_scores), no gradient needed; `detector_weight` is lambda.
#include <memory>
#include <vector>

#include "engine/seqdefences/seq_defence.h"
#include "engine/seqdefences/transitions.h"

namespace advx {

namespace {
// A transition's score (two table reads, a log, a division) costed as this many multiply-adds: a
// guess; it only sizes the validation batches, and a transition score does not depend on them.
constexpr double kScoreMacsPerToken = 50.0;
}  // namespace

SeqDefenceSpec transitions_seq_defence() {
  SeqDefenceSpec s;
  s.name = "transitions";
  s.title = "sequence irregularity detection";
  s.summary =
      "flag sequences whose token-to-token transitions are unlikely under a Markov model of the clean "
      "training split (mean negative log-likelihood per transition)";
  s.citation = "Rosenberg et al. 2019, arXiv:1901.09963";
  ParamSpec alpha = float_param("alpha", 0.001, 10.0, 0.1, "add-alpha smoothing of the transition counts");
  alpha.advanced = true;
  s.params = {alpha, seq_fpr_param(), seq_detector_weight_param()};
  // In steps: the fit (TransitionFitWork: the count table cleared, the training sequences counted),
  // then the validation scores a batch a step; the last batch sets the threshold.
  s.start = [](const SeqDefenceContext& ctx, SequenceClassifier& base, const ParamValues& p) {
    auto fit = std::make_shared<TransitionFitWork>(ctx.train.sequences, base.vocab_size(), p.number("alpha"));
    auto d = std::make_shared<SeqDefended>();
    const double fpr = p.number("fpr"), weight = p.number("detector_weight");
    std::vector<SeqDefenceBuild::Stage> stages = {
        [fit]() -> std::shared_ptr<BatchedWork> { return fit; },
        [fit, d, ctx, fpr, weight]() -> std::shared_ptr<BatchedWork> {
          std::shared_ptr<const TransitionModel> tm = fit->model();
          d->score = [tm](const std::vector<TokenSeq>& seqs) { return tm->scores(seqs); };
          d->score_name = "transition NLL";
          d->edit_scores = [tm](const TokenSeq& seq, SeqEdit e, int slot, std::vector<float>& out) {
            tm->edit_scores(seq, e, slot, out);
          };
          d->detector_weight = weight;
          d->note =
              "adaptive: the white-box attack on the classifier with the detector's hinge in its objective "
              "(every edit's transition score exact); success = misclassified and not flagged";
          return start_seq_calibration(*d, ctx, fpr, kScoreMacsPerToken);
        }};
    return std::make_unique<SeqDefenceBuild>(std::move(stages), [d] { return std::move(*d); });
  };
  return s;
}

}  // namespace advx
