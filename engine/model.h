// Sequential model: a list of layers, every activation kept so that backward can be called many
// times after one forward (attacks need dL/dx for several losses at one point). A Classifier.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/classifier.h"
#include "engine/layers/layer.h"

namespace advx {

class Sequential : public Classifier {
 public:
  Sequential() = default;
  Sequential(std::string arch_name, Shape input, int classes)
      : arch(std::move(arch_name)), input_shape_(std::move(input)), num_classes_(classes) {}
  Sequential(Sequential&&) = default;
  Sequential& operator=(Sequential&&) = default;

  std::string arch;  // architecture name ("cnn", ...), stored in the weights file
  std::vector<LayerPtr> layers;

  // Classifier
  std::string name() const override { return arch; }
  const Shape& input_shape() const override { return input_shape_; }
  int num_classes() const override { return num_classes_; }
  const Tensor& logits(const Tensor& x) override { return forward(x, false); }
  void input_gradient(const Tensor& dlogits, Tensor& dx) override { backward(dlogits, &dx, false); }
  // The exact local evaluation of engine/local_eval.h: candidates as the base images' activations
  // plus the change their pixels make, up to the first Linear. nullptr if the input is not an
  // image [C, H, W] or the first layer takes no local change. Creating it is one forward pass (of
  // the base images); the model must not change while it lives.
  std::unique_ptr<LocalEvaluator> local_evaluator(const Tensor& base) override;

  void add(LayerPtr layer) { layers.push_back(std::move(layer)); }

  // Logits for a batch x of shape [N, input_shape...]. Checks the shape and that x is finite.
  // The returned reference stays valid until the next forward.
  const Tensor& forward(const Tensor& x, bool train = false);
  // Given dL/dlogits for the last forward: writes dL/dx into *dx (if not null) and adds the weight
  // gradients into each layer's grads (if param_grads). Does not change forward state.
  // `extra` (if not null) is a further dL/d(activation(extra_at)) added where the backward pass
  // reaches that activation: a loss on a hidden layer (a detector's score on the last hidden layer,
  // a contractive penalty on an encoder's units). 1 <= extra_at <= layers.size().
  void backward(const Tensor& dlogits, Tensor* dx, bool param_grads, const Tensor* extra = nullptr,
                std::size_t extra_at = 0);
  // The activations of the last forward: activation(0) is the input, activation(i + 1) the output of
  // layer i (activation(layers.size()) the logits). Valid until the next forward.
  const Tensor& activation(std::size_t i) const;

  // Parameters with PyTorch nn.Sequential names: "<layer index>.weight", "<layer index>.bias".
  std::vector<Param> params();
  void zero_grad();
  std::int64_t num_params();
  double macs_per_sample() const;  // forward multiply-accumulates per sample

  // A thin helper over logits() + input_gradient(): dL/dx of the summed cross-entropy of `labels`
  // (per sample, so each sample's gradient is its own loss's gradient). Returns the logits of that
  // forward. Fills per-sample losses if `losses` is not null. (Attacks use an Objective instead.)
  const Tensor& loss_input_gradient(const Tensor& x, const std::vector<int>& labels, Tensor& dx,
                                    std::vector<float>* losses = nullptr);

 private:
  Shape input_shape_;  // per sample, e.g. {1, 28, 28}
  int num_classes_ = 0;
  std::vector<Tensor> acts_;   // acts_[0] = input copy, acts_[i+1] = output of layer i
  std::vector<Tensor> grads_;  // scratch for backward: dL/d(acts_[i])
  Tensor dlogits_, injected_;
};

}  // namespace advx
