// SequenceClassifier: the one interface the sequence attacks (engine/seqattacks) see of a model of
// token sequences, as Classifier (engine/classifier.h) is for images.
//
//   logits(tokens)                    tokens {ids [N, T], lengths} -> z [N, K]
//   embedded_gradient(g, de)          de = (dz/de)^T g [N, T, E] for g = dL/dz of the last logits()
//                                     call, e = the embedded input that call classified
//   logits_embedded(e, lengths)       z from an embedded batch (a point between tokens: what a
//                                     gradient-guided attack differentiates at)
//   embedding_matrix()                the matrix W [V, E] whose rows the attacks project onto
//
// Token ids are discrete, so the differentiable input is the embedded sequence e, row s of sample
// i = W[ids[i, s]] (Papernot et al. 2016, arXiv:1604.08275, section 4: the gradient is taken in the
// embedding space and mapped back to a word). The contract of Classifier carries over: the
// references returned stay valid until the next logits call; embedded_gradient never changes
// forward state, so it may run any number of times after one forward; dL/de is exactly 0 at padding
// positions. A defended model (a squeezing transform in front of a model, an ensemble) implements
// the same interface; gradient_kind() says whether its gradient is exact or a straight-through
// surrogate (BPDA, Athalye et al. 2018, arXiv:1802.00420), as for images.
#pragma once
#include <string>
#include <vector>

#include "engine/classifier.h"
#include "engine/layers/sequence.h"

namespace advx {

class SequenceClassifier {
 public:
  virtual ~SequenceClassifier() = default;
  virtual std::string name() const = 0;                // "seq-lstm"
  virtual int classes() const = 0;                     // K
  virtual const Tensor& embedding_matrix() const = 0;  // W [V, E]: V = vocabulary size
  int vocab_size() const { return embedding_matrix().dim(0); }
  int embedding_dim() const { return embedding_matrix().dim(1); }
  virtual const Tensor& logits(const Tokens& tokens) = 0;
  virtual const Tensor& logits_embedded(const Tensor& embedded, const std::vector<int>& lengths) = 0;
  virtual void embedded_gradient(const Tensor& dlogits, Tensor& d_embedded) = 0;
  virtual GradientKind gradient_kind() const { return GradientKind::Exact; }
  // Multiply-adds of one forward pass per token (padding included: a batch runs to its longest
  // sequence). Sizes the batches of long work (engine/work.h); 1e5 when a model does not say (a guess
  // that sizes batches small).
  virtual double macs_per_token() const { return 1e5; }
};

}  // namespace advx
