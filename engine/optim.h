// Optimisers over a model's parameters. Same update rules as torch.optim.SGD (momentum,
// dampening 0) and torch.optim.Adam (Kingma & Ba 2015, arXiv:1412.6980).
#pragma once
#include <vector>

#include "engine/layers/layer.h"

namespace advx {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step(const std::vector<Param>& params) = 0;
  float lr = 1e-3f;
};

class SGD : public Optimizer {
 public:
  SGD(float learning_rate, float momentum_) : momentum(momentum_) { lr = learning_rate; }
  void step(const std::vector<Param>& params) override;
  float momentum;

 private:
  std::vector<std::vector<float>> velocity_;
};

class Adam : public Optimizer {
 public:
  explicit Adam(float learning_rate, float b1 = 0.9f, float b2 = 0.999f, float e = 1e-8f)
      : beta1(b1), beta2(b2), eps(e) {
    lr = learning_rate;
  }
  void step(const std::vector<Param>& params) override;
  float beta1, beta2, eps;

 private:
  std::vector<std::vector<float>> m_, v_;
  long t_ = 0;
};

}  // namespace advx
