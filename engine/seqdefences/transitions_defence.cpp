// transitions: statistical sequence irregularity detection as a registered defence (the model and
// its score are in transitions.h; Rosenberg et al. 2019, arXiv:1901.09963). The classifier is the
// base model unchanged; the detector is the transition model fitted on the training split, its
// threshold set at `fpr` on the clean validation samples. The adaptive attacker here is the plain
// white-box attacker of the classifier: it has no detector term (the greedy attacks of
// engine/seqattacks have no objective for it yet), so "adaptive" equals oblivious for this defence.
#include <memory>

#include "engine/seqdefences/seq_defence.h"
#include "engine/seqdefences/transitions.h"

namespace advx {

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
  s.params = {alpha, seq_fpr_param()};
  s.build = [](const SeqDefenceContext& ctx, SequenceClassifier& base, const ParamValues& p) {
    auto tm = std::make_shared<const TransitionModel>(ctx.train.sequences, base.vocab_size(), p.number("alpha"));
    SeqDefended d;
    d.score = [tm](const std::vector<TokenSeq>& seqs) { return tm->scores(seqs); };
    d.score_name = "transition NLL";
    d.note = "adaptive: the white-box attack on the classifier, no detector term (not implemented)";
    calibrate_seq_detector(d, ctx, p.number("fpr"));
    return d;
  };
  return s;
}

}  // namespace advx
