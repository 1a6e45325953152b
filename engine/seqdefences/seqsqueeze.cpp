// seqsqueeze: sequence squeezing as a registered defence (the transform and its detector score are
// in squeeze.h: Rosenberg, Shabtai, Elovici, Rokach 2019, arXiv:1901.09963). Parameters: k, the
// k-means clusters of the embedding rows (224 on api_lstm: the smallest k of a sweep whose squeezed
// validation accuracy is within 2 points of the bare model's, DEFENCES.md), and fpr, the detector's
// false-positive rate on the clean validation samples. The clustering seed is fixed (1), as in the
// reproduction. The adaptive attacker goes straight through the squeezer (BPDA) against the
// classifier, with the detector in its objective (seq_attack.h, (H); Carlini & Wagner 2017,
// arXiv:1705.07263): the verified candidates are re-ranked by their exact detector score (two
// forward passes each), lambda = `detector_weight`. Rosenberg et al. do not attack the detector.
#include <algorithm>
#include <memory>
#include <vector>

#include "engine/error.h"
#include "engine/seqdefences/seq_defence.h"
#include "engine/seqdefences/squeeze.h"

namespace advx {

SeqDefenceSpec seqsqueeze_seq_defence() {
  SeqDefenceSpec s;
  s.name = "seqsqueeze";
  s.title = "sequence squeezing";
  s.summary =
      "map every token to its embedding cluster's representative (k-means); detector: L1 between the "
      "softmaxes of the sequence and its squeezed copy";
  s.citation = "Rosenberg et al. 2019, arXiv:1901.09963";
  s.params = {int_param("k", 1, 4096, 224, "k-means clusters of the embedding rows (tokens merged into k)"),
              seq_fpr_param(), seq_detector_weight_param()};
  // In steps: k-means a block a step (ClusterWork), then the validation scores a batch a step (two
  // forward passes of the model per sequence); the last batch sets the threshold.
  s.start = [](const SeqDefenceContext& ctx, SequenceClassifier& base, const ParamValues& p) {
    const int k = p.integer("k"), real = base.vocab_size() - 2;
    ADVX_REQUIRE(k <= real, "--k " + std::to_string(k) + ": the model has only " + std::to_string(real) +
                                " real tokens to cluster; choose --k in [1, " + std::to_string(real) + "]");
    auto clusters = std::make_shared<ClusterWork>(base.embedding_matrix(), k, 1);
    auto d = std::make_shared<SeqDefended>();
    SequenceClassifier* b = &base;
    const double fpr = p.number("fpr"), weight = p.number("detector_weight");
    std::vector<SeqDefenceBuild::Stage> stages = {
        [clusters]() -> std::shared_ptr<BatchedWork> { return clusters; },
        [clusters, d, b, ctx, fpr, weight]() -> std::shared_ptr<BatchedWork> {
          auto sq = std::make_unique<SqueezedSequenceModel>(*b, clusters->take());
          SqueezedSequenceModel* raw = sq.get();
          d->owned = std::move(sq);
          d->score = [raw](const std::vector<TokenSeq>& seqs) { return raw->scores(seqs); };
          d->score_name = "squeeze L1";
          d->detector_weight = weight;
          d->note =
              "adaptive: straight-through the squeezer against the classifier, the detector's hinge in its "
              "objective (verified candidates scored exactly); success = misclassified and not flagged";
          return start_seq_calibration(*d, ctx, fpr, 2.0 * raw->macs_per_token());
        }};
    return std::make_unique<SeqDefenceBuild>(std::move(stages), [d] { return std::move(*d); });
  };
  return s;
}

}  // namespace advx
