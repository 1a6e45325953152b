#include "engine/model.h"

#include "engine/error.h"
#include "engine/local_eval.h"
#include "engine/loss.h"

namespace advx {

const Tensor& Sequential::forward(const Tensor& x, bool train) {
  ADVX_REQUIRE(!layers.empty(), "model '" + arch + "' has no layers");
  check_input(*this, x, false);
  acts_.resize(layers.size() + 1);
  acts_[0].shape = x.shape;
  acts_[0].data.assign(x.data.begin(), x.data.end());
  for (size_t i = 0; i < layers.size(); ++i) layers[i]->forward(acts_[i], acts_[i + 1], train);
  return acts_.back();
}

void Sequential::backward(const Tensor& dlogits, Tensor* dx, bool param_grads, const Tensor* extra,
                          std::size_t extra_at) {
  ADVX_REQUIRE(acts_.size() == layers.size() + 1, "backward called before forward");
  ADVX_REQUIRE(dlogits.shape == acts_.back().shape, "backward: gradient shape " + shape_str(dlogits.shape) +
                                                        " != logits shape " + shape_str(acts_.back().shape));
  ADVX_REQUIRE(!extra || (extra_at >= 1 && extra_at <= layers.size() && extra->shape == acts_[extra_at].shape),
               "backward: the extra gradient must match activation " + std::to_string(extra_at) + " of '" + arch +
                   "' (1.." + std::to_string(layers.size()) + ")");
  grads_.resize(layers.size() + 1);
  // Without an input gradient wanted, nothing below the first layer with parameters needs dL/dx.
  size_t stop = 0;
  if (!dx) {
    while (stop < layers.size() && layers[stop]->params().empty()) ++stop;
    if (!param_grads || stop == layers.size()) return;
  }
  const Tensor* g = &dlogits;
  for (size_t i = layers.size(); i-- > stop;) {
    if (extra && i + 1 == extra_at) {  // dL/d(acts_[i + 1]) gains the hidden-layer loss's gradient
      injected_.resize(g->shape);
      injected_.mat() = g->mat() + extra->mat();
      g = &injected_;
    }
    // The lowest layer run writes dL/dx only when the caller wants the input gradient.
    Tensor* out = (i == 0) ? dx : (i == stop ? nullptr : &grads_[i]);
    layers[i]->backward(acts_[i], acts_[i + 1], *g, out, param_grads);
    g = out;
  }
}

std::unique_ptr<LocalEvaluator> Sequential::local_evaluator(const Tensor& base) {
  return make_sequential_local_evaluator(*this, base);
}

const Tensor& Sequential::activation(std::size_t i) const {
  ADVX_REQUIRE(i < acts_.size(), "activation " + std::to_string(i) + " of '" + arch + "': run forward first (" +
                                     std::to_string(acts_.size()) + " activations kept)");
  return acts_[i];
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
  Shape s = input_shape_;
  for (const LayerPtr& l : layers) {
    total += l->macs(s);
    s = l->output_shape(s);
  }
  return total;
}

const Tensor& Sequential::loss_input_gradient(const Tensor& x, const std::vector<int>& labels, Tensor& dx,
                                              std::vector<float>* losses) {
  const Tensor& logits = forward(x);
  cross_entropy(logits, labels, Reduction::Sum, &dlogits_, losses);
  backward(dlogits_, &dx, false);
  return logits;
}

}  // namespace advx
