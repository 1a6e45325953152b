// The part of LSTM and GRU that does not depend on the cell: lengths, packing, the input projection
// (one GEMM over every valid time step), the parameter and input gradients that follow from the
// per-step gate gradients, and PyTorch's initialisation. Layout and semantics: sequence.h.
//
// Notation (G = number of gate blocks, 4 for LSTM, 3 for GRU; P packed rows, sequence.h):
//   Xp [P, E]       packed input, row off_t + b = x[order[b], t, :]
//   W_ih [G*H, E], W_hh [G*H, H], b_ih, b_hh [G*H]
//   Hprev [P, H]    h_{t-1} of every packed row (0 at t = 0)
//   dGi [P, G*H]    dL/d(Xp W_ih^T + b_ih), what the cell's backward leaves in dgi_
//   dGh [P, G*H]    dL/d(Hprev W_hh^T + b_hh) (dgh_; for LSTM the two are equal, dgh_ is empty)
// then, summing over packed rows (only valid steps exist, so padding contributes nothing):
//   dL/dW_ih += dGi^T Xp      dL/db_ih += sum_rows dGi
//   dL/dW_hh += dGh^T Hprev   dL/db_hh += sum_rows dGh
//   dL/dXp    = dGi W_ih      scattered back to dL/dx [N, T, E], 0 at padding positions.
// Through Eigen only: unlike Linear and Conv2d there is no engine/kernels path yet, so in the
// WebAssembly build these products run Eigen's scalar kernels (slower, same results).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/error.h"
#include "engine/kernels/eigen_gemm.h"
#include "engine/layers/sequence.h"
#include "engine/parallel.h"

namespace advx {

void check_lengths(const std::vector<int>& lengths, int n, int t, const std::string& what) {
  ADVX_REQUIRE(static_cast<int>(lengths.size()) == n, what + ": " + std::to_string(lengths.size()) +
                                                          " lengths for a batch of " + std::to_string(n) +
                                                          " sequences; give exactly one length per sequence");
  for (size_t i = 0; i < lengths.size(); ++i)
    ADVX_REQUIRE(lengths[i] >= 1 && lengths[i] <= t,
                 what + ": sequence " + std::to_string(i) + " has length " + std::to_string(lengths[i]) +
                     ", outside [1, " + std::to_string(t) + "] (the padded length); an empty sequence has no last " +
                     "state: give it at least one token (e.g. the unknown token)");
}

Recurrent::Recurrent(int input, int hidden, int num_gates, Output out)
    : weight_ih({num_gates * hidden, input}),
      weight_hh({num_gates * hidden, hidden}),
      bias_ih({num_gates * hidden}),
      bias_hh({num_gates * hidden}),
      weight_ih_grad({num_gates * hidden, input}),
      weight_hh_grad({num_gates * hidden, hidden}),
      bias_ih_grad({num_gates * hidden}),
      bias_hh_grad({num_gates * hidden}),
      input_size(input),
      hidden_size(hidden),
      gates(num_gates),
      output(out) {
  ADVX_REQUIRE(input > 0 && hidden > 0, "recurrent layer: input_size and hidden_size must be > 0, got " +
                                            std::to_string(input) + " and " + std::to_string(hidden));
}

Shape Recurrent::output_shape(const Shape& in) const {
  ADVX_REQUIRE(in.size() == 2 && in[0] >= 1 && in[1] == input_size,
               kind() + "(" + std::to_string(input_size) + ", " + std::to_string(hidden_size) +
                   ") got per-sample input " + shape_str(in) + "; expected [T, " + std::to_string(input_size) +
                   "] (time steps, features)");
  if (output == Output::All) return {in[0], hidden_size};
  return {hidden_size};
}

void Recurrent::init(Rng& rng) {
  // torch.nn.RNNBase.reset_parameters: stdv = 1/sqrt(hidden_size); init.uniform_(w, -stdv, stdv) for
  // every parameter, in the order of _flat_weights_names.
  const float bound = 1.0f / std::sqrt(static_cast<float>(hidden_size));
  for (Tensor* t : {&weight_ih, &weight_hh, &bias_ih, &bias_hh})
    for (float& w : t->data) w = rng.uniform(-bound, bound);
}

std::vector<Param> Recurrent::params() {
  return {{"weight_ih_l0", &weight_ih, &weight_ih_grad},
          {"weight_hh_l0", &weight_hh, &weight_hh_grad},
          {"bias_ih_l0", &bias_ih, &bias_ih_grad},
          {"bias_hh_l0", &bias_hh, &bias_hh_grad}};
}

double Recurrent::macs(const Shape& in) const {
  // Per sample at full length: the input and the recurrent projection of every step.
  const double t = in.empty() ? 1.0 : in[0];
  return t * gates * hidden_size * static_cast<double>(input_size + hidden_size);
}

void Recurrent::forward(const Tensor& x, Tensor& y, bool /*train*/) {
  std::vector<int> lengths = std::move(pending_lengths_);
  pending_lengths_.clear();
  if (lengths.empty() && x.rank() == 3) lengths.assign(static_cast<size_t>(x.dim(0)), x.dim(1));
  forward(x, lengths, y);
}

void Recurrent::pack(const Tensor& x, const std::vector<int>& lengths) {
  ADVX_REQUIRE(x.rank() == 3 && x.dim(2) == input_size, kind() + ": input has shape " + shape_str(x.shape) +
                                                            "; expected [N, T, " + std::to_string(input_size) +
                                                            "] (batch, time steps, features; batch_first)");
  n_ = x.dim(0);
  t_ = x.dim(1);
  check_lengths(lengths, n_, t_, kind());
  lengths_ = lengths;
  // Sorted positions, longest first; stable so that equal lengths keep their batch order.
  order_.resize(static_cast<size_t>(n_));
  std::iota(order_.begin(), order_.end(), 0);
  std::stable_sort(order_.begin(), order_.end(),
                   [&](int a, int b) { return lengths_[static_cast<size_t>(a)] > lengths_[static_cast<size_t>(b)]; });
  const int tmax = n_ > 0 ? lengths_[static_cast<size_t>(order_[0])] : 0;
  batch_sizes_.assign(static_cast<size_t>(tmax), 0);
  for (int len : lengths_)
    for (int s = 0; s < len; ++s) ++batch_sizes_[static_cast<size_t>(s)];
  offsets_.assign(static_cast<size_t>(tmax) + 1, 0);
  for (int s = 0; s < tmax; ++s)
    offsets_[static_cast<size_t>(s) + 1] = offsets_[static_cast<size_t>(s)] + batch_sizes_[static_cast<size_t>(s)];
  const int p = offsets_.back();
  // Gather the valid steps; padding positions are never read.
  xp_.resize({p, input_size});
  for (int s = 0; s < tmax; ++s)
    for (int b = 0; b < batch_sizes_[static_cast<size_t>(s)]; ++b) {
      const float* src = x.ptr() + (static_cast<std::int64_t>(order_[static_cast<size_t>(b)]) * t_ + s) * input_size;
      std::copy_n(src, input_size,
                  xp_.ptr() + static_cast<std::int64_t>(offsets_[static_cast<size_t>(s)] + b) * input_size);
    }
}

void Recurrent::forward(const Tensor& x, const std::vector<int>& lengths, Tensor& y) {
  pack(x, lengths);
  const int p = offsets_.back();
  h_.resize({p, hidden_size});
  hprev_.resize({p, hidden_size});
  cell_forward();
  const int steps = static_cast<int>(batch_sizes_.size());
  const std::int64_t hs = hidden_size;
  if (output == Output::Last) {
    // y[order[b]] = h at the sample's last step, packed row off_{len-1} + b.
    y.resize({n_, hidden_size});
    for (int b = 0; b < n_; ++b) {
      const int last = lengths_[static_cast<size_t>(order_[static_cast<size_t>(b)])] - 1;
      std::copy_n(h_.ptr() + (offsets_[static_cast<size_t>(last)] + b) * hs, hidden_size,
                  y.ptr() + order_[static_cast<size_t>(b)] * hs);
    }
  } else {
    y.resize({n_, t_, hidden_size});
    y.fill(0.0f);
    for (int s = 0; s < steps; ++s)
      for (int b = 0; b < batch_sizes_[static_cast<size_t>(s)]; ++b)
        std::copy_n(h_.ptr() + (offsets_[static_cast<size_t>(s)] + b) * hs, hidden_size,
                    y.ptr() + (static_cast<std::int64_t>(order_[static_cast<size_t>(b)]) * t_ + s) * hs);
  }
}

void Recurrent::project_input(Tensor& out, bool add_bias_hh) const {
  // out [P, G*H] = Xp W_ih^T + b_ih (+ b_hh): the input projection of every valid step, one GEMM.
  const int p = offsets_.back(), gh = gates * hidden_size;
  out.resize({p, gh});
  const CMapR wih(weight_ih.ptr(), gh, input_size);
  Eigen::RowVectorXf bias = Eigen::Map<const Eigen::RowVectorXf>(bias_ih.ptr(), gh);
  if (add_bias_hh) bias += Eigen::Map<const Eigen::RowVectorXf>(bias_hh.ptr(), gh);
  parallel_rows(
      p, static_cast<double>(gh) * input_size,
      [&](int r0, int r1) {
        auto o = out.mat().middleRows(r0, r1 - r0);
        kernels::matmul(kernels::N(xp_.mat().middleRows(r0, r1 - r0)), kernels::T(wih), o);
        o.rowwise() += bias;
      },
      kRecurrentParallelWork);
}

void Recurrent::inject_dy(const Tensor& dy, int t, float* dh) const {
  const std::int64_t hs = hidden_size;
  const int bt = batch_sizes_[static_cast<size_t>(t)];
  if (output == Output::Last) {
    // Samples whose last step is t: sorted positions [B_{t+1}, B_t).
    const int next = t + 1 < static_cast<int>(batch_sizes_.size()) ? batch_sizes_[static_cast<size_t>(t) + 1] : 0;
    for (int b = next; b < bt; ++b) {
      const float* g = dy.ptr() + order_[static_cast<size_t>(b)] * hs;
      for (int j = 0; j < hidden_size; ++j) dh[b * hs + j] += g[j];
    }
  } else {
    for (int b = 0; b < bt; ++b) {
      const float* g = dy.ptr() + (static_cast<std::int64_t>(order_[static_cast<size_t>(b)]) * t_ + t) * hs;
      for (int j = 0; j < hidden_size; ++j) dh[b * hs + j] += g[j];
    }
  }
}

void Recurrent::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx, bool param_grads) {
  ADVX_REQUIRE(!offsets_.empty(), kind() + ": backward called before forward");
  ADVX_REQUIRE(x.rank() == 3 && x.dim(0) == n_ && x.dim(1) == t_,
               kind() + ": backward got input " + shape_str(x.shape) + " but the last forward had [" +
                   std::to_string(n_) + ", " + std::to_string(t_) + ", " + std::to_string(input_size) + "]");
  const Shape expect = output == Output::Last ? Shape{n_, hidden_size} : Shape{n_, t_, hidden_size};
  ADVX_REQUIRE(dy.shape == expect, kind() + ": output gradient has shape " + shape_str(dy.shape) + ", expected " +
                                       shape_str(expect) + " (the shape of the last forward's output)");
  const int p = offsets_.back(), gh = gates * hidden_size, e = input_size;
  dgi_.resize({p, gh});
  cell_backward(dy);
  // LSTM leaves dgh_ empty: both of its projections feed the same pre-activations.
  const Tensor& dgh = dgh_.size() == dgi_.size() ? dgh_ : dgi_;
  const CMapR wih(weight_ih.ptr(), gh, e);
  if (param_grads) {
    MapR dwih(weight_ih_grad.ptr(), gh, e), dwhh(weight_hh_grad.ptr(), gh, hidden_size);
    Eigen::Map<Eigen::RowVectorXf> dbih(bias_ih_grad.ptr(), gh), dbhh(bias_hh_grad.ptr(), gh);
    const CMapR gi(dgi_.ptr(), p, gh), gr(dgh.ptr(), p, gh);
    const CMapR xp(xp_.ptr(), p, e), hp(hprev_.ptr(), p, hidden_size);
    // Blocks of gate rows (rows of dW) on separate threads; each row's sum over packed rows is
    // the same whatever the split.
    parallel_rows(
        gh, static_cast<double>(p) * (e + hidden_size),
        [&](int o0, int o1) {
          const int m = o1 - o0;
          kernels::matmul(kernels::T(gi.middleCols(o0, m)), kernels::N(xp), dwih.middleRows(o0, m), true);  // dGi^T Xp
          kernels::matmul(kernels::T(gr.middleCols(o0, m)), kernels::N(hp), dwhh.middleRows(o0, m),
                          true);  // dGh^T Hprev
          dbih.segment(o0, m) += gi.middleCols(o0, m).colwise().sum();
          dbhh.segment(o0, m) += gr.middleCols(o0, m).colwise().sum();
        },
        kRecurrentParallelWork);
  }
  if (dx) {
    dxp_.resize({p, e});
    parallel_rows(
        p, static_cast<double>(gh) * e,
        [&](int r0, int r1) {
          kernels::matmul(kernels::N(dgi_.mat().middleRows(r0, r1 - r0)), kernels::N(wih),
                          dxp_.mat().middleRows(r0, r1 - r0));  // dGi W_ih
        },
        kRecurrentParallelWork);
    dx->resize({n_, t_, e});
    dx->fill(0.0f);
    const int steps = static_cast<int>(batch_sizes_.size());
    for (int s = 0; s < steps; ++s)
      for (int b = 0; b < batch_sizes_[static_cast<size_t>(s)]; ++b)
        std::copy_n(dxp_.ptr() + static_cast<std::int64_t>(offsets_[static_cast<size_t>(s)] + b) * e, e,
                    dx->ptr() + (static_cast<std::int64_t>(order_[static_cast<size_t>(b)]) * t_ + s) * e);
  }
}

}  // namespace advx
