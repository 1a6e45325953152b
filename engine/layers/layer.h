// Layer contract (in the spirit of dlib's layers_abstract.h).
//
// forward(x, y, train)
//   requires: x has the batch dimension first; x.shape[1:] is what the layer accepts.
//   ensures:  y = f(x). The layer may keep forward state (a dropout mask, max-pool argmax) that
//             backward reads. Nothing else is kept: x and y belong to the caller (the Sequential
//             model keeps every activation).
// backward(x, y, dy, dx, param_grads)
//   requires: x, y are the input and output of the most recent forward; dy = dL/dy.
//   ensures:  *dx = dL/dx when dx != nullptr (the input gradient, public so attacks can use it);
//             dL/dW is ADDED into each Param::grad when param_grads is true.
//             Forward state is never modified, so backward may run any number of times after one
//             forward (an attack asks for gradients of several losses at the same point).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace advx {

struct Param {
  std::string name;  // PyTorch-style suffix: "weight" or "bias"
  Tensor* value;
  Tensor* grad;
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string kind() const = 0;  // "Linear", "Conv2d", ... (PyTorch class names)
  // Per-sample output shape for a per-sample input shape; throws advx::Error if incompatible.
  virtual Shape output_shape(const Shape& in) const = 0;
  virtual void forward(const Tensor& x, Tensor& y, bool train) = 0;
  virtual void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) = 0;
  virtual std::vector<Param> params() { return {}; }
  // Elementwise layers (y_i = f(x_i), one f for every element, nothing kept at inference) return a
  // function that applies f to n values (y may be x); every other layer nullptr. The exact local
  // evaluation of few-pixel changes (engine/local_eval.h) runs it on the values a change reaches.
  using ElementwiseFn = void (*)(const float* x, float* y, std::int64_t n);
  virtual ElementwiseFn elementwise() const { return nullptr; }
  // Multiply-accumulates per sample for a forward pass (for FLOP/s reporting).
  virtual double macs(const Shape& in) const {
    (void)in;
    return 0.0;
  }
};

using LayerPtr = std::unique_ptr<Layer>;

}  // namespace advx
