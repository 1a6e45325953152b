// Sequence layers: Embedding, LSTM, GRU (torch.nn.Embedding, torch.nn.LSTM, torch.nn.GRU with
// num_layers = 1, unidirectional, batch_first = True), for classifiers of token sequences (SMS
// text, API-call traces).
//
// ---- How tokens and lengths enter --------------------------------------------------------------
// Token ids are integers and stay integers: a batch is a `Tokens` {ids [N, T] int32 row-major,
// lengths [N]}. Sample i's tokens are ids[i*T + s] for s < lengths[i]; the positions from
// lengths[i] to T - 1 are padding and are never read (any value, even out of the vocabulary, is
// allowed there). The datasets (engine/data/sequences.h) write 0 there, the padding id.
//
// Embedding is therefore not a Layer (its input is not a float tensor, and it has no input
// gradient: ids are not differentiable). It keeps the rest of the contract: forward(tokens, y),
// backward(tokens, dy, param_grads) adds dL/dweight, forward state is never modified by backward.
// Attacks on sequence models work on the embedded input e = Embedding(tokens) [N, T, E]; its
// gradient dL/de is the recurrent layer's public input gradient.
//
// LSTM and GRU are Layers: input x [N, T, E] float, output [N, H] (the last hidden state of each
// sample, h at step lengths[i] - 1) or, with Output::All, [N, T, H] (every hidden state, zero at
// padding positions, as pad_packed_sequence(padding_value = 0) gives). The per-sample lengths are
// the one thing the Layer contract has no slot for. Least invasive choice: they are a separate
// argument of the explicit overload forward(x, lengths, y); the contract's forward(x, y, train)
// uses the lengths given by set_lengths() before it (consumed by that one forward, so a stale
// batch's lengths are never reused), else every sample is the full T long. The lengths of a
// forward are part of its saved state, which backward reads.
//
// ---- Semantics: PyTorch's pack_padded_sequence -------------------------------------------------
// Equal to running torch.nn.LSTM / GRU on pack_padded_sequence(x, lengths, batch_first=True,
// enforce_sorted=False) from a zero initial state: a padding position has no effect on any output
// or any gradient (the inputs there are never read, dL/dx there is exactly 0, and a NaN there stays
// out of every sum). Lengths must be in [1, T] (PyTorch also rejects length 0).
//
// Packed layout (the forward state), like PyTorch's PackedSequence: samples sorted by length,
// longest first (stable, so equal lengths keep batch order): order[b] = the sample at sorted
// position b. At step t the B_t = #{i : lengths[i] > t} active samples are sorted positions
// 0..B_t-1, and their rows are the contiguous block [off_t, off_t + B_t) of every packed array
// (off_0 = 0, off_{t+1} = off_t + B_t; P = off_Tmax = sum of lengths rows in all):
//
//   packed row   off_0 ... off_0+B_0-1 | off_1 ... off_1+B_1-1 | ... | off_{Tmax-1} ...  (P rows)
//   holds        step 0, sorted 0..B_0-1 | step 1, sorted 0..B_1-1 | ...
//
// Since B_t <= B_{t-1}, the state h_{t-1} of step t's samples is the block [off_{t-1}, off_{t-1}+B_t)
// of the step before: every per-step product is one GEMM over contiguous rows, and the input
// projection of all steps is a single GEMM over the P packed rows.
//
// Parameters, names and layouts exactly PyTorch's (so state_dicts load with strict=True):
//   LSTM: weight_ih_l0 [4H, E], weight_hh_l0 [4H, H], bias_ih_l0 [4H], bias_hh_l0 [4H], gate
//         blocks of H rows in the order (i, f, g, o).
//   GRU:  weight_ih_l0 [3H, E], weight_hh_l0 [3H, H], bias_ih_l0 [3H], bias_hh_l0 [3H], gate
//         blocks (r, z, n).
// The math of each cell is written out in lstm.cpp and gru.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/layers/layer.h"
#include "engine/rng.h"

namespace advx {

// The recurrent layers split a product (and a step's rows) over threads only from this many
// multiply-adds on: they fork once per time step, and on a busy machine a fork/join waits for the
// other thread's time slice. Measured with the SMS training recipe (embedding 32, hidden 32,
// batch 32) while other builds ran: engine/parallel.h's default threshold (2^18) forked for every
// batch's projections and made an epoch 12x slower than one thread.
constexpr double kRecurrentParallelWork = 1 << 21;

// A batch of token sequences: ids [n, t] row-major, sample i valid at s < lengths[i].
struct Tokens {
  int n = 0, t = 0;
  std::vector<std::int32_t> ids;  // n * t
  std::vector<int> lengths;       // n, each in [1, t]
  std::int32_t at(int i, int s) const {
    return ids[static_cast<size_t>(i) * static_cast<size_t>(t) + static_cast<size_t>(s)];
  }
};

// Throws advx::Error unless ids has n*t entries, lengths n entries in [1, t], and every valid id is
// in [0, vocab). `what` names the batch in the message.
void check_tokens(const Tokens& tokens, int vocab, const std::string& what);
// Throws advx::Error unless lengths has n entries, each in [1, t].
void check_lengths(const std::vector<int>& lengths, int n, int t, const std::string& what);

// y[i, s, :] = weight[ids[i, s], :] for s < lengths[i], 0 at padding positions. weight [V, E]
// (torch.nn.Embedding, no padding_idx: padding positions are skipped instead of looked up).
class Embedding {
 public:
  Embedding(int num_embeddings, int embedding_dim);
  std::string kind() const { return "Embedding"; }
  // Checks the tokens (ids in range at valid positions); y becomes [N, T, E].
  void forward(const Tokens& tokens, Tensor& y) const;
  // dL/dweight[v] += sum of dy[i, s] over valid positions with ids[i, s] == v (when param_grads).
  void backward(const Tokens& tokens, const Tensor& dy, bool param_grads);
  std::vector<Param> params();  // "weight"
  // torch.nn.Embedding.reset_parameters: weight ~ N(0, 1).
  void init(Rng& rng);
  Tensor weight, weight_grad;
  int num_embeddings, embedding_dim;
};

// Common part of LSTM and GRU: parameters, lengths, packing, the input projection and the
// gradients that follow from the per-step gate gradients. Subclasses write the cell.
class Recurrent : public Layer {
 public:
  enum class Output { Last, All };
  Shape output_shape(const Shape& in) const override;  // [T, E] -> [H] or [T, H]
  // Lengths for the next forward(x, y, train) only (each in [1, T]).
  void set_lengths(std::vector<int> lengths) { pending_lengths_ = std::move(lengths); }
  void forward(const Tensor& x, Tensor& y, bool train) override;
  void forward(const Tensor& x, const std::vector<int>& lengths, Tensor& y);
  // x, y: the last forward's (only their shapes are read; the packed input was saved). dy is
  // [N, H] (Output::Last) or [N, T, H] (Output::All; its padding positions are ignored).
  // *dx = dL/dx [N, T, E], exactly 0 at padding positions.
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool param_grads) override;
  std::vector<Param> params() override;  // weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
  double macs(const Shape& in) const override;
  // torch.nn.RNNBase.reset_parameters: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), drawn in the
  // order weight_ih, weight_hh, bias_ih, bias_hh.
  void init(Rng& rng);
  const std::vector<int>& lengths() const { return lengths_; }  // of the last forward

  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  Tensor weight_ih_grad, weight_hh_grad, bias_ih_grad, bias_hh_grad;
  int input_size, hidden_size, gates;  // gates = 4 (LSTM) or 3 (GRU)
  Output output;

 protected:
  Recurrent(int input, int hidden, int num_gates, Output out);
  // The cell over the packed rows: forward fills the subclass's saved state and h_ [P, H];
  // backward, given the injection of dL/dh per step (inject_dy), fills dgi_ (dL/d(input
  // projection) [P, G*H]) and dgh_ (dL/d(recurrent projection) [P, G*H]; for LSTM the same
  // as dgi_, and then it may leave dgh_ empty).
  virtual void cell_forward() = 0;
  virtual void cell_backward(const Tensor& dy) = 0;
  // dh[b, :] += dL/dy for the sorted positions of step t that dy reaches (Output::Last: the
  // samples whose last step is t; Output::All: every active sample).
  void inject_dy(const Tensor& dy, int t, float* dh) const;
  // out [P, G*H] = Xp W_ih^T + b_ih, plus b_hh when add_bias_hh (one GEMM over all valid steps).
  void project_input(Tensor& out, bool add_bias_hh) const;

  // Forward state (never written by backward).
  std::vector<int> lengths_;      // per sample
  std::vector<int> order_;        // sorted position -> sample
  std::vector<int> batch_sizes_;  // B_t, t < Tmax
  std::vector<int> offsets_;      // off_t, t <= Tmax
  int n_ = 0, t_ = 0;             // batch and padded length of the last forward
  Tensor xp_;                     // packed input [P, E]
  Tensor h_;                      // packed hidden states h_t [P, H]
  Tensor hprev_;                  // packed h_{t-1} [P, H] (0 at t = 0)
  // Backward scratch (rewritten by every backward, read by nothing else).
  Tensor dgi_, dgh_, dh_, dxp_;

 private:
  void pack(const Tensor& x, const std::vector<int>& lengths);
  std::vector<int> pending_lengths_;
};

// torch.nn.LSTM(input_size, hidden_size, batch_first=True), one layer. See lstm.cpp.
class LSTM : public Recurrent {
 public:
  LSTM(int input, int hidden, Output out = Output::Last) : Recurrent(input, hidden, 4, out) {}
  std::string kind() const override { return "LSTM"; }

 private:
  void cell_forward() override;
  void cell_backward(const Tensor& dy) override;
  Tensor act_;  // forward state: activated gates (i, f, g, o) [P, 4H]
  Tensor c_;    // forward state: cell states c_t [P, H]
  Tensor dc_;   // backward scratch: dL/dc [N, H]
};

// torch.nn.GRU(input_size, hidden_size, batch_first=True), one layer. See gru.cpp.
class GRU : public Recurrent {
 public:
  GRU(int input, int hidden, Output out = Output::Last) : Recurrent(input, hidden, 3, out) {}
  std::string kind() const override { return "GRU"; }

 private:
  void cell_forward() override;
  void cell_backward(const Tensor& dy) override;
  Tensor act_;  // forward state: activated gates (r, z, n) [P, 3H]
  Tensor hn_;   // forward state: W_hn h_{t-1} + b_hn [P, H] (the part r multiplies)
  Tensor ah_;   // forward scratch: one step's recurrent projection [N, 3H]
};

}  // namespace advx
