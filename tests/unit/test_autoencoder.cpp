// The autoencoders: the contractive penalty's closed form and gradients against finite differences,
// training that lowers the reconstruction error (seeded), and the shipped autoencoders' reformer
// accuracy.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/data/dataset.h"
#include "engine/defences/defence.h"
#include "engine/error.h"
#include "engine/eval/evaluate.h"
#include "engine/io/model_io.h"
#include "engine/models.h"
#include "engine/train/autoencoder.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

// P(W, b) for a batch x: the encoder's forward then the penalty (scale 1).
double penalty_at(Linear& enc, const Tensor& x) {
  Tensor a, h;
  enc.forward(x, a, false);
  Sigmoid sg;
  sg.forward(a, h, false);
  return contractive_penalty(enc, h, 1.0f, nullptr, nullptr);
}

}  // namespace

TEST_CASE("contractive penalty: the closed form is |dh/dx|_F^2, and its gradients match finite differences",
          "[autoencoder][grad]") {
  Rng rng(1);
  Linear enc(6, 4);
  enc.init(rng);
  Tensor x({3, 6});
  for (float& v : x.data) v = rng.uniform();
  // |J|_F^2 by brute force: dh_j/dx_i = h_j (1 - h_j) W_ji.
  Tensor a, h;
  enc.forward(x, a, false);
  Sigmoid sg;
  sg.forward(a, h, false);
  double brute = 0.0;
  for (int s = 0; s < 3; ++s)
    for (int j = 0; j < 4; ++j)
      for (int i = 0; i < 6; ++i) {
        const double hj = h.data[static_cast<std::size_t>(s * 4 + j)];
        brute += std::pow(hj * (1 - hj) * enc.weight.data[static_cast<std::size_t>(j * 6 + i)], 2.0);
      }
  CHECK(penalty_at(enc, x) == Approx(brute).epsilon(1e-5));
  // Analytic dP/dW and dP/db: the direct part plus dP/dh back through the Sigmoid and the Linear.
  Tensor dh, dW(enc.weight.shape, 0.0f), da;
  contractive_penalty(enc, h, 1.0f, &dh, &dW);
  sg.backward(a, h, dh, &da, false);
  enc.weight_grad.fill(0.0f);
  enc.bias_grad.fill(0.0f);
  enc.backward(x, a, da, nullptr, true);
  for (std::size_t i = 0; i < dW.data.size(); ++i) dW.data[i] += enc.weight_grad.data[i];
  auto numeric = [&](float& v) {
    const float old = v;
    v = old + 1e-2f;
    const double p = penalty_at(enc, x);
    v = old - 1e-2f;
    const double m = penalty_at(enc, x);
    v = old;
    return (p - m) / 2e-2;
  };
  for (std::size_t i = 0; i < enc.weight.data.size(); ++i)
    CHECK(dW.data[i] == Approx(numeric(enc.weight.data[i])).margin(1e-4));
  for (std::size_t j = 0; j < enc.bias.data.size(); ++j)
    CHECK(enc.bias_grad.data[j] == Approx(numeric(enc.bias.data[j])).margin(1e-4));
}

TEST_CASE("autoencoder training lowers the reconstruction error, reproducibly, clear errors", "[autoencoder]") {
  Dataset d;
  d.images = test::random_images(256, 3);
  // Structured images (a bright square somewhere), so there is something to learn.
  for (int n = 0; n < 256; ++n)
    for (int i = 0; i < 784; ++i) {
      const int y = i / 28, x = i % 28, c = 6 + n % 16;
      d.images.data[static_cast<std::size_t>(n * 784 + i)] =
          (std::abs(y - c) < 4 && std::abs(x - 14) < 4) ? 1.0f : 0.0f;
    }
  d.labels.assign(256, 0);
  for (const char* arch : {"ae_conv", "ae_dense"}) {
    INFO(arch);
    Sequential ae = make_model(arch, 4);
    const double before = reconstruction_mse(ae, d.images);
    AutoencoderConfig cfg;
    cfg.epochs = 3, cfg.batch = 32, cfg.lr = 1e-2f, cfg.noise = 0.1f;
    if (std::string(arch) == "ae_dense") cfg.contractive = 1e-3f;
    double last_penalty = -1.0;
    train_autoencoder(ae, d, cfg, [&](const AutoencoderProgress& p) { last_penalty = p.penalty; });
    const double after = reconstruction_mse(ae, d.images);
    CHECK(after < 0.7 * before);
    CHECK((cfg.contractive > 0.0f ? last_penalty > 0.0 : last_penalty == 0.0));
    Sequential again = make_model(arch, 4);
    train_autoencoder(again, d, cfg, nullptr);
    CHECK(again.params()[0].value->data == ae.params()[0].value->data);  // seeded: bit for bit
  }
  Sequential conv = make_model("ae_conv", 1);
  AutoencoderConfig c;
  c.contractive = 0.1f;
  REQUIRE_THROWS_WITH(train_autoencoder(conv, d, c, nullptr),
                      Catch::Contains("needs a Linear layer followed by a Sigmoid"));
  Sequential cls = make_model("small", 1);
  REQUIRE_THROWS_WITH(train_autoencoder(cls, d, AutoencoderConfig{}, nullptr),
                      Catch::Contains("is not an autoencoder"));
}

TEST_CASE("shipped autoencoders: the reformer keeps cnn's clean accuracy within 0.5 points", "[autoencoder][shipped]") {
  Sequential cnn = load_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/cnn.safetensors");
  const Dataset test = load_dataset(resolve_data_dir(""), "mnist", "test").head(2000);
  const double bare = evaluate(cnn, test, EvalConfig{}).clean_acc;
  for (const char* ae : {"dae", "cae"}) {
    ParamValues p = defaults(get_defence("autoencoder").params);
    p.set("ae", std::string(ae) == "dae" ? 0 : 1);
    std::unique_ptr<Classifier> d = build_defence(get_defence("autoencoder"), disk_context(""), cnn, p, true);
    const double reformed = evaluate(*d, test, EvalConfig{}).clean_acc;
    INFO(ae << ": bare " << bare << " reformed " << reformed);
    CHECK(reformed >= bare - 0.005);
  }
}
