// Softmax cross-entropy on logits, the loss every model is trained with and attacks differentiate.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace advx {

enum class Reduction { Mean, Sum };

// L = reduce_n( -log softmax(z_n)[y_n] ). Numerically stable (log-sum-exp with the max subtracted).
// If dlogits != nullptr: dL/dz_n = softmax(z_n) - onehot(y_n) (divided by N for Mean).
// If per_sample != nullptr: the N unreduced losses.
float cross_entropy(const Tensor& logits, const std::vector<int>& labels, Reduction red, Tensor* dlogits,
                    std::vector<float>* per_sample = nullptr);

// Row-wise softmax of logits [N, K].
Tensor softmax(const Tensor& logits);
// Row-wise argmax of [N, K].
std::vector<int> argmax_rows(const Tensor& t);

}  // namespace advx
