// Classifier: the one interface that attacks, evaluation, training and the UI see of a model.
//
//   logits(x)              x [N, input_shape...] -> z [N, K], K = num_classes()
//   input_gradient(g, dx)  dx = (dz/dx)^T g for g = dL/dz of the most recent logits() call
//
// Contract (as the layer contract of engine/layers/layer.h):
//   requires: x has the batch dimension first and x.shape[1:] == input_shape(); every value finite.
//   ensures:  logits() returns a reference valid until the next logits() call on this object.
//             input_gradient() never changes forward state, so it may run any number of times after
//             one logits() (an attack asks for the gradients of several losses at one point).
// A bare model (Sequential), a defended one (Pipeline: transforms in front of a model) and, later,
// ensembles are all Classifiers, so a defended model is attacked exactly like a bare one.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace advx {

class LocalEvaluator;  // engine/local_eval.h

// What input_gradient() is, compared with the true gradient of the logits.
//   Exact:           the true gradient.
//   StraightThrough: a non-differentiable step is replaced by the identity in the backward pass
//                    (BPDA, Athalye, Carlini, Wagner 2018, arXiv:1802.00420): a surrogate that lets
//                    an adaptive attacker see through the step.
//   Zero:            the true gradient of a piecewise-constant step, zero almost everywhere: an
//                    attack that follows it learns nothing ("gradient masking"), which says nothing
//                    about robustness.
enum class GradientKind { Exact, StraightThrough, Zero };
const char* gradient_kind_name(GradientKind k);  // "exact", "bpda", "zero"
// The weaker of two kinds in a chain (Zero < StraightThrough < Exact).
GradientKind combine(GradientKind a, GradientKind b);

class Classifier {
 public:
  virtual ~Classifier() = default;
  virtual std::string name() const = 0;          // "cnn", "threshold(0.5) > cnn"
  virtual const Shape& input_shape() const = 0;  // per sample, e.g. {1, 28, 28}
  virtual int num_classes() const = 0;
  virtual const Tensor& logits(const Tensor& x) = 0;
  virtual void input_gradient(const Tensor& dlogits, Tensor& dx) = 0;
  virtual GradientKind gradient_kind() const { return GradientKind::Exact; }
  // Optional: an evaluator of few-pixel changes of the images `base` [B, input_shape...] that is
  // faster than logits() of the materialised images and equal to it up to float summation order
  // (engine/local_eval.h; the one-pixel attack's candidates). nullptr, the default, when this
  // classifier has none; make_local_evaluator() then gives one that materialises and calls logits().
  virtual std::unique_ptr<LocalEvaluator> local_evaluator(const Tensor& base);

  // Conveniences on top of logits(): argmax predictions and class probabilities (softmax of the
  // logits, unless the classifier's logits are scores of another kind: a k-NN's votes, engine/knn.h).
  // The largest probability is always the predicted class.
  std::vector<int> predict(const Tensor& x);
  virtual Tensor probabilities(const Tensor& x);
};

// Checks that x is [N, input_shape...], finite, and (if `pixels`) every value is in [0, 1].
void check_input(const Classifier& m, const Tensor& x, bool pixels);
// Checks classes: `n` of them (one per sample), each in [0, num_classes). `what` names them
// ("labels", "targets") in the message.
void check_labels(const Classifier& m, const std::vector<int>& labels, std::size_t n, const char* what);

}  // namespace advx
