// Training the autoencoders of the MagNet-style defences (engine/defences/autoencoder.cpp): a
// denoising autoencoder (Vincent et al. 2008; MagNet, Meng & Chen 2017, arXiv:1705.09064, trains its
// autoencoders on inputs with Gaussian noise) and a contractive one (Rifai et al. 2011, ICML,
// "Contractive auto-encoders").
//
//   loss = 1/(N D) sum_n |AE(x~_n) - x_n|^2  +  lambda/N sum_n |J_h(x~_n)|_F^2
//   x~   = clip(x + N(0, noise^2), 0, 1)            (denoising; x~ = x when noise = 0)
//   J_h  = dh/dx of the encoder's first hidden layer h = sigmoid(W x + b), whose squared Frobenius
//          norm has the closed form sum_j (h_j (1 - h_j))^2 |W_j|^2 (Rifai et al., eq. 2-3)
// D pixels per image; Adam, seeded shuffling and noise (advx::Rng), as engine/train/train.h.
// Deviation: MagNet adds an L2 weight penalty (1e-9); we do not (its effect at that size is nil).
#pragma once
#include <cstdint>
#include <functional>

#include "engine/data/dataset.h"
#include "engine/layers/layers.h"
#include "engine/model.h"

namespace advx {

struct AutoencoderConfig {
  int epochs = 1;
  int batch = 64;
  float lr = 1e-3f;
  float lr_decay = 1.0f;     // per-epoch factor, as TrainConfig
  std::uint64_t seed = 1;    // shuffling and noise
  int limit = 0;             // the first `limit` training images only (0 = all)
  float noise = 0.0f;        // standard deviation of the Gaussian input noise (denoising), pixels
  float contractive = 0.0f;  // lambda; > 0 needs a Linear followed by a Sigmoid (the encoder)
};

struct AutoencoderProgress {
  int epoch = 0, epochs = 0, batch = 0, batches = 0;
  double mse = 0.0;      // running mean of the reconstruction error (per pixel) this epoch
  double penalty = 0.0;  // running mean of the contractive penalty (lambda included)
  double seconds = 0.0, images_per_s = 0.0;
  bool epoch_done = false;
};

void train_autoencoder(Sequential& ae, const Dataset& data, const AutoencoderConfig& cfg,
                       const std::function<void(const AutoencoderProgress&)>& progress);

// Mean squared reconstruction error per pixel of `ae` on `images` (no noise).
double reconstruction_mse(Sequential& ae, const Tensor& images, int batch = 256);

// The contractive penalty of one encoder layer h = sigmoid(a), a = x W^T + b, for a batch whose
// hidden units are h [N, H]: returns P = scale * sum_n sum_j (h_nj (1 - h_nj))^2 |W_j|^2 and, if the
// pointers are set, dP/dh [N, H] (to be back-propagated through the Sigmoid and the Linear) and ADDS
// the direct part of dP/dW (through |W_j|^2) into *dW. Split so the Sequential's own backward
// carries the part through h: dP/dh_nj = scale * 2 h'_nj (1 - 2 h_nj) |W_j|^2, h' = h (1 - h), and
// directly dP/dW_ji = scale * 2 W_ji sum_n h'_nj^2.
double contractive_penalty(const Linear& encoder, const Tensor& h, float scale, Tensor* dh, Tensor* dW);

// The index of the contractive layer: the first Linear followed directly by a Sigmoid (throws if none).
std::size_t encoder_layer(const Sequential& ae);

}  // namespace advx
