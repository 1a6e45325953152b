// Binary thresholding of the input: x' = 1 if x >= t else 0, then the model.
//
// Input discretisation is a known strong baseline on MNIST (Panda, Chakraborty, Roy 2019,
// "Discretization based solutions for secure machine learning against adversarial attacks", IEEE
// Access; the 1-bit squeezer of Xu, Evans, Qi 2018, arXiv:1704.01155): with t = 0.5 and eps < 0.5,
// a pixel that is 0 or 1 cannot cross the threshold, so only the few grey pixels on a digit's
// edges are the attacker's. Its true gradient is zero almost everywhere (a step function), so a
// gradient attack that follows it does nothing: that "robustness" is gradient masking. The adaptive
// attacker uses BPDA (Athalye, Carlini, Wagner 2018, arXiv:1802.00420): the identity in the backward
// pass. On MNIST the defence holds much of its accuracy even then; that is a result too.
#include <cstdio>
#include <memory>

#include "engine/defences/defence.h"
#include "engine/error.h"
#include "engine/pipeline.h"

namespace advx {
namespace {

class ThresholdTransform : public Transform {
 public:
  ThresholdTransform(float t, bool bpda) : t_(t), bpda_(bpda) {}
  std::string name() const override {
    char buf[48];
    std::snprintf(buf, sizeof buf, "threshold(%g)", static_cast<double>(t_));
    return buf;
  }
  void forward(const Tensor& x, Tensor& y) override {
    y.resize(x.shape);
    for (std::size_t i = 0; i < x.data.size(); ++i) y.data[i] = x.data[i] >= t_ ? 1.0f : 0.0f;
  }
  // BPDA: dL/dx = dL/dy (the step replaced by the identity). Else the true gradient: 0.
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor& dx) override {
    ADVX_REQUIRE(dy.shape == x.shape,
                 "threshold backward: gradient shape " + shape_str(dy.shape) + " != input shape " + shape_str(x.shape));
    if (bpda_) {
      dx = dy;
    } else {
      dx.resize(x.shape);
      dx.fill(0.0f);
    }
  }
  GradientKind gradient_kind() const override { return bpda_ ? GradientKind::StraightThrough : GradientKind::Zero; }

 private:
  float t_;
  bool bpda_;
};

// The pipeline owns its transform; the base model is the caller's.
class ThresholdDefence : public Pipeline {
 public:
  ThresholdDefence(Classifier& base, float t, bool bpda) : Pipeline(base) {
    add(std::make_unique<ThresholdTransform>(t, bpda));
  }
};

}  // namespace

DefenceSpec threshold_defence() {
  DefenceSpec d;
  d.name = "threshold";
  d.title = "binary threshold";
  d.summary = "every pixel becomes 0 or 1 (pixel >= t) before the model sees it";
  d.citation = "Panda, Chakraborty, Roy 2019 (discretisation); BPDA: Athalye, Carlini, Wagner 2018, arXiv:1802.00420";
  d.note =
      "Its true gradient is zero, so a plain gradient attack on it fails: that is gradient masking, not "
      "robustness. The adaptive attacker (BPDA) is the honest test; on MNIST binarisation is genuinely strong "
      "for eps below the threshold's distance from 0 and 1.";
  ParamSpec t = float_param("threshold", 0.01, 0.99, 0.5, "pixels >= threshold become 1, the rest 0");
  d.params = {t};
  d.build = [](const DefenceContext&, Classifier& base, const ParamValues& p,
               bool bpda) -> std::unique_ptr<Classifier> {
    return std::make_unique<ThresholdDefence>(base, static_cast<float>(p.number("threshold")), bpda);
  };
  return d;
}

}  // namespace advx
