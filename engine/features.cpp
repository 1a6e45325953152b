#include "engine/features.h"

#include <algorithm>

#include "engine/error.h"

namespace advx {

PenultimateFeatures::PenultimateFeatures(Sequential& m) : m_(m) {
  cut_ = m_.layers.size();
  while (cut_ > 0 && m_.layers[cut_ - 1]->params().empty()) --cut_;
  ADVX_REQUIRE(cut_ > 0, "model '" + m_.arch + "' has no layer with parameters, so no penultimate features");
  --cut_;  // the last layer with parameters is not run: its input is the feature vector
  Shape s = m_.input_shape();
  for (size_t i = 0; i < cut_; ++i) s = m_.layers[i]->output_shape(s);
  dim_ = static_cast<int>(shape_size(s));
}

const Tensor& PenultimateFeatures::forward(const Tensor& x) {
  check_input(m_, x, false);
  acts_.resize(cut_ + 1);
  acts_[0] = x;
  for (size_t i = 0; i < cut_; ++i) m_.layers[i]->forward(acts_[i], acts_[i + 1], false);
  // Flattened to [N, dim] (a view change only: the data are row-major per sample).
  acts_[cut_].shape = {x.dim(0), dim_};
  return acts_[cut_];
}

void PenultimateFeatures::backward(const Tensor& dphi, Tensor& dx) {
  ADVX_REQUIRE(acts_.size() == cut_ + 1, "features: backward called before forward");
  ADVX_REQUIRE(dphi.shape == acts_[cut_].shape,
               "features backward: gradient shape " + shape_str(dphi.shape) + " != " + shape_str(acts_[cut_].shape));
  if (cut_ == 0) {  // the features are the input itself
    dx = dphi;
    dx.shape = acts_[0].shape;
    return;
  }
  // The last layer run saw acts_[cut_] in its own output shape: restore it for its backward.
  Shape out = m_.input_shape();
  for (size_t i = 0; i < cut_; ++i) out = m_.layers[i]->output_shape(out);
  Shape full = {dphi.dim(0)};
  full.insert(full.end(), out.begin(), out.end());
  Tensor& y = acts_[cut_];
  y.shape = full;
  grads_.resize(cut_ + 1);
  grads_[cut_] = dphi;
  grads_[cut_].shape = full;
  for (size_t i = cut_; i-- > 0;) {
    Tensor* o = i == 0 ? &dx : &grads_[i];
    m_.layers[i]->backward(acts_[i], acts_[i + 1], grads_[i + 1], o, false);
  }
  y.shape = {dphi.dim(0), dim_};
}

FeatureWork::FeatureWork(Sequential& m, const Dataset& data, int count, const std::string& what)
    : BatchedWork(what, count, batch_for(m.macs_per_sample())), f_(m), data_(data) {
  ADVX_REQUIRE(count >= 1 && count <= data.size(), "features of " + std::to_string(count) + " images of '" + data.name +
                                                       "', which has " + std::to_string(data.size()));
  Shape s(data.images.shape.begin() + 1, data.images.shape.end());
  ADVX_REQUIRE(s == m.input_shape(), "features: model '" + m.arch + "' reads " + shape_str(m.input_shape()) +
                                         ", the images of '" + data.name + "' are " + shape_str(s));
  out_ = std::make_shared<Tensor>(Shape{count, f_.dim()});
  shared_ = out_;
}

void FeatureWork::run(int first, int count) {
  const std::int64_t per = data_.images.sample_size();
  Shape s = data_.images.shape;
  s[0] = count;
  batch_.resize(s);
  std::copy_n(data_.images.ptr() + first * per, count * per, batch_.ptr());
  const Tensor& phi = f_.forward(batch_);
  std::copy(phi.data.begin(), phi.data.end(), out_->ptr() + static_cast<std::int64_t>(first) * f_.dim());
}

}  // namespace advx
