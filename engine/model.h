// Sequential model: a list of layers, every activation kept so that backward can be called many
// times after one forward (attacks need dL/dx for several losses at one point).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/layers/layer.h"

namespace advx {

class Sequential {
 public:
  Sequential() = default;
  Sequential(Sequential&&) = default;
  Sequential& operator=(Sequential&&) = default;

  std::string arch;   // architecture name ("cnn", ...), stored in the weights file
  Shape input_shape;  // per sample, e.g. {1, 28, 28}
  int num_classes = 0;
  std::vector<LayerPtr> layers;

  void add(LayerPtr layer) { layers.push_back(std::move(layer)); }

  // Logits for a batch x of shape [N, input_shape...]. Checks the shape and that x is finite.
  // The returned reference stays valid until the next forward.
  const Tensor& forward(const Tensor& x, bool train = false);
  // Given dL/dlogits for the last forward: writes dL/dx into *dx (if not null) and adds the weight
  // gradients into each layer's grads (if param_grads). Does not change forward state.
  void backward(const Tensor& dlogits, Tensor* dx, bool param_grads);

  // Parameters with PyTorch nn.Sequential names: "<layer index>.weight", "<layer index>.bias".
  std::vector<Param> params();
  void zero_grad();
  std::int64_t num_params();
  double macs_per_sample() const;  // forward multiply-accumulates per sample

  // Convenience: argmax predictions and softmax probabilities (inference mode).
  std::vector<int> predict(const Tensor& x);
  Tensor probabilities(const Tensor& x);

  // One forward + one backward: dL/dx of the summed cross-entropy of `labels` (per sample, so
  // each sample's gradient is its own loss's gradient). Returns the logits of that forward.
  // Fills per-sample losses if `losses` is not null.
  const Tensor& loss_input_gradient(const Tensor& x, const std::vector<int>& labels, Tensor& dx,
                                    std::vector<float>* losses = nullptr);

 private:
  std::vector<Tensor> acts_;   // acts_[0] = input copy, acts_[i+1] = output of layer i
  std::vector<Tensor> grads_;  // scratch for backward: dL/d(acts_[i])
  Tensor dlogits_;
};

// Checks that x is [N, input_shape...], finite, and (if `pixels`) every value is in [0, 1].
void check_input(const Sequential& m, const Tensor& x, bool pixels);
// Checks labels: one per sample, each in [0, num_classes).
void check_labels(const Sequential& m, const std::vector<int>& labels, std::size_t n, const char* what);

}  // namespace advx
