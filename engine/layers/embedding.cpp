// Embedding lookup (torch.nn.Embedding, https://pytorch.org/docs/stable/generated/torch.nn.Embedding.html).
//
//   weight W [V, E] row-major (row v = the vector of token v)
//   y[i, s, :] = W[ids[i, s], :]   for s < lengths[i];   y[i, s, :] = 0 at padding positions
//   dL/dW[v, :] += sum over valid (i, s) with ids[i, s] = v of dL/dy[i, s, :]   (scatter-add)
//
// Deviation from torch.nn.Embedding: padding positions are not looked up at all (PyTorch would
// look up whatever id is there; after pack_padded_sequence nothing reads it, so the model's outputs
// are the same). Hence no padding_idx: id 0 is an ordinary row, only the datasets reserve it.
// The scatter-add runs in sample and step order on one thread: ids repeat, so a split over threads
// would need atomics or per-thread copies of W, and the sums would change with the thread count.
#include <algorithm>

#include "engine/error.h"
#include "engine/layers/sequence.h"

namespace advx {

void check_tokens(const Tokens& tokens, int vocab, const std::string& what) {
  ADVX_REQUIRE(tokens.n >= 0 && tokens.t >= 0 &&
                   tokens.ids.size() == static_cast<size_t>(tokens.n) * static_cast<size_t>(tokens.t),
               what + ": token ids hold " + std::to_string(tokens.ids.size()) + " entries for a batch of [" +
                   std::to_string(tokens.n) + ", " + std::to_string(tokens.t) + "]; ids must be n * t, row-major");
  check_lengths(tokens.lengths, tokens.n, tokens.t, what);
  for (int i = 0; i < tokens.n; ++i)
    for (int s = 0; s < tokens.lengths[static_cast<size_t>(i)]; ++s) {
      const std::int32_t id = tokens.at(i, s);
      ADVX_REQUIRE(id >= 0 && id < vocab, what + ": token id " + std::to_string(id) + " at sequence " +
                                              std::to_string(i) + ", position " + std::to_string(s) +
                                              " is outside the vocabulary [0, " + std::to_string(vocab) +
                                              "); encode text with the dataset's own vocabulary");
    }
}

Embedding::Embedding(int v, int e) : weight({v, e}), weight_grad({v, e}), num_embeddings(v), embedding_dim(e) {
  ADVX_REQUIRE(v > 0 && e > 0, "Embedding: num_embeddings and embedding_dim must be > 0, got " + std::to_string(v) +
                                   " and " + std::to_string(e));
}

void Embedding::init(Rng& rng) {
  // torch.nn.Embedding.reset_parameters: init.normal_(weight) (mean 0, std 1).
  for (float& w : weight.data) w = rng.normal();
}

void Embedding::forward(const Tokens& tokens, Tensor& y) const {
  check_tokens(tokens, num_embeddings, "Embedding");
  const std::int64_t e = embedding_dim;
  y.resize({tokens.n, tokens.t, embedding_dim});
  y.fill(0.0f);
  for (int i = 0; i < tokens.n; ++i)
    for (int s = 0; s < tokens.lengths[static_cast<size_t>(i)]; ++s)
      std::copy_n(weight.ptr() + tokens.at(i, s) * e, e, y.ptr() + (static_cast<std::int64_t>(i) * tokens.t + s) * e);
}

void Embedding::backward(const Tokens& tokens, const Tensor& dy, bool param_grads) {
  const Shape expect = {tokens.n, tokens.t, embedding_dim};
  ADVX_REQUIRE(dy.shape == expect,
               "Embedding: output gradient has shape " + shape_str(dy.shape) + ", expected " + shape_str(expect));
  if (!param_grads) return;
  check_tokens(tokens, num_embeddings, "Embedding");
  const std::int64_t e = embedding_dim;
  for (int i = 0; i < tokens.n; ++i)
    for (int s = 0; s < tokens.lengths[static_cast<size_t>(i)]; ++s) {
      const float* g = dy.ptr() + (static_cast<std::int64_t>(i) * tokens.t + s) * e;
      float* w = weight_grad.ptr() + tokens.at(i, s) * e;
      for (std::int64_t k = 0; k < e; ++k) w[k] += g[k];  // dL/dW[id] += dL/dy[i, s]
    }
}

std::vector<Param> Embedding::params() {
  return {{"weight", &weight, &weight_grad}};
}

}  // namespace advx
