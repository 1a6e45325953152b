// k nearest neighbours in place of the model: the class of the training set's most similar samples
// (engine/knn.h), over the raw pixels or over the base model's penultimate features, searched exactly
// over all 60,000 MNIST training images (DefenceContext::data("mnist", "train")).
//
// Nearest neighbours are a classic answer to "adversarial examples are off the data manifold"
// (Papernot & McDaniel 2018, Deep k-NN, arXiv:1803.04765; Dubey et al. 2019, arXiv:1903.01612).
// Measured three ways: oblivious = crafted on the base model, scored on the k-NN (pixels: a
// transfer attack to another kind of classifier; features: through the very features the attacker
// perturbed); adaptive = PGD through the soft k-NN surrogate (engine/knn.h), since the vote's true
// gradient is zero (bpda off shows that masking). Attacks built for k-NN (Sitawarin & Wagner 2019,
// arXiv:1903.08333; Yang et al. 2020, arXiv:1906.03972) are stronger than ours: our adaptive number
// is an upper bound on the k-NN's robustness, not a certificate.
#include "engine/knn.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "engine/defences/defence.h"
#include "engine/error.h"
#include "engine/features.h"
#include "engine/model.h"

namespace advx {
namespace {

class KnnDefence : public KNearestNeighbours, public Reporter {
 public:
  using KNearestNeighbours::KNearestNeighbours;
  const Tensor& logits(const Tensor& x) override {
    const Tensor& out = KNearestNeighbours::logits(x);
    last_single_ = x.rank() >= 1 && x.dim(0) == 1;
    if (last_single_) last_x_.assign(x.data.begin(), x.data.end());
    return out;
  }
  // The playground asks for the prediction, then the report, of the same input: one search for both.
  DefenceReport report(const Tensor& x) override {
    ADVX_REQUIRE(x.rank() >= 1 && x.dim(0) == 1, "report() takes one sample [1, ...], got " + shape_str(x.shape));
    if (!last_single_ || last_x_.size() != x.data.size() || !std::equal(last_x_.begin(), last_x_.end(), x.data.begin()))
      logits(x);
    DefenceReport r;
    for (const Neighbour& n : neighbours(0))
      r.neighbours.push_back({n.index, n.label, static_cast<double>(n.distance)});
    return r;
  }

 private:
  std::vector<float> last_x_;  // the last single-sample input logits() saw
  bool last_single_ = false;
};

}  // namespace

DefenceSpec knn_defence() {
  DefenceSpec d;
  d.name = "knn";
  d.title = "nearest neighbours";
  d.summary = "the majority class of the k most similar of the 60,000 training images (pixels or model features)";
  d.citation =
      "Cover & Hart 1967; Papernot & McDaniel 2018, arXiv:1803.04765; Sitawarin & Wagner 2019, arXiv:1903.08333";
  d.note =
      "The vote has no gradient, so a plain gradient attack on it is stuck (masking); the adaptive attacker follows "
      "a soft k-NN surrogate. In pixel space the k-NN is a different kind of classifier, so adversarials made for "
      "the network transfer poorly; in feature space it inherits the network's weaknesses.";
  ParamSpec tau = float_param("knn_temperature", 0.001, 10.0, 0.1,
                              "adaptive attacker's soft k-NN temperature, relative to the neighbourhood's mean "
                              "squared distance");
  tau.advanced = true;
  d.params = {
      int_param("neighbours", 1, 100, 1, "k: how many nearest training images vote"),
      choice_param("space", {"pixels", "features"}, 0, "compare raw pixels, or the base model's penultimate features")};
  d.params.push_back(tau);
  d.data = [](const ParamValues&) { return std::vector<std::pair<std::string, std::string>>{{"mnist", "train"}}; };
  // In steps over features: the 60,000 training images embedded a batch at a time (kept by the
  // context, so another k or temperature reuses them), then the index. Over pixels: one step.
  d.start = [](const DefenceContext& ctx, Classifier& base, const ParamValues& p,
               bool bpda) -> std::unique_ptr<DefenceBuild> {
    ADVX_REQUIRE(base.input_shape() == (Shape{1, 28, 28}) && base.num_classes() == 10,
                 "the k-NN defence searches the MNIST training set; the base model '" + base.name() + "' reads " +
                     shape_str(base.input_shape()) + ": use an MNIST model");
    KnnConfig cfg;
    cfg.k = p.integer("neighbours");
    cfg.tau = static_cast<float>(p.number("knn_temperature"));
    cfg.surrogate = bpda;
    if (p.integer("space") == 0)
      return std::make_unique<StagedBuild>(std::vector<StagedBuild::Stage>{},
                                           [ctx, cfg]() -> std::unique_ptr<Classifier> {
                                             return std::make_unique<KnnDefence>(ctx.data("mnist", "train"), cfg);
                                           });
    auto* model = dynamic_cast<Sequential*>(&base);
    ADVX_REQUIRE(model, "k-NN over features needs a plain model as the base (its penultimate layer); '" + base.name() +
                            "' is not one");
    auto work = std::make_shared<std::shared_ptr<FeatureWork>>();
    return std::make_unique<StagedBuild>(
        std::vector<StagedBuild::Stage>{[ctx, model, work]() -> std::shared_ptr<BatchedWork> {
          const Dataset& train = ctx.data("mnist", "train");
          *work = shared_features(ctx, *model, train, "mnist/train", train.size());
          return *work;
        }},
        [ctx, model, cfg, work]() -> std::unique_ptr<Classifier> {
          return std::make_unique<KnnDefence>(ctx.data("mnist", "train"), *model, cfg, (*work)->features());
        });
  };
  return d;
}

}  // namespace advx
