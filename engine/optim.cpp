#include "engine/optim.h"

#include <cmath>

#include "engine/error.h"
#include "engine/parallel.h"

namespace advx {
namespace {

// slots[s][i] -> buffers["<names[s]>.<param i's name>"].
OptimizerState pack(const std::vector<Param>& params, const std::vector<std::string>& names,
                    const std::vector<const std::vector<std::vector<float>>*>& slots, std::int64_t steps) {
  OptimizerState s;
  s.steps = steps;
  for (size_t k = 0; k < names.size(); ++k)
    for (size_t i = 0; i < slots[k]->size() && i < params.size(); ++i)
      s.buffers[names[k] + "." + params[i].name] = (*slots[k])[i];
  return s;
}

// The inverse of pack(), every buffer checked against its parameter's size. No buffers: fresh state.
void unpack(const std::vector<Param>& params, const std::vector<std::string>& names,
            const std::vector<std::vector<std::vector<float>>*>& slots, const OptimizerState& s) {
  for (auto* slot : slots) slot->clear();
  if (s.buffers.empty()) return;
  ADVX_REQUIRE(s.buffers.size() == names.size() * params.size(),
               "optimiser state has " + std::to_string(s.buffers.size()) + " buffers, expected " +
                   std::to_string(names.size() * params.size()) +
                   ": the checkpoint belongs to another model or optimiser");
  for (size_t k = 0; k < names.size(); ++k) {
    slots[k]->assign(params.size(), {});
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string key = names[k] + "." + params[i].name;
      auto it = s.buffers.find(key);
      ADVX_REQUIRE(it != s.buffers.end() && static_cast<std::int64_t>(it->second.size()) == params[i].value->size(),
                   "optimiser state '" + key +
                       "' is missing or has the wrong size: the checkpoint belongs to "
                       "another model or optimiser");
      (*slots[k])[i] = it->second;
    }
  }
}

}  // namespace

OptimizerState SGD::state(const std::vector<Param>& params) const {
  return pack(params, {"velocity"}, {&velocity_}, 0);
}

void SGD::set_state(const std::vector<Param>& params, const OptimizerState& s) {
  unpack(params, {"velocity"}, {&velocity_}, s);
}

OptimizerState Adam::state(const std::vector<Param>& params) const {
  return pack(params, {"m", "v"}, {&m_, &v_}, t_);
}

void Adam::set_state(const std::vector<Param>& params, const OptimizerState& s) {
  ADVX_REQUIRE(s.steps >= 0, "optimiser state: negative step count");
  unpack(params, {"m", "v"}, {&m_, &v_}, s);
  t_ = static_cast<long>(s.steps);
}

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
      const float gj = g[j] + weight_decay * w[j];            // the L2 penalty's gradient
      v[j] = momentum * v[j] + gj;                            // v <- mu v + g
      w[j] -= lr * (nesterov ? gj + momentum * v[j] : v[j]);  // w <- w - lr v (Nesterov: lr (g + mu v))
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
  // Elementwise, so the split over threads does not change the result; big tensors are split (one
  // thread updating 150k-3M weights while the other waited was 8% of a `small` epoch). Vectorised:
  // -fno-math-errno for this file (CMakeLists.txt), and locals instead of members in the loop (a
  // store through w could alias this->beta1 as far as the compiler knows).
  const float b1 = beta1, b2 = beta2, rate = lr, e = eps, wd = weight_decay;
  for (size_t i = 0; i < params.size(); ++i) {
    float* __restrict w = params[i].value->ptr();
    const float* __restrict g = params[i].grad->ptr();
    float* __restrict m = m_[i].data();
    float* __restrict v = v_[i].data();
    parallel_rows(static_cast<int>(m_[i].size()), 8.0, [=](int begin, int end) {
      for (int j = begin; j < end; ++j) {
        const float gj = g[j] + wd * w[j];         // the L2 penalty's gradient (torch.optim.Adam)
        m[j] = b1 * m[j] + (1.0f - b1) * gj;       // first moment
        v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;  // second moment
        // w <- w - lr * m_hat / (sqrt(v_hat) + eps), bias-corrected as in torch.optim.Adam
        w[j] -= rate * (m[j] / c1) / (std::sqrt(v[j] / c2) + e);
      }
    });
  }
}

}  // namespace advx
