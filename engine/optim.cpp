#include "engine/optim.h"

#include <cmath>

namespace advx {

void SGD::step(const std::vector<Param>& params) {
  if (velocity_.size() != params.size()) {
    velocity_.assign(params.size(), {});
    for (size_t i = 0; i < params.size(); ++i) velocity_[i].assign(params[i].value->data.size(), 0.0f);
  }
  for (size_t i = 0; i < params.size(); ++i) {
    float* w = params[i].value->ptr();
    const float* g = params[i].grad->ptr();
    float* v = velocity_[i].data();
    for (size_t j = 0; j < velocity_[i].size(); ++j) {
      v[j] = momentum * v[j] + g[j];  // v <- mu v + g
      w[j] -= lr * v[j];              // w <- w - lr v
    }
  }
}

void Adam::step(const std::vector<Param>& params) {
  if (m_.size() != params.size()) {
    m_.assign(params.size(), {});
    v_.assign(params.size(), {});
    for (size_t i = 0; i < params.size(); ++i) {
      m_[i].assign(params[i].value->data.size(), 0.0f);
      v_[i].assign(params[i].value->data.size(), 0.0f);
    }
  }
  ++t_;
  const float c1 = 1.0f - std::pow(beta1, static_cast<float>(t_));
  const float c2 = 1.0f - std::pow(beta2, static_cast<float>(t_));
  for (size_t i = 0; i < params.size(); ++i) {
    float* w = params[i].value->ptr();
    const float* g = params[i].grad->ptr();
    float* m = m_[i].data();
    float* v = v_[i].data();
    for (size_t j = 0; j < m_[i].size(); ++j) {
      m[j] = beta1 * m[j] + (1.0f - beta1) * g[j];         // first moment
      v[j] = beta2 * v[j] + (1.0f - beta2) * g[j] * g[j];  // second moment
      // w <- w - lr * m_hat / (sqrt(v_hat) + eps), bias-corrected as in torch.optim.Adam
      w[j] -= lr * (m[j] / c1) / (std::sqrt(v[j] / c2) + eps);
    }
  }
}

}  // namespace advx
