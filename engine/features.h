// A model's penultimate features: the input of its last layer with parameters (for `small`, the 100
// ReLU outputs before the final Linear; for `cnn` the 1024; for `softmax` the flattened pixels).
//
//   phi(x) = f_{c-1}(... f_0(x)),  c = the index of the last layer with parameters
//   backward: dL/dx = J_phi^T dL/dphi, through the same layers' backward passes
//
// The layers are the model's own (not copied), run on this object's activation buffers; layers that
// keep forward state (max-pool's argmax) keep that of the last forward through them, so do not
// interleave this object's forward/backward with the model's (one after the other is fine).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/model.h"
#include "engine/work.h"

namespace advx {

class PenultimateFeatures {
 public:
  // `m` must outlive this object and have a layer with parameters.
  explicit PenultimateFeatures(Sequential& m);
  int dim() const { return dim_; }
  std::size_t cut() const { return cut_; }  // layers [0, cut) are run: phi is the model's activation(cut)
  const Shape& input_shape() const { return m_.input_shape(); }
  const std::string& arch() const { return m_.arch; }
  // phi(x) [N, dim] for x [N, input_shape...]; valid until the next forward.
  const Tensor& forward(const Tensor& x);
  const Tensor& output() const { return acts_.back(); }  // phi of the last forward [N, dim]
  // dx = J^T dphi at the last forward; callable many times.
  void backward(const Tensor& dphi, Tensor& dx);

 private:
  Sequential& m_;
  size_t cut_ = 0;  // layers [0, cut_) are run
  int dim_ = 0;
  std::vector<Tensor> acts_, grads_;
};

// The penultimate features of the first `count` images of `data`, [count, dim], in fixed batches of
// batch_for(the model's multiply-adds per image) (engine/work.h): what k-NN over features and the
// kernel-density detector precompute. Run to the end (finish()) it is the one-call computation; a step
// at a time, the same bits. `m` and `data` must outlive it; it runs the model's layers on its own
// buffers (PenultimateFeatures), so the model's own activations are left alone.
class FeatureWork : public BatchedWork {
 public:
  FeatureWork(Sequential& m, const Dataset& data, int count, const std::string& what = "embedding training images");
  int dim() const { return f_.dim(); }
  // [count, dim]; complete once done().
  const std::shared_ptr<const Tensor>& features() const { return shared_; }

 protected:
  void run(int first, int count) override;

 private:
  PenultimateFeatures f_;
  const Dataset& data_;
  std::shared_ptr<Tensor> out_;
  std::shared_ptr<const Tensor> shared_;
  Tensor batch_;  // the batch's images (reused: no allocation per batch once it has grown)
};

}  // namespace advx
