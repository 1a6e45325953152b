// Ensembles that vote (engine/ensemble.h) in place of the base model: three `small` models trained
// three ways, shipped in assets/models/ensemble/ (recipes in assets/models/README.md):
//   regular      the whole training set, three seeds (an ensemble of independently trained networks;
//                Hansen & Salamon 1990, Lakshminarayanan et al. 2017, arXiv:1612.01474)
//   subsequence  each on a different third of the training set (disjoint contiguous parts:
//                "pasting", Breiman 1999, Machine Learning 36, bagging's variant without replacement)
//   adversarial  each on the training set plus its own static set of FGSM adversarials (eps 0.3),
//                crafted once on a different `regular` member (`advx train --adv-source`): ensemble
//                adversarial training, Tramer et al. 2018, arXiv:1705.07204, which decouples the
//                training adversarials from the model being trained. Ours deviate: Tramer et al.
//                train one model on adversarials of several pre-trained ones; we train three, each
//                on another source's, and let them vote.
// Voting soft (mean of probabilities) or hard (majority; ties to the larger mean probability).
//
// Measured three ways as every defence: oblivious = crafted on the base model (for an ensemble
// that is a transfer attack from another network), adaptive = white-box through the ensemble (soft:
// its exact gradient; hard: the soft vote's gradient as surrogate, or with bpda off the true one,
// which saturates). Attacking one member and scoring the ensemble is the Evaluation with that
// member as its source model (advx eval --source-model).
#include "engine/ensemble.h"

#include <memory>

#include "engine/defences/defence.h"
#include "engine/error.h"
#include "engine/model.h"

namespace advx {
namespace {

const std::vector<std::string>& kinds() {
  static const std::vector<std::string> k = {"regular", "subsequence", "adversarial"};
  return k;
}
constexpr int kMembers = 3;

std::vector<std::string> member_names(const ParamValues& p) {
  const std::string kind = kinds()[static_cast<size_t>(p.integer("members"))];
  std::vector<std::string> names;
  for (int i = 0; i < kMembers; ++i) names.push_back("ensemble/" + kind + "_" + std::to_string(i));
  return names;
}

// The ensemble plus the Reporter: every member's vote and probabilities.
class EnsembleDefence : public Ensemble, public Reporter {
 public:
  using Ensemble::Ensemble;
  DefenceReport report(const Tensor& x) override {
    ADVX_REQUIRE(x.rank() >= 1 && x.dim(0) == 1, "report() takes one sample [1, ...], got " + shape_str(x.shape));
    logits(x);
    DefenceReport r;
    for (int i = 0; i < size(); ++i) {
      DefenceReport::Vote v;
      v.member = member_name(i);
      v.pred = member_preds(i)[0];
      v.probs.assign(member_probs(i).data.begin(), member_probs(i).data.end());
      r.votes.push_back(std::move(v));
    }
    return r;
  }
};

}  // namespace

DefenceSpec ensemble_defence() {
  DefenceSpec d;
  d.name = "ensemble";
  d.title = "ensemble vote";
  d.summary = "three independently trained models vote on the input (soft: mean probability; hard: majority)";
  d.citation =
      "Lakshminarayanan et al. 2017, arXiv:1612.01474 (ensembles of networks); Breiman 1999 (pasting); Kuncheva "
      "2004 (voting)";
  d.note =
      "Members trained the same way make the same mistakes: adversarials crafted on one member transfer to the "
      "others, and an attacker that differentiates the whole ensemble (the adaptive one) fools it about as easily "
      "as one model.";
  d.params = {choice_param("members", kinds(), 0,
                           "which three members: regular (three seeds, all the data), subsequence (each on a "
                           "third of the data), adversarial (each on the data plus FGSM adversarials of another "
                           "model)"),
              choice_param("vote", {"soft", "hard"}, 0,
                           "soft: mean of the members' probabilities; hard: majority of their predictions")};
  d.models = [](const ParamValues& p) { return member_names(p); };
  d.build = [](const DefenceContext& ctx, Classifier& base, const ParamValues& p,
               bool bpda) -> std::unique_ptr<Classifier> {
    const std::vector<std::string> names = member_names(p);
    std::vector<Classifier*> members;
    for (const std::string& n : names) {
      Sequential& m = ctx.model(n);
      ADVX_REQUIRE(m.input_shape() == base.input_shape() && m.num_classes() == base.num_classes(),
                   "the ensemble's members read " + shape_str(m.input_shape()) + " with " +
                       std::to_string(m.num_classes()) + " classes; the base model '" + base.name() + "' reads " +
                       shape_str(base.input_shape()) + ": use an MNIST model as the base");
      members.push_back(&m);
    }
    const Vote vote = p.integer("vote") == 1 ? Vote::Hard : Vote::Soft;
    return std::make_unique<EnsembleDefence>(members, vote, bpda, names);
  };
  return d;
}

}  // namespace advx
