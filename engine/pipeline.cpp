#include "engine/pipeline.h"

#include "engine/error.h"

namespace advx {

Pipeline::Pipeline(Classifier& inner) : inner_(inner), input_shape_(inner.input_shape()) {}

Pipeline::Pipeline(Classifier& inner, Shape input_shape) : inner_(inner), input_shape_(std::move(input_shape)) {}

void Pipeline::add(TransformPtr t) {
  ADVX_REQUIRE(t != nullptr, "Pipeline::add: null transform");
  transforms_.push_back(std::move(t));
  check_chain();
}

void Pipeline::check_chain() const {
  Shape s = input_shape_;
  for (const TransformPtr& t : transforms_) s = t->output_shape(s);
  ADVX_REQUIRE(s == inner_.input_shape(), "pipeline '" + name() + "': its transforms produce " + shape_str(s) +
                                              " but '" + inner_.name() + "' expects " +
                                              shape_str(inner_.input_shape()));
}

std::string Pipeline::name() const {
  std::string s;
  for (const TransformPtr& t : transforms_) s += t->name() + " > ";
  return s + inner_.name();
}

GradientKind Pipeline::gradient_kind() const {
  GradientKind k = inner_.gradient_kind();
  for (const TransformPtr& t : transforms_) k = combine(k, t->gradient_kind());
  return k;
}

const Tensor& Pipeline::logits(const Tensor& x) {
  // No transforms: exactly the inner classifier (no copy, same bits).
  if (transforms_.empty()) {
    last_input_ = &x;
    return inner_.logits(x);
  }
  check_input(*this, x, false);
  acts_.resize(transforms_.size() + 1);
  acts_[0].shape = x.shape;
  acts_[0].data.assign(x.data.begin(), x.data.end());
  for (size_t i = 0; i < transforms_.size(); ++i) transforms_[i]->forward(acts_[i], acts_[i + 1]);
  last_input_ = nullptr;
  return inner_.logits(acts_.back());
}

const Tensor& Pipeline::transformed() const {
  if (!transforms_.empty()) {
    ADVX_REQUIRE(!acts_.empty(), "pipeline: transformed() before logits()");
    return acts_.back();
  }
  ADVX_REQUIRE(last_input_ != nullptr, "pipeline: transformed() before logits()");
  return *last_input_;
}

void Pipeline::input_gradient(const Tensor& dlogits, Tensor& dx) {
  if (transforms_.empty()) {
    inner_.input_gradient(dlogits, dx);
    return;
  }
  ADVX_REQUIRE(acts_.size() == transforms_.size() + 1, "pipeline: input_gradient() before logits()");
  grads_.resize(transforms_.size() + 1);
  inner_.input_gradient(dlogits, grads_.back());
  for (size_t i = transforms_.size(); i-- > 0;) {
    Tensor& out = i == 0 ? dx : grads_[i];
    transforms_[i]->backward(acts_[i], acts_[i + 1], grads_[i + 1], out);
  }
}

}  // namespace advx
