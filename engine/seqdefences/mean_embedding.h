// A fixed-length representation of variable-length sequences, for the MMD two-sample test
// (engine/detect/mmd.h; Grosse et al. 2017, arXiv:1702.06280, apply it to raw pixels):
//
//   m(x) = 1/L sum_{t=1..L} W[x_t]     the mean of the sequence's rows of the embedding matrix W [V, E]
//
// Deviation from Grosse et al.: sequences have no common input space, so the test runs on m(x) in
// R^E (the classifier's own embedding), not on the raw input.
#pragma once
#include <vector>

#include "engine/seqattacks/seq_attack.h"
#include "engine/tensor.h"

namespace advx {

// [n, E]; every sequence non-empty, ids in [0, V).
Tensor mean_embeddings(const Tensor& w, const std::vector<TokenSeq>& seqs);

}  // namespace advx
