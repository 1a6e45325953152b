#include "engine/models.h"

#include <memory>

#include "engine/error.h"
#include "engine/layers/layers.h"

namespace advx {

const std::vector<ArchInfo>& architectures() {
  static const std::vector<ArchInfo> list = {
      {"softmax", "784 -> 10 softmax regression (Goodfellow, Shlens, Szegedy 2015, arXiv:1412.6572)", {1, 28, 28}},
      {"fc500", "784-500-150-10 MLP, ReLU (DeepFool, Moosavi-Dezfooli et al. 2016, arXiv:1511.04599)", {1, 28, 28}},
      {"cnn",
       "conv32 5x5 p2, pool2, conv64 5x5 p2, pool2, fc1024, fc10 (Madry et al. 2018 MNIST CNN, arXiv:1706.06083)",
       {1, 28, 28}},
      {"small",
       "conv16 4x4 s2 p1, conv32 4x4 s2 p1, fc100, fc10 (Wong, Rice, Kolter 2020, arXiv:2001.03994)",
       {1, 28, 28}},
      {"cifar_lenet",
       "CIFAR-10, 3x32x32 input: conv6 5x5, pool2, conv16 5x5, pool2, fc120, fc84, fc10 (LeNet-5 as in the PyTorch "
       "CIFAR-10 tutorial; LeCun et al. 1998)",
       {3, 32, 32}},
      {"ae_conv",
       "autoencoder, MNIST: conv3 3x3 p1, sigmoid, avgpool2, conv3 3x3 p1, sigmoid, conv3 3x3 p1, sigmoid, upsample2, "
       "conv3 3x3 p1, sigmoid, conv1 3x3 p1, sigmoid, flatten (MagNet's MNIST autoencoder, Meng & Chen 2017, "
       "arXiv:1705.09064)",
       {1, 28, 28},
       true},
      {"ae_dense",
       "autoencoder, MNIST: 784-256-784, sigmoid (the contractive autoencoder of Rifai et al. 2011, one hidden layer)",
       {1, 28, 28},
       true},
  };
  return list;
}

const ArchInfo* find_architecture(const std::string& name) {
  for (const ArchInfo& a : architectures())
    if (a.name == name) return &a;
  return nullptr;
}

namespace {

template <class L, class... A>
L& push(Sequential& m, A... args) {
  auto layer = std::make_unique<L>(args...);
  L& ref = *layer;
  m.add(std::move(layer));
  return ref;
}

}  // namespace

// Each architecture is also written, layer for layer, as a PyTorch nn.Sequential in
// tests/reference/arch.py; the parameter names ("<index>.weight") follow from the layer order.
Sequential make_model(const std::string& name, std::uint64_t seed, bool init_weights) {
  const ArchInfo* info = find_architecture(name);
  if (!info) {
    std::string known;
    for (const ArchInfo& a : architectures()) known += (known.empty() ? "" : ", ") + a.name;
    throw Error("unknown model architecture '" + name + "'; known: " + known);
  }
  // A classifier has 10 classes; an autoencoder's outputs are its reconstructed pixels.
  Sequential m(name, info->input, info->autoencoder ? static_cast<int>(shape_size(info->input)) : 10);
  Rng rng(seed);
  // PyTorch-default initialisation, skipped when the weights are about to be loaded from a file.
  auto init = [&](auto& layer) {
    if (init_weights) layer.init(rng);
  };
  if (name == "softmax") {
    push<Flatten>(m);
    init(push<Linear>(m, 784, 10));
  } else if (name == "fc500") {
    push<Flatten>(m);
    init(push<Linear>(m, 784, 500));
    push<ReLU>(m);
    init(push<Linear>(m, 500, 150));
    push<ReLU>(m);
    init(push<Linear>(m, 150, 10));
  } else if (name == "cnn") {
    init(push<Conv2d>(m, 1, 32, 5, 1, 2));
    push<ReLU>(m);
    push<MaxPool2d>(m, 2, 2);
    init(push<Conv2d>(m, 32, 64, 5, 1, 2));
    push<ReLU>(m);
    push<MaxPool2d>(m, 2, 2);
    push<Flatten>(m);
    init(push<Linear>(m, 7 * 7 * 64, 1024));
    push<ReLU>(m);
    init(push<Linear>(m, 1024, 10));
  } else if (name == "small") {
    init(push<Conv2d>(m, 1, 16, 4, 2, 1));
    push<ReLU>(m);
    init(push<Conv2d>(m, 16, 32, 4, 2, 1));
    push<ReLU>(m);
    push<Flatten>(m);
    init(push<Linear>(m, 32 * 7 * 7, 100));
    push<ReLU>(m);
    init(push<Linear>(m, 100, 10));
  } else if (name == "cifar_lenet") {
    init(push<Conv2d>(m, 3, 6, 5, 1, 0));  // -> 6 x 28 x 28
    push<ReLU>(m);
    push<MaxPool2d>(m, 2, 2);               // -> 6 x 14 x 14
    init(push<Conv2d>(m, 6, 16, 5, 1, 0));  // -> 16 x 10 x 10
    push<ReLU>(m);
    push<MaxPool2d>(m, 2, 2);  // -> 16 x 5 x 5
    push<Flatten>(m);
    init(push<Linear>(m, 16 * 5 * 5, 120));
    push<ReLU>(m);
    init(push<Linear>(m, 120, 84));
    push<ReLU>(m);
    init(push<Linear>(m, 84, 10));
  } else if (name == "ae_conv") {
    init(push<Conv2d>(m, 1, 3, 3, 1, 1));  // -> 3 x 28 x 28
    push<Sigmoid>(m);
    push<AvgPool2d>(m, 2, 2);  // -> 3 x 14 x 14
    init(push<Conv2d>(m, 3, 3, 3, 1, 1));
    push<Sigmoid>(m);
    init(push<Conv2d>(m, 3, 3, 3, 1, 1));
    push<Sigmoid>(m);
    push<Upsample>(m, 2);  // -> 3 x 28 x 28
    init(push<Conv2d>(m, 3, 3, 3, 1, 1));
    push<Sigmoid>(m);
    init(push<Conv2d>(m, 3, 1, 3, 1, 1));  // -> 1 x 28 x 28
    push<Sigmoid>(m);
    push<Flatten>(m);
  } else if (name == "ae_dense") {
    push<Flatten>(m);
    init(push<Linear>(m, 784, 256));
    push<Sigmoid>(m);
    init(push<Linear>(m, 256, 784));
    push<Sigmoid>(m);
  }
  // Validate the chain of shapes once, so a wrong architecture fails here and not mid-forward.
  Shape s = m.input_shape();
  for (const LayerPtr& l : m.layers) s = l->output_shape(s);
  ADVX_REQUIRE(s == Shape{m.num_classes()}, "architecture '" + name + "' ends in " + shape_str(s));
  return m;
}

}  // namespace advx
