#include "engine/classifier.h"

#include <cmath>

#include "engine/error.h"
#include "engine/local_eval.h"
#include "engine/loss.h"

namespace advx {

const char* gradient_kind_name(GradientKind k) {
  switch (k) {
    case GradientKind::Exact:
      return "exact";
    case GradientKind::StraightThrough:
      return "bpda";
    case GradientKind::Zero:
      return "zero";
  }
  return "?";
}

GradientKind combine(GradientKind a, GradientKind b) {
  if (a == GradientKind::Zero || b == GradientKind::Zero) return GradientKind::Zero;
  if (a == GradientKind::StraightThrough || b == GradientKind::StraightThrough) return GradientKind::StraightThrough;
  return GradientKind::Exact;
}

std::unique_ptr<LocalEvaluator> Classifier::local_evaluator(const Tensor& /*base*/) {
  return nullptr;
}

std::vector<int> Classifier::predict(const Tensor& x) {
  return argmax_rows(logits(x));
}

Tensor Classifier::probabilities(const Tensor& x) {
  return softmax(logits(x));
}

void check_input(const Classifier& m, const Tensor& x, bool pixels) {
  const Shape& in = m.input_shape();
  Shape expect = {x.shape.empty() ? 0 : x.shape[0]};
  expect.insert(expect.end(), in.begin(), in.end());
  const char* hint = in == Shape{1, 28, 28}   ? " (for MNIST: 28x28 grey images, pixels in [0, 1])"
                     : in == Shape{3, 32, 32} ? " (for CIFAR-10: 32x32 RGB images, pixels in [0, 1])"
                                              : " (pixels in [0, 1])";
  ADVX_REQUIRE(x.rank() == static_cast<int>(expect.size()) && x.shape == expect,
               "input has shape " + shape_str(x.shape) + " but model '" + m.name() + "' expects [N, " +
                   shape_str(in).substr(1) + hint);
  ADVX_REQUIRE(x.size() == shape_size(x.shape), "input tensor data does not match its shape " + shape_str(x.shape));
  for (std::int64_t i = 0; i < x.size(); ++i) {
    const float v = x.data[static_cast<size_t>(i)];
    ADVX_REQUIRE(std::isfinite(v), "input value " + std::to_string(i) + " is " + (std::isnan(v) ? "NaN" : "infinite") +
                                       "; every pixel must be a finite number in [0, 1]");
    if (pixels)
      ADVX_REQUIRE(v >= 0.0f && v <= 1.0f, "input pixel " + std::to_string(i) + " is " + std::to_string(v) +
                                               ", outside [0, 1]; scale 8-bit images by 1/255");
  }
}

void check_labels(const Classifier& m, const std::vector<int>& labels, std::size_t n, const char* what) {
  ADVX_REQUIRE(labels.size() == n, std::string("got ") + std::to_string(labels.size()) + " " + what + " for " +
                                       std::to_string(n) + " images; give exactly one per image");
  for (int y : labels)
    ADVX_REQUIRE(y >= 0 && y < m.num_classes(), std::string(what) + " " + std::to_string(y) +
                                                    " is out of range: classes are 0.." +
                                                    std::to_string(m.num_classes() - 1));
}

}  // namespace advx
