#include "engine/train/autoencoder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "engine/error.h"
#include "engine/optim.h"
#include "engine/rng.h"

namespace advx {

std::size_t encoder_layer(const Sequential& ae) {
  for (std::size_t i = 0; i + 1 < ae.layers.size(); ++i)
    if (ae.layers[i]->kind() == "Linear" && ae.layers[i + 1]->kind() == "Sigmoid") return i;
  throw Error("the contractive penalty needs a Linear layer followed by a Sigmoid (the encoder); '" + ae.arch +
              "' has none (use the ae_dense architecture, or --contractive 0)");
}

double contractive_penalty(const Linear& enc, const Tensor& h, float scale, Tensor* dh, Tensor* dW) {
  const int n = h.dim(0), hid = enc.out_features, in = enc.in_features;
  ADVX_REQUIRE(h.rank() == 2 && h.dim(1) == hid, "contractive penalty: hidden units " + shape_str(h.shape) +
                                                     " do not match the encoder's " + std::to_string(hid));
  // |W_j|^2 per hidden unit.
  std::vector<double> norm2(static_cast<std::size_t>(hid), 0.0);
  for (int j = 0; j < hid; ++j) {
    const float* w = enc.weight.ptr() + static_cast<std::int64_t>(j) * in;
    double s = 0.0;
    for (int i = 0; i < in; ++i) s += static_cast<double>(w[i]) * w[i];
    norm2[static_cast<std::size_t>(j)] = s;
  }
  std::vector<double> sum_d2(static_cast<std::size_t>(hid), 0.0);  // sum_n h'_nj^2
  if (dh) dh->resize(h.shape);
  double p = 0.0;
  for (int s = 0; s < n; ++s)
    for (int j = 0; j < hid; ++j) {
      const std::int64_t at = static_cast<std::int64_t>(s) * hid + j;
      const double hv = h.data[static_cast<std::size_t>(at)], d = hv * (1.0 - hv);
      p += d * d * norm2[static_cast<std::size_t>(j)];
      sum_d2[static_cast<std::size_t>(j)] += d * d;
      if (dh)
        dh->data[static_cast<std::size_t>(at)] =
            static_cast<float>(scale * 2.0 * d * (1.0 - 2.0 * hv) * norm2[static_cast<std::size_t>(j)]);
    }
  if (dW) {
    ADVX_REQUIRE(dW->shape == enc.weight.shape, "contractive penalty: dW has the wrong shape");
    for (int j = 0; j < hid; ++j) {
      const float* w = enc.weight.ptr() + static_cast<std::int64_t>(j) * in;
      float* g = dW->ptr() + static_cast<std::int64_t>(j) * in;
      const double c = scale * 2.0 * sum_d2[static_cast<std::size_t>(j)];
      for (int i = 0; i < in; ++i) g[i] += static_cast<float>(c * w[i]);
    }
  }
  return scale * p;
}

double reconstruction_mse(Sequential& ae, const Tensor& images, int batch) {
  const int n = images.dim(0);
  double sum = 0.0;
  for (int b = 0; b < n; b += batch) {
    const int count = std::min(batch, n - b);
    const Tensor x = images.slice(b, count);
    const Tensor& r = ae.logits(x);
    ADVX_REQUIRE(r.size() == x.size(), "'" + ae.arch + "' is not an autoencoder of these images: output " +
                                           shape_str(r.shape) + " for input " + shape_str(x.shape));
    for (std::size_t i = 0; i < x.data.size(); ++i) {
      const double d = static_cast<double>(r.data[i]) - x.data[i];
      sum += d * d;
    }
  }
  return n ? sum / (static_cast<double>(n) * static_cast<double>(images.sample_size())) : 0.0;
}

void train_autoencoder(Sequential& ae, const Dataset& data, const AutoencoderConfig& cfg,
                       const std::function<void(const AutoencoderProgress&)>& progress) {
  ADVX_REQUIRE(cfg.epochs >= 1 && cfg.batch >= 1, "epochs and batch size must be >= 1");
  ADVX_REQUIRE(cfg.lr > 0.0f && cfg.lr_decay > 0.0f && cfg.lr_decay <= 1.0f,
               "learning rate must be > 0 and its decay in (0, 1]");
  ADVX_REQUIRE(cfg.noise >= 0.0f && cfg.noise <= 1.0f, "noise must be in [0, 1] (a standard deviation in pixels)");
  ADVX_REQUIRE(cfg.contractive >= 0.0f, "the contractive weight must be >= 0");
  ADVX_REQUIRE(ae.input_shape() == Shape(data.images.shape.begin() + 1, data.images.shape.end()) &&
                   ae.num_classes() == static_cast<int>(data.images.sample_size()),
               "'" + ae.arch + "' (input " + shape_str(ae.input_shape()) + ", " + std::to_string(ae.num_classes()) +
                   " outputs) is not an autoencoder of these images " + shape_str(data.images.shape));
  const std::size_t enc = cfg.contractive > 0.0f ? encoder_layer(ae) : 0;
  const int n = cfg.limit > 0 ? std::min(cfg.limit, data.size()) : data.size();
  ADVX_REQUIRE(n > 0, "no training data");
  Adam opt(cfg.lr);
  Rng rng(cfg.seed);
  Rng noise_rng(cfg.seed ^ 0x5DEECE66Dull);  // its own stream: the shuffling order does not depend on noise
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const std::int64_t per = data.images.sample_size();
  Shape bshape = data.images.shape;
  Tensor xb, xn, dout, dh;
  const std::vector<Param> params = ae.params();
  const int batches = (n + cfg.batch - 1) / cfg.batch;
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    for (int i = n - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)],
                order[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i) + 1))]);
    opt.lr = cfg.lr * std::pow(cfg.lr_decay, static_cast<float>(epoch - 1));
    const auto t0 = std::chrono::steady_clock::now();
    double mse_sum = 0.0, pen_sum = 0.0;
    long seen = 0;
    for (int b = 0; b < batches; ++b) {
      const int begin = b * cfg.batch, count = std::min(cfg.batch, n - begin);
      bshape[0] = count;
      xb.resize(bshape);
      xn.resize(bshape);
      for (int k = 0; k < count; ++k)
        std::copy_n(data.images.ptr() + static_cast<std::int64_t>(order[static_cast<std::size_t>(begin + k)]) * per,
                    per, xb.ptr() + static_cast<std::int64_t>(k) * per);
      for (std::size_t i = 0; i < xb.data.size(); ++i)
        xn.data[i] =
            cfg.noise > 0.0f ? std::clamp(xb.data[i] + cfg.noise * noise_rng.normal(), 0.0f, 1.0f) : xb.data[i];
      const Tensor& r = ae.forward(xn, true);
      // dL/dr = 2 (r - x) / (N D): the mean squared error against the CLEAN image.
      dout.resize(r.shape);
      double mse = 0.0;
      const float c = 2.0f / static_cast<float>(static_cast<std::int64_t>(count) * per);
      for (std::size_t i = 0; i < r.data.size(); ++i) {
        const float d = r.data[i] - xb.data[i];
        mse += static_cast<double>(d) * d;
        dout.data[i] = c * d;
      }
      mse /= static_cast<double>(count) * static_cast<double>(per);
      ADVX_REQUIRE(std::isfinite(mse),
                   "autoencoder training diverged at epoch " + std::to_string(epoch) + "; lower the learning rate");
      ae.zero_grad();
      double pen = 0.0;
      if (cfg.contractive > 0.0f) {
        const auto& lin = static_cast<const Linear&>(*ae.layers[enc]);
        auto& w_grad = static_cast<Linear&>(*ae.layers[enc]).weight_grad;
        // The hidden units h are the Sigmoid's output, activation enc + 2.
        pen =
            contractive_penalty(lin, ae.activation(enc + 2), cfg.contractive / static_cast<float>(count), &dh, &w_grad);
        ae.backward(dout, nullptr, true, &dh, enc + 2);
      } else {
        ae.backward(dout, nullptr, true);
      }
      opt.step(params);
      mse_sum += mse * count;
      pen_sum += pen * count;
      seen += count;
      if (progress) {
        AutoencoderProgress p;
        p.epoch = epoch, p.epochs = cfg.epochs, p.batch = b + 1, p.batches = batches;
        p.mse = mse_sum / static_cast<double>(seen);
        p.penalty = pen_sum / static_cast<double>(seen);
        p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        p.images_per_s = static_cast<double>(seen) / std::max(p.seconds, 1e-9);
        p.epoch_done = b + 1 == batches;
        progress(p);
      }
    }
  }
}

}  // namespace advx
