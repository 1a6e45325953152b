// Transforms in front of a classifier: the shape of an input-transformation defence.
//
//   Pipeline(x) = C(T_k(... T_1(x)))          (itself a Classifier)
//   dL/dx       = J_T1^T ... J_Tk^T dL/d(C's input)
//
// A Transform maps inputs to inputs (same shape or not) and has a backward: its true one, or for a
// non-differentiable step a declared surrogate. Thresholding, bit-depth reduction and median
// filters are piecewise constant: their true gradient is zero almost everywhere, so an attacker that
// follows it is stuck (gradient masking). BPDA (Backward Pass Differentiable Approximation,
// Athalye, Carlini, Wagner 2018, arXiv:1802.00420) replaces such a step by the identity in the
// backward pass; that is the adaptive attacker's view. Each transform says which one it is.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/classifier.h"

namespace advx {

class Transform {
 public:
  virtual ~Transform() = default;
  virtual std::string name() const = 0;  // "threshold(0.5)"
  // Per-sample output shape for a per-sample input shape.
  virtual Shape output_shape(const Shape& in) const { return in; }
  // y = T(x); x [N, ...]. May keep forward state for backward.
  virtual void forward(const Tensor& x, Tensor& y) = 0;
  // dx = J^T dy at the last forward (or the declared surrogate); never changes forward state.
  virtual void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) = 0;
  virtual GradientKind gradient_kind() const = 0;
};

using TransformPtr = std::unique_ptr<Transform>;

class Pipeline : public Classifier {
 public:
  // `inner` is not owned and must outlive the pipeline; its input shape is what the last transform
  // must produce. `input_shape` defaults to inner's (transforms that keep the shape).
  explicit Pipeline(Classifier& inner);
  Pipeline(Classifier& inner, Shape input_shape);
  // Appends a transform (applied after those added before); checks the chain of shapes.
  void add(TransformPtr t);

  std::string name() const override;
  const Shape& input_shape() const override { return input_shape_; }
  int num_classes() const override { return inner_.num_classes(); }
  const Tensor& logits(const Tensor& x) override;
  void input_gradient(const Tensor& dlogits, Tensor& dx) override;
  GradientKind gradient_kind() const override;

  Classifier& inner() { return inner_; }
  const std::vector<TransformPtr>& transforms() const { return transforms_; }
  // The input the inner classifier saw at the last logits() call (x itself with no transforms).
  const Tensor& transformed() const;

 private:
  void check_chain() const;
  Classifier& inner_;
  Shape input_shape_;
  std::vector<TransformPtr> transforms_;
  std::vector<Tensor> acts_;  // acts_[0] = input, acts_[i + 1] = output of transform i
  std::vector<Tensor> grads_;
  const Tensor* last_input_ = nullptr;
};

}  // namespace advx
