// Optimisers over a model's parameters. Same update rules as torch.optim.SGD (momentum,
// dampening 0, optional Nesterov momentum of Sutskever et al. 2013 in torch's form) and
// torch.optim.Adam (Kingma & Ba 2015, arXiv:1412.6980), each with torch's weight decay: an L2
// penalty (wd / 2) |w|^2 added to the loss, i.e. g <- g + wd * w before the update (for Adam the
// coupled form of torch.optim.Adam, not AdamW's decoupled one).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/layers/layer.h"

namespace advx {

// What an optimiser carries from one step to the next, for checkpoints: its step count and one
// buffer per slot and parameter, named "<slot>.<parameter name>" ("m.0.weight", "v.0.weight" for
// Adam, "velocity.0.weight" for SGD); no buffers before the first step.
struct OptimizerState {
  std::int64_t steps = 0;
  std::map<std::string, std::vector<float>> buffers;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step(const std::vector<Param>& params) = 0;
  // The state over `params` (the same list step() is given), and back; set_state checks every
  // buffer's name and size against `params` and throws advx::Error naming the first mismatch.
  virtual OptimizerState state(const std::vector<Param>& params) const = 0;
  virtual void set_state(const std::vector<Param>& params, const OptimizerState& s) = 0;
  float lr = 1e-3f;
  float weight_decay = 0.0f;
};

class SGD : public Optimizer {
 public:
  SGD(float learning_rate, float momentum_, bool nesterov_ = false) : momentum(momentum_), nesterov(nesterov_) {
    lr = learning_rate;
  }
  void step(const std::vector<Param>& params) override;
  OptimizerState state(const std::vector<Param>& params) const override;
  void set_state(const std::vector<Param>& params, const OptimizerState& s) override;
  float momentum;
  bool nesterov;  // step along g + mu v instead of v

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
  OptimizerState state(const std::vector<Param>& params) const override;
  void set_state(const std::vector<Param>& params, const OptimizerState& s) override;
  float beta1, beta2, eps;

 private:
  std::vector<std::vector<float>> m_, v_;
  long t_ = 0;
};

}  // namespace advx
