// GRU cell (Cho et al. 2014, arXiv:1406.1078), in PyTorch's variant as torch.nn.GRU documents it
// (https://pytorch.org/docs/stable/generated/torch.nn.GRU.html):
//
//   r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
//   z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
//   n_t = tanh   (W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
//   h_t = (1 - z_t) * n_t + z_t * h_{t-1}      h_{-1} = 0
//
// The reset gate multiplies (W_hn h + b_hn), after the product: PyTorch's (and cuDNN's) form, not
// the paper's r * h inside the product. So b_hn cannot be merged into b_in and the recurrent
// projection Ah = Hprev W_hh^T + b_hh is kept apart from the input projection Ax = Xp W_ih^T + b_ih.
// W_ih = [W_ir; W_iz; W_in] [3H, E], W_hh likewise [3H, H], biases [3H]: gate order (r, z, n).
// Memory (packed rows, sequence.h), row-major:
//   act_ [P, 3H]  (r | z | n) after their nonlinearity
//   hn_  [P, H]   W_hn h_{t-1} + b_hn (the third block of Ah, which r multiplies)
//   h_, hprev_ [P, H]   h_t and h_{t-1}
//
// Backward (BPTT) from t = Tmax-1 down to 0, dh = dL/dh_t for the B_t active sorted positions
// (after inject_dy), hp = h_{t-1}:
//   d(n) = dh (1 - z)      d(z) = dh (hp - n)     direct part of dL/dh_{t-1}: dh z
//   dN   = d(n) (1 - n^2)                         (pre-tanh)
//   d(r) = dN * hn
//   dAx = (d(r) r (1 - r) | d(z) z (1 - z) | dN)        = dGi of recurrent.cpp
//   dAh = (d(r) r (1 - r) | d(z) z (1 - z) | dN * r)    = dGh
//   dL/dh_{t-1} = dh z + dAh_t W_hh           ([B_t, 3H] x [3H, H])
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

void GRU::cell_forward() {
  const int hs = hidden_size, gh = 3 * hs;
  project_input(act_, false);  // Ax = Xp W_ih^T + b_ih
  const int p = offsets_.back();
  hn_.resize({p, hs});
  ah_.resize({n_, gh});
  const CMapR whh(weight_hh.ptr(), gh, hs);
  const Eigen::Map<const Eigen::RowVectorXf> bhh(bias_hh.ptr(), gh);
  const int steps = static_cast<int>(batch_sizes_.size());
  for (int t = 0; t < steps; ++t) {
    const int bt = batch_sizes_[static_cast<size_t>(t)], off = offsets_[static_cast<size_t>(t)];
    const int prev = t > 0 ? offsets_[static_cast<size_t>(t) - 1] : 0;
    for (int b = 0; b < bt; ++b)
      for (int j = 0; j < hs; ++j)
        hprev_.data[static_cast<size_t>(off + b) * hs + j] =
            t > 0 ? h_.data[static_cast<size_t>(prev + b) * hs + j] : 0.0f;
    parallel_rows(
        bt, static_cast<double>(gh) * hs,
        [&](int b0, int b1) {
          // Ah_t = Hprev_t W_hh^T + b_hh for these rows (just b_hh at t = 0, where h_{-1} = 0).
          auto ah = ah_.mat().middleRows(b0, b1 - b0);
          if (t > 0)
            kernels::matmul(kernels::N(hprev_.mat().middleRows(off + b0, b1 - b0)), kernels::T(whh), ah);
          else
            ah.setZero();
          ah.rowwise() += bhh;
          for (int b = b0; b < b1; ++b) {
            const std::int64_t r = off + b;
            float* a = act_.ptr() + r * gh;
            const float* hh = ah_.ptr() + static_cast<std::int64_t>(b) * gh;
            const float* hp = hprev_.ptr() + r * hs;
            float* hn = hn_.ptr() + r * hs;
            float* h = h_.ptr() + r * hs;
            for (int j = 0; j < hs; ++j) {
              const float rg = sigmoid(a[j] + hh[j]);
              const float z = sigmoid(a[hs + j] + hh[hs + j]);
              hn[j] = hh[2 * hs + j];
              const float n = std::tanh(a[2 * hs + j] + rg * hn[j]);
              a[j] = rg, a[hs + j] = z, a[2 * hs + j] = n;
              h[j] = (1.0f - z) * n + z * hp[j];  // h_t = (1 - z) n + z h_{t-1}
            }
          }
        },
        kRecurrentParallelWork);
  }
}

void GRU::cell_backward(const Tensor& dy) {
  const int hs = hidden_size, gh = 3 * hs;
  const int p = offsets_.back();
  dgh_.resize({p, gh});
  dh_.resize({n_, hs});
  dh_.fill(0.0f);
  const CMapR whh(weight_hh.ptr(), gh, hs);
  const int steps = static_cast<int>(batch_sizes_.size());
  for (int t = steps - 1; t >= 0; --t) {
    const int bt = batch_sizes_[static_cast<size_t>(t)], off = offsets_[static_cast<size_t>(t)];
    inject_dy(dy, t, dh_.ptr());
    parallel_rows(
        bt, static_cast<double>(gh) * hs,
        [&](int b0, int b1) {
          for (int b = b0; b < b1; ++b) {
            const std::int64_t r = off + b;
            const float* a = act_.ptr() + r * gh;
            const float* hn = hn_.ptr() + r * hs;
            const float* hp = hprev_.ptr() + r * hs;
            float* dx = dgi_.ptr() + r * gh;
            float* dr = dgh_.ptr() + r * gh;
            float* dh = dh_.ptr() + static_cast<std::int64_t>(b) * hs;
            for (int j = 0; j < hs; ++j) {
              const float rg = a[j], z = a[hs + j], n = a[2 * hs + j];
              const float dn = dh[j] * (1.0f - z) * (1.0f - n * n);   // dN, pre-tanh
              const float dz = dh[j] * (hp[j] - n) * z * (1.0f - z);  // dA_z
              const float dres = dn * hn[j] * rg * (1.0f - rg);       // dA_r
              dx[j] = dres, dx[hs + j] = dz, dx[2 * hs + j] = dn;
              dr[j] = dres, dr[hs + j] = dz, dr[2 * hs + j] = dn * rg;
              dh[j] *= z;  // direct part of dL/dh_{t-1}
            }
          }
          // dL/dh_{t-1} += dAh_t W_hh for these rows (not needed below step 0).
          if (t > 0)
            kernels::matmul(kernels::N(dgh_.mat().middleRows(off + b0, b1 - b0)), kernels::N(whh),
                            dh_.mat().middleRows(b0, b1 - b0), true);
        },
        kRecurrentParallelWork);
  }
}

}  // namespace advx
