// Kernel-density detector on the last hidden layer (Feinman, Curtin, Shintre, Gardner 2017,
// arXiv:1703.00410; the math is in engine/detect/kde.h). The model classifies as usual; an input is
// flagged when its last-hidden-layer features have a low density among the clean training images of
// the class it is predicted as. Deviations: Feinman et al. combine the density with Bayesian
// uncertainty (dropout) in a logistic regression trained on adversarial examples; we keep the density
// alone and set its threshold on clean validation images only, as every detector here. The density
// uses the first `kde_n` training images. Needs a bare Sequential model (it reads a hidden layer).
//
// Adaptive attacker: the score is differentiable in the features (for the predicted class), so the
// attacker minimises it with the classifier's loss through the C&W reject class (Carlini & Wagner 2017,
// arXiv:1705.07263, section 5.2, defeat this detector that way).
#include "engine/detect/kde.h"

#include <memory>
#include <utility>
#include <vector>

#include "engine/defences/defence.h"
#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/features.h"
#include "engine/loss.h"
#include "engine/model.h"

namespace advx {
namespace {

// The activation index that feeds the last Linear layer: the last hidden layer's output.
std::size_t last_hidden(const Sequential& m) {
  for (std::size_t i = m.layers.size(); i-- > 0;)
    if (m.layers[i]->kind() == "Linear") return i;
  throw Error("the kernel-density detector needs a model ending in a Linear layer; '" + m.arch + "' has none");
}

class KdeDetector : public DetectorDefence {
 public:
  // kde: the density of the training features (their penultimate features: the input of the last
  // Linear, activation(last_hidden)).
  KdeDetector(Sequential& base, std::unique_ptr<KernelDensity> kde)
      : base_(base), at_(last_hidden(base)), kde_(std::move(kde)) {}
  double score_macs() const override { return base_.macs_per_sample(); }
  std::string name() const override { return "kde > " + base_.name(); }
  std::string score_name() const override { return "-log density (last hidden layer)"; }
  const Shape& input_shape() const override { return base_.input_shape(); }
  int num_classes() const override { return base_.num_classes(); }

  const Tensor& forward(const Tensor& x, std::vector<float>* scores) override {
    const Tensor& z = base_.logits(x);
    if (!scores) return z;
    const Tensor& phi = base_.activation(at_);
    pred_ = argmax_rows(z);
    const int n = x.dim(0), f = kde_->dim();
    scores->resize(static_cast<std::size_t>(n));
    dphi_.resize({n, f});
    // The score's gradient in the features is kept from here (backward must not re-run the model).
    for (int i = 0; i < n; ++i)
      (*scores)[static_cast<std::size_t>(i)] = static_cast<float>(
          kde_->score(phi.ptr() + static_cast<std::int64_t>(i) * f, pred_[static_cast<std::size_t>(i)],
                      dphi_.ptr() + static_cast<std::int64_t>(i) * f));
    scored_ = n;
    return z;
  }

  void backward(const Tensor& dlogits, const std::vector<float>& dscores, Tensor& dx) override {
    if (dscores.empty()) {
      base_.backward(dlogits, &dx, false);
      return;
    }
    ADVX_REQUIRE(dscores.size() == static_cast<std::size_t>(scored_),
                 "kde backward: the last forward did not compute the scores of these samples");
    extra_.resize(dphi_.shape);
    const int f = dphi_.dim(1);
    for (int i = 0; i < scored_; ++i)
      for (int j = 0; j < f; ++j) {
        const auto at = static_cast<std::size_t>(i) * static_cast<std::size_t>(f) + static_cast<std::size_t>(j);
        extra_.data[at] = dscores[static_cast<std::size_t>(i)] * dphi_.data[at];
      }
    extra_.shape = base_.activation(at_).shape;
    base_.backward(dlogits, &dx, false, &extra_, at_);
  }

 private:
  Sequential& base_;
  std::size_t at_;
  std::unique_ptr<KernelDensity> kde_;
  std::vector<int> pred_;
  Tensor dphi_, extra_;
  int scored_ = 0;
};

}  // namespace

DefenceSpec kde_defence() {
  DefenceSpec d;
  d.name = "kde";
  d.title = "kernel-density detector";
  d.summary =
      "flags inputs whose last-hidden-layer features have a low density among clean training images of "
      "the predicted class";
  d.citation =
      "Feinman, Curtin, Shintre, Gardner 2017, arXiv:1703.00410; adaptive: Carlini & Wagner 2017, arXiv:1705.07263";
  d.note =
      "Oblivious adversarials often land in low-density regions of the feature space. The density is smooth, so "
      "an adaptive attacker pushes the features into a dense region of the wrong class.";
  ParamSpec kde_n = int_param("kde_n", 100, 60000, 2000, "clean training images whose features form the density");
  kde_n.advanced = true;
  d.params = {kde_n, float_param("kde_bw", 0.05, 10.0, 1.0,
                                 "bandwidth: sigma^2 = kde_bw * median within-class squared distance")};
  for (const ParamSpec& p : detector_params()) d.params.push_back(p);
  d.data = [](const ParamValues&) {
    return std::vector<std::pair<std::string, std::string>>{{"", "train"}, {"", "validation"}};
  };
  // In steps: the features of the first kde_n training images (kept by the context: another bandwidth
  // reuses them), the density's bandwidth a class at a time, then the threshold a batch at a time.
  d.start = [](const DefenceContext& ctx, Classifier& base, const ParamValues& p,
               bool) -> std::unique_ptr<DefenceBuild> {
    auto* seq = dynamic_cast<Sequential*>(&base);
    ADVX_REQUIRE(
        seq, "the kernel-density detector reads a hidden layer, so it needs a bare model, not '" + base.name() + "'");
    ADVX_REQUIRE(PenultimateFeatures(*seq).cut() == last_hidden(*seq),
                 "the kernel-density detector reads the input of the last Linear layer; model '" + seq->arch +
                     "' has parameters after it");
    const int n = p.integer("kde_n");
    const double bw = p.number("kde_bw");
    struct State {
      const Dataset* train = nullptr;
      std::shared_ptr<FeatureWork> features;
      std::shared_ptr<KernelDensityWork> density;
    };
    auto s = std::make_shared<State>();
    std::vector<StagedBuild::Stage> before = {
        [s, ctx, seq, n]() -> std::shared_ptr<BatchedWork> {
          s->train = &ctx.data(ctx.dataset, "train");
          ADVX_REQUIRE(n >= 20 && n <= s->train->size(), "kde_n must be in 20.." + std::to_string(s->train->size()));
          s->features = shared_features(ctx, *seq, *s->train, ctx.dataset + "/train", n);
          return s->features;
        },
        [s, seq, n, bw]() -> std::shared_ptr<BatchedWork> {
          s->density = std::make_shared<KernelDensityWork>(
              *s->features->features(), std::vector<int>(s->train->labels.begin(), s->train->labels.begin() + n),
              seq->num_classes(), bw);
          return s->density;
        }};
    return detector_build(ctx, p.number("fpr"), p.integer("val_n"), std::move(before),
                          [s, seq] { return std::make_unique<KdeDetector>(*seq, s->density->result()); });
  };
  return d;
}

}  // namespace advx
