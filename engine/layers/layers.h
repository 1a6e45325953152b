// All layer types. Each has its own .cpp with the forward and backward math annotated.
#pragma once
#include <array>
#include <cstdint>

#include "engine/layers/layer.h"
#include "engine/rng.h"

namespace advx {

// y = x W^T + b, W: [out, in], b: [out] (torch.nn.Linear). Input [N, in].
class Linear : public Layer {
 public:
  Linear(int in, int out);
  std::string kind() const override { return "Linear"; }
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
  std::vector<Param> params() override;
  double macs(const Shape& in) const override;
  // PyTorch's default init (Kaiming-uniform with a=sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in))).
  void init(Rng& rng);
  Tensor weight, bias, weight_grad, bias_grad;
  int in_features, out_features;
};

// 2-D convolution (cross-correlation, as torch.nn.Conv2d). W: [out, in, kh, kw], b: [out].
class Conv2d : public Layer {
 public:
  Conv2d(int in_ch, int out_ch, int kernel, int stride, int padding);
  std::string kind() const override { return "Conv2d"; }
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
  std::vector<Param> params() override;
  double macs(const Shape& in) const override;
  void init(Rng& rng);
  Tensor weight, bias, weight_grad, bias_grad;
  int in_ch, out_ch, kernel, stride, padding;

 private:
  // Per-thread scratch (im2col columns, GEMM output / dL/dY, dL/dcol, partial dW and db, a stride-2
  // input split into even and odd columns), reused.
  std::vector<Tensor> cols_, ybuf_, dcols_, wgrad_part_, bgrad_part_, split_;
  // Thread t's split_ of n floats for im2col (nullptr unless stride 2). split_ must have a slot for t.
  float* split_buffer(int t, int n);
  // Thread t's im2col buffer cols_[t] as [kk, ld] for inputs h x w, its padding entries zero. Only
  // im2col writes cols_ and it never touches those entries, so they are cleared once per layout
  // (col_layout_[t] = {kk, ld, h, w}), not once per chunk: a 1.25 MB memset per 2 `cnn` images.
  Tensor& zeroed_cols(int t, int kk, std::int64_t ld, int h, int w);
  std::vector<std::array<std::int64_t, 4>> col_layout_;
  // Forward state of a training pass (train = true): every chunk's im2col columns, which the
  // weight gradient needs again (one im2col instead of two per training step). train_x_ names the
  // input they belong to (and train_chunk_ the samples per chunk); backward on any other input
  // computes its own. Their padding entries are cleared once per layout too (train_layout_[chunk]).
  std::vector<Tensor> train_cols_;
  std::vector<std::array<std::int64_t, 4>> train_layout_;
  const float* train_x_ = nullptr;
  Shape train_shape_;
  int train_chunk_ = 0;
};

// Max pooling (torch.nn.MaxPool2d(kernel, stride)); no padding.
class MaxPool2d : public Layer {
 public:
  MaxPool2d(int kernel, int stride);
  std::string kind() const override { return "MaxPool2d"; }
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
  int kernel, stride;

 private:
  std::vector<std::int32_t> argmax_;  // forward state: flat input index of each output's max
};

class ReLU : public Layer {
 public:
  std::string kind() const override { return "ReLU"; }
  Shape output_shape(const Shape& in) const override { return in; }
  ElementwiseFn elementwise() const override;  // max(x, 0)
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
};

// [N, ...] -> [N, prod(...)] (torch.nn.Flatten).
class Flatten : public Layer {
 public:
  std::string kind() const override { return "Flatten"; }
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
};

// Inverted dropout (torch.nn.Dropout): in training, zero with probability p and scale by 1/(1-p);
// identity at inference. Owns its Rng (seeded at construction) so training stays reproducible.
class Dropout : public Layer {
 public:
  Dropout(float p, std::uint64_t seed);
  std::string kind() const override { return "Dropout"; }
  Shape output_shape(const Shape& in) const override { return in; }
  ElementwiseFn elementwise() const override;  // the identity (inference)
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
  float p;

 private:
  Rng rng_;
  std::vector<float> mask_;  // forward state: 0 or 1/(1-p) per element; empty = identity
};

// y = 1 / (1 + e^-x) elementwise (torch.nn.Sigmoid): the autoencoders' activation.
class Sigmoid : public Layer {
 public:
  std::string kind() const override { return "Sigmoid"; }
  Shape output_shape(const Shape& in) const override { return in; }
  ElementwiseFn elementwise() const override;  // 1 / (1 + e^-x), as forward
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
};

// Average pooling (torch.nn.AvgPool2d(kernel, stride)); no padding. Input [N, C, H, W].
class AvgPool2d : public Layer {
 public:
  AvgPool2d(int kernel, int stride);
  std::string kind() const override { return "AvgPool2d"; }
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
  int kernel, stride;
};

// Nearest-neighbour upsampling by an integer factor (torch.nn.Upsample(scale_factor=s,
// mode="nearest")): y[c][i][j] = x[c][i / s][j / s]. Input [N, C, H, W].
class Upsample : public Layer {
 public:
  explicit Upsample(int scale);
  std::string kind() const override { return "Upsample"; }
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
  int scale;
};

// log_softmax over the last dimension (torch.nn.LogSoftmax(dim=1)). Input [N, K].
class LogSoftmax : public Layer {
 public:
  std::string kind() const override { return "LogSoftmax"; }
  Shape output_shape(const Shape& in) const override { return in; }
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
};

}  // namespace advx
