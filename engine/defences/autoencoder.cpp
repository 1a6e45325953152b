// MagNet (Meng & Chen 2017, arXiv:1705.09064): an autoencoder trained on clean images only,
//
//   reformer   defended(x) = f(AE(x))          pulls an input towards the manifold of clean digits
//   detector   s(x) = mean_j |x_j - AE(x)_j|^p  (p = 1 or 2): far from the manifold = suspicious,
//              flagged above the threshold set on clean validation images (engine/detect/detector.h)
//
// Two autoencoders, both trained by `advx train` (assets/models/autoencoders/README.md): `dae`, MagNet's
// MNIST architecture trained to denoise (Gaussian noise 0.1), and `cae`, a 784-256-784 contractive
// autoencoder (Rifai et al. 2011; the "deep contractive autoencoder", Gu & Rigazio 2014,
// arXiv:1412.5068, penalise the same Jacobian). Deviations from MagNet: one detector (reconstruction
// error) instead of MagNet's several (two reconstruction-error detectors and two probability-divergence
// ones at temperatures 10 and 40), and one autoencoder per defence.
//
// The autoencoder is differentiable, so the adaptive attacker's gradient is exact:
//   ds/dx = (I - J_AE)^T e,  e = (1/D) sign(x - AE(x)) (p = 1) or (2/D)(x - AE(x)) (p = 2)
// Carlini & Wagner (2017, arXiv:1711.08478, "MagNet and 'Efficient Defenses...' Are Not Robust")
// break MagNet with exactly this white-box attacker.
#include <cmath>
#include <memory>

#include "engine/defences/defence.h"
#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/model.h"
#include "engine/pipeline.h"

namespace advx {
namespace {

void check_autoencoder(const Sequential& ae, const Classifier& base) {
  ADVX_REQUIRE(ae.input_shape() == base.input_shape() && ae.num_classes() == shape_size(base.input_shape()),
               "autoencoder '" + ae.arch + "' (input " + shape_str(ae.input_shape()) + ", " +
                   std::to_string(ae.num_classes()) + " outputs) does not reconstruct the inputs of '" + base.name() +
                   "' " + shape_str(base.input_shape()));
}

// x -> AE(x), reshaped to x's shape. Exact backward.
class Reform : public Transform {
 public:
  explicit Reform(Sequential& ae) : ae_(ae) {}
  std::string name() const override { return "autoencoder(" + ae_.arch + ")"; }
  void forward(const Tensor& x, Tensor& y) override {
    const Tensor& r = ae_.logits(x);
    y.shape = x.shape;
    y.data = r.data;
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor& dx) override {
    flat_.shape = {x.dim(0), static_cast<int>(x.sample_size())};
    flat_.data = dy.data;
    ae_.input_gradient(flat_, dx);
  }
  GradientKind gradient_kind() const override { return GradientKind::Exact; }

 private:
  Sequential& ae_;
  Tensor flat_;
};

// The reformer alone: a Pipeline that keeps its context (the autoencoder lives in the context's cache).
class Reformer : public Pipeline {
 public:
  Reformer(Classifier& base, const DefenceContext& ctx, Sequential& ae) : Pipeline(base), ctx_(ctx) {
    add(std::make_unique<Reform>(ae));
  }

 private:
  DefenceContext ctx_;
};

// Reformer + reconstruction-error detector.
class MagNet : public DetectorDefence {
 public:
  MagNet(Classifier& base, const DefenceContext& ctx, Sequential& ae, int p) : base_(base), ctx_(ctx), ae_(ae), p_(p) {}
  std::string name() const override {
    return "magnet(" + ae_.arch + ", L" + std::to_string(p_) + ") > " + base_.name();
  }
  std::string score_name() const override { return "reconstruction error L" + std::to_string(p_); }
  double score_macs() const override { return ae_.macs_per_sample() + forward_macs(base_); }
  const Shape& input_shape() const override { return base_.input_shape(); }
  int num_classes() const override { return base_.num_classes(); }
  GradientKind gradient_kind() const override { return base_.gradient_kind(); }

  const Tensor& forward(const Tensor& x, std::vector<float>* scores) override {
    const Tensor& r = ae_.logits(x);
    x_ = x;
    r_.shape = x.shape;
    r_.data = r.data;
    z_ = base_.logits(r_);
    if (scores) {
      const int n = x.dim(0);
      const std::int64_t d = x.sample_size();
      scores->assign(static_cast<std::size_t>(n), 0.0f);
      for (int i = 0; i < n; ++i) {
        double s = 0.0;
        for (std::int64_t j = 0; j < d; ++j) {
          const double e = static_cast<double>(x.data[static_cast<std::size_t>(i * d + j)]) -
                           r_.data[static_cast<std::size_t>(i * d + j)];
          s += p_ == 1 ? std::fabs(e) : e * e;
        }
        (*scores)[static_cast<std::size_t>(i)] = static_cast<float>(s / static_cast<double>(d));
      }
    }
    return z_;
  }

  void backward(const Tensor& dlogits, const std::vector<float>& dscores, Tensor& dx) override {
    base_.input_gradient(dlogits, gr_);  // dL/dr through the classifier
    const int n = x_.dim(0);
    const std::int64_t d = x_.sample_size();
    e_.resize(x_.shape);
    e_.fill(0.0f);
    if (!dscores.empty()) {
      ADVX_REQUIRE(dscores.size() == static_cast<std::size_t>(n), "magnet backward: one score gradient per sample");
      for (int i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < d; ++j) {
          const auto at = static_cast<std::size_t>(i * d + j);
          const float diff = x_.data[at] - r_.data[at];
          const float g = p_ == 1 ? static_cast<float>((diff > 0.0f) - (diff < 0.0f)) : 2.0f * diff;
          e_.data[at] = dscores[static_cast<std::size_t>(i)] * g / static_cast<float>(d);  // ds/d(x - r)
        }
    }
    // dx = J_AE^T (dL/dr - e) + e
    flat_.shape = {n, static_cast<int>(d)};
    flat_.data = gr_.data;
    flat_.mat() -= e_.mat();
    ae_.input_gradient(flat_, dx);
    dx.mat() += e_.mat();
  }

 private:
  Classifier& base_;
  DefenceContext ctx_;  // keeps the autoencoder alive
  Sequential& ae_;
  int p_;
  Tensor x_, r_, z_, gr_, e_, flat_;
};

}  // namespace

DefenceSpec autoencoder_defence() {
  DefenceSpec d;
  d.name = "autoencoder";
  d.title = "MagNet autoencoder";
  d.summary =
      "the model classifies the input's reconstruction by an autoencoder trained on clean digits; optionally "
      "flags large reconstruction errors";
  d.citation = "Meng & Chen 2017, arXiv:1705.09064; broken by Carlini & Wagner 2017, arXiv:1711.08478";
  d.note =
      "Reconstruction removes much of an oblivious attacker's perturbation. The autoencoder is differentiable, so "
      "the adaptive attacker simply attacks through it (and through the detector's score), as Carlini & Wagner did.";
  d.params = {choice_param("ae", {"dae", "cae"}, 0, "the autoencoder: dae (MagNet's, denoising) or cae (contractive)"),
              choice_param("ae_detect", {"off", "l1", "l2"}, 0,
                           "also flag inputs with a reconstruction error (L1 or L2) above the threshold")};
  for (const ParamSpec& p : detector_params()) d.params.push_back(p);
  auto ae_name = [](const ParamValues& p) {
    return std::string("autoencoders/") + (p.integer("ae") == 0 ? "dae" : "cae");
  };
  d.models = [ae_name](const ParamValues& p) { return std::vector<std::string>{ae_name(p)}; };
  d.data = [](const ParamValues& p) {
    return p.integer("ae_detect") == 0 ? std::vector<std::pair<std::string, std::string>>{}
                                       : std::vector<std::pair<std::string, std::string>>{{"", "validation"}};
  };
  // In steps when it detects: the threshold a batch of validation images at a time.
  d.start = [ae_name](const DefenceContext& ctx, Classifier& base, const ParamValues& p,
                      bool) -> std::unique_ptr<DefenceBuild> {
    const std::string name = ae_name(p);
    const int detect = p.integer("ae_detect");
    if (detect == 0)
      return std::make_unique<StagedBuild>(std::vector<StagedBuild::Stage>{},
                                           [ctx, &base, name]() -> std::unique_ptr<Classifier> {
                                             Sequential& ae = ctx.model(name);
                                             check_autoencoder(ae, base);
                                             return std::make_unique<Reformer>(base, ctx, ae);
                                           });
    return detector_build(ctx, p.number("fpr"), p.integer("val_n"), {}, [ctx, &base, name, detect] {
      Sequential& ae = ctx.model(name);
      check_autoencoder(ae, base);
      return std::make_unique<MagNet>(base, ctx, ae, detect);
    });
  };
  return d;
}

}  // namespace advx
