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
  // In steps: over features, the 60,000 training images embedded a batch at a time (kept by the
  // context, so another k or temperature reuses them); then, over pixels or features, the index's
  // norms a batch of rows at a time; then the index.
  d.start = [](const DefenceContext& ctx, Classifier& base, const ParamValues& p,
               bool bpda) -> std::unique_ptr<DefenceBuild> {
    ADVX_REQUIRE(base.input_shape() == (Shape{1, 28, 28}) && base.num_classes() == 10,
                 "the k-NN defence searches the MNIST training set; the base model '" + base.name() + "' reads " +
                     shape_str(base.input_shape()) + ": use an MNIST model");
    KnnConfig cfg;
    cfg.k = p.integer("neighbours");
    cfg.tau = static_cast<float>(p.number("knn_temperature"));
    cfg.surrogate = bpda;
    Sequential* model = nullptr;
    if (p.integer("space") == 1) {
      model = dynamic_cast<Sequential*>(&base);
      ADVX_REQUIRE(model, "k-NN over features needs a plain model as the base (its penultimate layer); '" +
                              base.name() + "' is not one");
    }
    struct State {
      const Dataset* train = nullptr;
      std::shared_ptr<FeatureWork> features;  // null: over pixels
      std::shared_ptr<RowNormsWork> norms;
    };
    auto s = std::make_shared<State>();
    std::vector<StagedBuild::Stage> stages = {[s, ctx]() -> std::shared_ptr<BatchedWork> {
      s->train = &ctx.data("mnist", "train");
      return nullptr;
    }};
    if (model)
      stages.emplace_back([s, ctx, model]() -> std::shared_ptr<BatchedWork> {
        s->features = shared_features(ctx, *model, *s->train, "mnist/train", s->train->size());
        return s->features;
      });
    stages.emplace_back([s]() -> std::shared_ptr<BatchedWork> {
      const Tensor& points = s->features ? *s->features->features() : s->train->images;
      s->norms = std::make_shared<RowNormsWork>(points.ptr(), points.dim(0), static_cast<int>(points.sample_size()));
      return s->norms;
    });
    return std::make_unique<StagedBuild>(std::move(stages), [s, model, cfg]() -> std::unique_ptr<Classifier> {
      if (!s->features) return std::make_unique<KnnDefence>(*s->train, cfg, s->norms->take());
      return std::make_unique<KnnDefence>(*s->train, *model, cfg, s->features->features(), s->norms->take());
    });
  };
  return d;
}

}  // namespace advx
