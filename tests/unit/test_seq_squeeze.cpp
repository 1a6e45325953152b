// Sequence squeezing (engine/seqdefences/squeeze.h) on the shipped api_lstm: the clustering, the
// squeezed model through tokens and through embeddings, the straight-through gradient, the
// detector's score and threshold, and the insertion attack run against the squeezed model.
#include <algorithm>
#include <catch2/catch.hpp>

#include "engine/data/dataset.h"
#include "engine/error.h"
#include "engine/eval/sequence_eval.h"
#include "engine/loss.h"
#include "engine/seqattacks/seq_attack.h"
#include "engine/seqdefences/squeeze.h"

using namespace advx;
using Catch::Matchers::Contains;

namespace {

struct Api {
  SequenceModel model;
  SequenceDataset data;
};

Api& api() {
  static std::unique_ptr<Api> a;
  if (!a) {
    const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/api_lstm.safetensors";
    std::map<std::string, std::string> meta;
    SequenceModel m = load_sequence_model(path, &meta);
    SequenceDataset d = load_dataset_for(*find_sequence_task("malbehavd"), resolve_data_dir(""), meta, path);
    a = std::make_unique<Api>(Api{std::move(m), std::move(d)});
  }
  return *a;
}

float d2(const float* a, const float* b, int e) {
  float s = 0.0f;
  for (int j = 0; j < e; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

}  // namespace

TEST_CASE("cluster_tokens: nearest-centroid clusters, member representatives, pad/unk fixed, seeded", "[seqsqueeze]") {
  const Tensor& w = api().model.embedding_matrix();
  const int v = w.dim(0), e = w.dim(1);
  const TokenClusters c = cluster_tokens(w, 32, 1);
  CHECK(c.map[0] == 0);
  CHECK(c.map[1] == 1);
  CHECK(c.nonempty() >= 2);
  CHECK(c.nonempty() <= 32);
  for (int t = 2; t < v; ++t) {
    const int cl = c.cluster[static_cast<size_t>(t)];
    REQUIRE(cl >= 0);
    const int r = c.map[static_cast<size_t>(t)];
    CHECK(r >= 2);
    CHECK(c.cluster[static_cast<size_t>(r)] == cl);
    CHECK(c.map[static_cast<size_t>(r)] == r);
    // Nearest centroid (ties: the lower index).
    const float* x = w.ptr() + static_cast<std::ptrdiff_t>(t) * e;
    for (int o = 0; o < c.k; ++o)
      if (o != cl) CHECK(d2(x, c.centroids.ptr() + cl * e, e) <= d2(x, c.centroids.ptr() + o * e, e));
  }
  const TokenClusters again = cluster_tokens(w, 32, 1);
  CHECK(again.map == c.map);
  CHECK_THROWS_WITH(cluster_tokens(w, 0, 1), Contains("choose k in [1, 288]"));
  CHECK_THROWS_WITH(cluster_tokens(w, 289, 1), Contains("choose k in [1, 288]"));
  // k = every token: nothing is merged.
  const TokenClusters all = cluster_tokens(w, v - 2, 1);
  for (int t = 0; t < v; ++t) CHECK(all.map[static_cast<size_t>(t)] == t);
}

TEST_CASE("SqueezedSequenceModel: tokens and embeddings agree, straight-through gradient, detector score",
          "[seqsqueeze]") {
  Api& a = api();
  SqueezedSequenceModel sq(a.model, cluster_tokens(a.model.embedding_matrix(), 16, 1));
  CHECK(sq.gradient_kind() == GradientKind::StraightThrough);
  CHECK(sq.name() == "squeeze(k=16) > seq-lstm");
  const Tokens batch = make_batch(a.data.test, {250, 260, 270, 280});
  const Tensor z = sq.logits(batch);
  // The same as the base model on the mapped tokens.
  Tokens mapped = batch;
  for (int i = 0; i < batch.n; ++i)
    for (int s = 0; s < batch.lengths[static_cast<size_t>(i)]; ++s) {
      auto& id = mapped.ids[static_cast<size_t>(i * batch.t + s)];
      id = sq.clusters().map[static_cast<size_t>(id)];
    }
  const Tensor zb = a.model.logits(mapped);
  for (size_t i = 0; i < z.data.size(); ++i) CHECK(z.data[i] == Approx(zb.data[i]).margin(1e-5));
  // The same through the embedded input (each e = W[t] squeezes to W[map[t]]).
  a.model.logits(batch);
  const Tensor e = a.model.embedded();
  const Tensor ze = sq.logits_embedded(e, batch.lengths);
  for (size_t i = 0; i < z.data.size(); ++i) CHECK(ze.data[i] == Approx(z.data[i]).margin(1e-5));
  // Straight-through: dL/de of the squeezed model = the base model's at the squeezed input.
  Tensor dz(ze.shape, 0.0f), de, de_base;
  for (int i = 0; i < ze.dim(0); ++i) dz.data[static_cast<size_t>(i * 2)] = 1.0f;
  sq.embedded_gradient(dz, de);
  a.model.logits(mapped);
  a.model.embedded_gradient(dz, de_base);
  REQUIRE(de.shape == de_base.shape);
  for (size_t i = 0; i < de.data.size(); ++i) CHECK(de.data[i] == Approx(de_base.data[i]).margin(1e-6));
  // Detector: L1 between the two softmaxes, in [0, 2]; 0 on a sequence of representatives only.
  std::vector<TokenSeq> seqs = {a.data.test.sequences[250], a.data.test.sequences[260]};
  TokenSeq reps = seqs[0];
  for (auto& t : reps) t = sq.clusters().map[static_cast<size_t>(t)];
  seqs.push_back(reps);
  const std::vector<float> s = sq.scores(seqs);
  for (float x : s) CHECK((x >= 0.0f && x <= 2.0f));
  CHECK(s[2] == Approx(0.0f).margin(1e-6));
}

TEST_CASE("insert runs against the squeezed model (straight-through) and keeps its invariants", "[seqsqueeze]") {
  Api& a = api();
  SqueezedSequenceModel sq(a.model, cluster_tokens(a.model.embedding_matrix(), 16, 1));
  std::vector<TokenSeq> seqs;
  for (int i = a.data.test.size() - 1; i >= 0 && seqs.size() < 6; --i)
    if (a.data.test.labels[static_cast<size_t>(i)] == 1) seqs.push_back(a.data.test.sequences[static_cast<size_t>(i)]);
  const SeqAttackSpec& spec = *find_seq_attack("insert");
  ParamValues p = defaults(spec.params);
  p.set("budget", 0.2);
  const SeqAttackResult r =
      run_seq_attack(spec, {sq, cross_entropy_objective(), seqs, Goal{std::vector<int>(seqs.size(), 1), {}, -1}, p, 0});
  for (size_t i = 0; i < seqs.size(); ++i) {
    size_t j = 0;
    for (std::int32_t t : r.adv[i])
      if (j < seqs[i].size() && seqs[i][j] == t) ++j;
    CHECK(j == seqs[i].size());
    CHECK(r.edits[i] <= edit_budget(0.2, static_cast<int>(seqs[i].size())));
  }
  CHECK(r.gradient_calls > 0);
}
