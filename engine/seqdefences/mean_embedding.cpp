// mean_embeddings (mean_embedding.h).
#include "engine/seqdefences/mean_embedding.h"

#include "engine/error.h"

namespace advx {

Tensor mean_embeddings(const Tensor& w, const std::vector<TokenSeq>& seqs) {
  ADVX_REQUIRE(w.rank() == 2, "mean_embeddings: the embedding matrix must be [V, E], got " + shape_str(w.shape));
  const int v = w.dim(0), e = w.dim(1);
  Tensor out({static_cast<int>(seqs.size()), e});
  for (size_t i = 0; i < seqs.size(); ++i) {
    ADVX_REQUIRE(!seqs[i].empty(), "mean_embeddings: sequence " + std::to_string(i) + " is empty");
    float* o = out.ptr() + static_cast<std::ptrdiff_t>(i) * e;
    for (std::int32_t t : seqs[i]) {
      ADVX_REQUIRE(t >= 0 && t < v, "mean_embeddings: token id " + std::to_string(t) + " outside the " +
                                        std::to_string(v) + "-token vocabulary");
      const float* r = w.ptr() + static_cast<std::ptrdiff_t>(t) * e;
      for (int j = 0; j < e; ++j) o[j] += r[j];
    }
    for (int j = 0; j < e; ++j) o[j] /= static_cast<float>(seqs[i].size());
  }
  return out;
}

}  // namespace advx
