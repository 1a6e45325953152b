#include "engine/model.h"

#include <cmath>

#include "engine/error.h"
#include "engine/loss.h"

namespace advx {

void check_input(const Sequential& m, const Tensor& x, bool pixels) {
  Shape expect = {x.shape.empty() ? 0 : x.shape[0]};
  expect.insert(expect.end(), m.input_shape.begin(), m.input_shape.end());
  ADVX_REQUIRE(x.rank() == static_cast<int>(expect.size()) && x.shape == expect,
               "input has shape " + shape_str(x.shape) + " but model '" + m.arch + "' expects [N, " +
                   shape_str(m.input_shape).substr(1) +
                   (m.input_shape == Shape{3, 32, 32} ? " (for CIFAR-10: 32x32 RGB images, pixels in [0, 1])"
                                                      : " (for MNIST: 28x28 grey images, pixels in [0, 1])"));
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

void check_labels(const Sequential& m, const std::vector<int>& labels, std::size_t n, const char* what) {
  ADVX_REQUIRE(labels.size() == n, std::string("got ") + std::to_string(labels.size()) + " " + what + " for " +
                                       std::to_string(n) + " images; give exactly one per image");
  for (int y : labels)
    ADVX_REQUIRE(y >= 0 && y < m.num_classes, std::string(what) + " " + std::to_string(y) +
                                                  " is out of range: classes are 0.." +
                                                  std::to_string(m.num_classes - 1));
}

const Tensor& Sequential::forward(const Tensor& x, bool train) {
  ADVX_REQUIRE(!layers.empty(), "model '" + arch + "' has no layers");
  check_input(*this, x, false);
  acts_.resize(layers.size() + 1);
  acts_[0].shape = x.shape;
  acts_[0].data.assign(x.data.begin(), x.data.end());
  for (size_t i = 0; i < layers.size(); ++i) layers[i]->forward(acts_[i], acts_[i + 1], train);
  return acts_.back();
}

void Sequential::backward(const Tensor& dlogits, Tensor* dx, bool param_grads) {
  ADVX_REQUIRE(acts_.size() == layers.size() + 1, "backward called before forward");
  ADVX_REQUIRE(dlogits.shape == acts_.back().shape, "backward: gradient shape " + shape_str(dlogits.shape) +
                                                        " != logits shape " + shape_str(acts_.back().shape));
  grads_.resize(layers.size() + 1);
  // Without an input gradient wanted, nothing below the first layer with parameters needs dL/dx.
  size_t stop = 0;
  if (!dx) {
    while (stop < layers.size() && layers[stop]->params().empty()) ++stop;
    if (!param_grads || stop == layers.size()) return;
  }
  const Tensor* g = &dlogits;
  for (size_t i = layers.size(); i-- > stop;) {
    // The lowest layer run writes dL/dx only when the caller wants the input gradient.
    Tensor* out = (i == 0) ? dx : (i == stop ? nullptr : &grads_[i]);
    layers[i]->backward(acts_[i], acts_[i + 1], *g, out, param_grads);
    g = out;
  }
}

std::vector<Param> Sequential::params() {
  std::vector<Param> out;
  for (size_t i = 0; i < layers.size(); ++i)
    for (Param p : layers[i]->params()) {
      p.name = std::to_string(i) + "." + p.name;
      out.push_back(p);
    }
  return out;
}

void Sequential::zero_grad() {
  for (Param& p : params()) p.grad->fill(0.0f);
}

std::int64_t Sequential::num_params() {
  std::int64_t n = 0;
  for (Param& p : params()) n += p.value->size();
  return n;
}

double Sequential::macs_per_sample() const {
  double total = 0.0;
  Shape s = input_shape;
  for (const LayerPtr& l : layers) {
    total += l->macs(s);
    s = l->output_shape(s);
  }
  return total;
}

std::vector<int> Sequential::predict(const Tensor& x) {
  return argmax_rows(forward(x));
}

Tensor Sequential::probabilities(const Tensor& x) {
  return softmax(forward(x));
}

const Tensor& Sequential::loss_input_gradient(const Tensor& x, const std::vector<int>& labels, Tensor& dx,
                                              std::vector<float>* losses) {
  const Tensor& logits = forward(x);
  cross_entropy(logits, labels, Reduction::Sum, &dlogits_, losses);
  backward(dlogits_, &dx, false);
  return logits;
}

}  // namespace advx
