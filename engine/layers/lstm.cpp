// LSTM cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000), exactly as
// torch.nn.LSTM documents it (https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html):
//
//   i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
//   f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
//   g_t = tanh   (W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
//   o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
//   c_t = f_t * c_{t-1} + i_t * g_t
//   h_t = o_t * tanh(c_t)                      h_{-1} = c_{-1} = 0
//
// W_ih = [W_ii; W_if; W_ig; W_io] [4H, E], W_hh likewise [4H, H], biases [4H]: gate blocks of H
// rows in the order (i, f, g, o). Memory (packed rows, sequence.h), all row-major:
//   act_ [P, 4H]  row r = (i | f | g | o) after their nonlinearity, columns [kH, (k+1)H) = gate k
//   c_   [P, H]   c_t        h_ [P, H] h_t        hprev_ [P, H] h_{t-1}
//
// Forward: A = Xp W_ih^T + b_ih + b_hh for all steps (one GEMM, recurrent.cpp); then step by step
// A_t += Hprev_t W_hh^T (one [B_t, H] x [H, 4H] GEMM) and the elementwise cell, overwriting A_t with
// the activated gates.
//
// Backward (BPTT) from t = Tmax-1 down to 0, with dh = dL/dh_t and dc = dL/dc_t (from later steps)
// for the B_t active sorted positions, after adding dL/dy's share for step t (inject_dy):
//   dc   += dh * o * (1 - tanh(c_t)^2)       (h_t = o tanh(c_t))
//   d(o) = dh * tanh(c_t)
//   d(i) = dc * g      d(g) = dc * i      d(f) = dc * c_{t-1}
//   dL/dc_{t-1} = dc * f
//   pre-activation gradients (sigmoid' = s (1 - s), tanh' = 1 - tanh^2):
//   dA_i = d(i) i (1 - i)   dA_f = d(f) f (1 - f)   dA_g = d(g) (1 - g^2)   dA_o = d(o) o (1 - o)
//   dL/dh_{t-1} = dA_t W_hh                   ([B_t, 4H] x [4H, H])
// dA is both dGi and dGh of recurrent.cpp (the biases b_ih and b_hh enter the same sum), which turns
// it into the weight, bias and input gradients. A sample that ends at step t starts its backward
// there with dh = dL/dy and dc = 0: its rows of dh_/dc_ (sorted positions >= B_{t+1}) are untouched
// until then, since a position is only written while it is active.
#include <cmath>

#include "engine/kernels/eigen_gemm.h"
#include "engine/layers/sequence.h"
#include "engine/parallel.h"

namespace advx {
namespace {

inline float sigmoid(float v) {
  return 1.0f / (1.0f + std::exp(-v));
}

}  // namespace

void LSTM::cell_forward() {
  const int hs = hidden_size, gh = 4 * hs;
  project_input(act_, true);
  const int p = offsets_.back();
  c_.resize({p, hs});
  const CMapR whh(weight_hh.ptr(), gh, hs);
  const int steps = static_cast<int>(batch_sizes_.size());
  for (int t = 0; t < steps; ++t) {
    const int bt = batch_sizes_[static_cast<size_t>(t)], off = offsets_[static_cast<size_t>(t)];
    const int prev = t > 0 ? offsets_[static_cast<size_t>(t) - 1] : 0;
    // Hprev_t = the first B_t rows of step t-1's h (0 at t = 0).
    for (int b = 0; b < bt; ++b)
      for (int j = 0; j < hs; ++j)
        hprev_.data[static_cast<size_t>(off + b) * hs + j] =
            t > 0 ? h_.data[static_cast<size_t>(prev + b) * hs + j] : 0.0f;
    // Row blocks of the step's samples on separate threads (rows are independent given h_{t-1}).
    parallel_rows(
        bt, static_cast<double>(gh) * hs,
        [&](int b0, int b1) {
          if (t > 0)
            kernels::matmul(kernels::N(hprev_.mat().middleRows(off + b0, b1 - b0)), kernels::T(whh),
                            act_.mat().middleRows(off + b0, b1 - b0), true);
          for (int b = b0; b < b1; ++b) {
            const std::int64_t r = off + b;
            float* a = act_.ptr() + r * gh;
            float* c = c_.ptr() + r * hs;
            float* h = h_.ptr() + r * hs;
            const float* cp = t > 0 ? c_.ptr() + static_cast<std::int64_t>(prev + b) * hs : nullptr;
            for (int j = 0; j < hs; ++j) {
              const float i = sigmoid(a[j]), f = sigmoid(a[hs + j]), g = std::tanh(a[2 * hs + j]),
                          o = sigmoid(a[3 * hs + j]);
              a[j] = i, a[hs + j] = f, a[2 * hs + j] = g, a[3 * hs + j] = o;
              c[j] = (cp ? f * cp[j] : 0.0f) + i * g;  // c_t = f c_{t-1} + i g
              h[j] = o * std::tanh(c[j]);              // h_t = o tanh(c_t)
            }
          }
        },
        kRecurrentParallelWork);
  }
}

void LSTM::cell_backward(const Tensor& dy) {
  const int hs = hidden_size, gh = 4 * hs;
  dgh_.resize({0});  // dGh = dGi (recurrent.cpp)
  dh_.resize({n_, hs});
  dh_.fill(0.0f);
  dc_.resize({n_, hs});
  dc_.fill(0.0f);
  const CMapR whh(weight_hh.ptr(), gh, hs);
  const int steps = static_cast<int>(batch_sizes_.size());
  for (int t = steps - 1; t >= 0; --t) {
    const int bt = batch_sizes_[static_cast<size_t>(t)], off = offsets_[static_cast<size_t>(t)];
    const int prev = t > 0 ? offsets_[static_cast<size_t>(t) - 1] : 0;
    inject_dy(dy, t, dh_.ptr());
    parallel_rows(
        bt, static_cast<double>(gh) * hs,
        [&](int b0, int b1) {
          for (int b = b0; b < b1; ++b) {
            const std::int64_t r = off + b;
            const float* a = act_.ptr() + r * gh;
            const float* c = c_.ptr() + r * hs;
            const float* cp = t > 0 ? c_.ptr() + static_cast<std::int64_t>(prev + b) * hs : nullptr;
            float* da = dgi_.ptr() + r * gh;
            float* dh = dh_.ptr() + static_cast<std::int64_t>(b) * hs;
            float* dc = dc_.ptr() + static_cast<std::int64_t>(b) * hs;
            for (int j = 0; j < hs; ++j) {
              const float i = a[j], f = a[hs + j], g = a[2 * hs + j], o = a[3 * hs + j];
              const float tc = std::tanh(c[j]);
              const float dcj = dc[j] + dh[j] * o * (1.0f - tc * tc);  // dL/dc_t
              const float d_o = dh[j] * tc;
              da[j] = dcj * g * i * (1.0f - i);                         // dA_i
              da[hs + j] = (cp ? dcj * cp[j] : 0.0f) * f * (1.0f - f);  // dA_f (c_{-1} = 0)
              da[2 * hs + j] = dcj * i * (1.0f - g * g);                // dA_g
              da[3 * hs + j] = d_o * o * (1.0f - o);                    // dA_o
              dc[j] = dcj * f;                                          // dL/dc_{t-1}
            }
          }
          // dL/dh_{t-1} = dA_t W_hh for these rows (not needed below step 0).
          if (t > 0)
            kernels::matmul(kernels::N(dgi_.mat().middleRows(off + b0, b1 - b0)), kernels::N(whh),
                            dh_.mat().middleRows(b0, b1 - b0));
        },
        kRecurrentParallelWork);
  }
}

}  // namespace advx
