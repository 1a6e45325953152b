// SequenceEnsemble (engine/seqdefences/seq_ensemble.h): soft vote = mean of the members'
// probabilities, hard vote = the majority of their argmax, each member's vote = its own argmax; the
// concatenated embedding space (tokens and embedded input agree); dL/de of the soft vote against
// central differences; the registered seqensemble with the shipped MalbehavD members.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/data/dataset.h"
#include "engine/error.h"
#include "engine/eval/sequence_eval.h"
#include "engine/loss.h"
#include "engine/rng.h"
#include "engine/seqdefences/seq_ensemble.h"
#include "engine/sequence_model.h"

using namespace advx;
using Catch::Matchers::Contains;

namespace {

std::vector<SequenceModel> members(int m) {
  std::vector<SequenceModel> out;
  for (int i = 0; i < m; ++i) {
    out.emplace_back(RnnType::LSTM, 10, 3, 4, 2);
    Rng rng(static_cast<std::uint64_t>(11 + i));
    out.back().init(rng);
  }
  return out;
}

Tokens batch() {
  std::vector<TokenSeq> s = {{2, 3, 4}, {5, 6}, {7, 8, 9, 2, 3}, {4}};
  std::vector<const TokenSeq*> p;
  for (const TokenSeq& x : s) p.push_back(&x);
  Tokens t;
  pack_tokens(p, t);
  return t;
}

std::vector<float> softmax(const float* z, int k) {
  std::vector<float> p(static_cast<size_t>(k));
  double s = 0.0;
  for (int j = 0; j < k; ++j) s += std::exp(static_cast<double>(z[j]));
  for (int j = 0; j < k; ++j) p[static_cast<size_t>(j)] = static_cast<float>(std::exp(static_cast<double>(z[j])) / s);
  return p;
}

}  // namespace

TEST_CASE("SequenceEnsemble: soft = mean probability, hard = majority, votes = members' argmax", "[seqensemble]") {
  std::vector<SequenceModel> ms = members(3);
  std::vector<SequenceClassifier*> ptrs = {&ms[0], &ms[1], &ms[2]};
  SequenceEnsemble soft(ptrs, Vote::Soft), hard(ptrs, Vote::Hard);
  const Tokens t = batch();
  const Tensor zs = soft.logits(t);
  const Tensor zh = hard.logits(t);
  const std::vector<std::vector<int>> votes = hard.member_votes();
  REQUIRE(votes.size() == 3);
  for (int i = 0; i < t.n; ++i) {
    std::vector<double> mean(2, 0.0);
    int ones = 0;
    for (int m = 0; m < 3; ++m) {
      const Tensor& z = ms[static_cast<size_t>(m)].logits(t);
      const std::vector<float> p = softmax(z.ptr() + i * 2, 2);
      for (int j = 0; j < 2; ++j) mean[static_cast<size_t>(j)] += p[static_cast<size_t>(j)] / 3.0;
      const int arg = p[1] > p[0] ? 1 : 0;
      CHECK(votes[static_cast<size_t>(m)][static_cast<size_t>(i)] == arg);
      ones += arg;
    }
    const std::vector<float> ps = softmax(zs.ptr() + i * 2, 2);
    CHECK(ps[0] == Approx(mean[0]).margin(1e-6));
    CHECK(ps[1] == Approx(mean[1]).margin(1e-6));
    const int majority = ones >= 2 ? 1 : 0;
    CHECK(argmax_rows(zh)[static_cast<size_t>(i)] == majority);
  }
  CHECK(soft.gradient_kind() == GradientKind::Exact);
  CHECK(hard.gradient_kind() == GradientKind::StraightThrough);
  CHECK(soft.embedding_matrix().dim(1) == 9);
}

TEST_CASE("SequenceEnsemble: embedded input = tokens, soft-vote dL/de against central differences", "[seqensemble]") {
  std::vector<SequenceModel> ms = members(2);
  SequenceEnsemble ens({&ms[0], &ms[1]}, Vote::Soft);
  const Tokens t = batch();
  const Tensor z_tokens = ens.logits(t);
  Tensor e({t.n, t.t, 6});
  const Tensor& w = ens.embedding_matrix();
  for (int i = 0; i < t.n; ++i)
    for (int s = 0; s < t.lengths[static_cast<size_t>(i)]; ++s)
      for (int j = 0; j < 6; ++j)
        e.data[static_cast<size_t>((i * t.t + s) * 6 + j)] =
            w.data[static_cast<size_t>(t.ids[static_cast<size_t>(i * t.t + s)] * 6 + j)];
  const Tensor z_emb = ens.logits_embedded(e, t.lengths);
  for (size_t j = 0; j < z_tokens.data.size(); ++j) CHECK(z_emb.data[j] == Approx(z_tokens.data[j]).margin(1e-5));
  // L = sum_i z[i, 1] - z[i, 0].
  Tensor g({t.n, 2});
  for (int i = 0; i < t.n; ++i)
    g.data[static_cast<size_t>(2 * i)] = -1.0f, g.data[static_cast<size_t>(2 * i + 1)] = 1.0f;
  Tensor de;
  ens.embedded_gradient(g, de);
  auto loss = [&](const Tensor& x) {
    const Tensor& z = ens.logits_embedded(x, t.lengths);
    double l = 0.0;
    for (int i = 0; i < t.n; ++i) l += z.data[static_cast<size_t>(2 * i + 1)] - z.data[static_cast<size_t>(2 * i)];
    return l;
  };
  for (size_t k = 0; k < e.data.size(); k += 5) {
    Tensor a = e, b = e;
    a.data[k] += 1e-2f, b.data[k] -= 1e-2f;
    const double num = (loss(a) - loss(b)) / 2e-2;
    CHECK(de.data[k] == Approx(num).margin(2e-3));
  }
  CHECK_THROWS_WITH(SequenceEnsemble({}, Vote::Soft), Contains("at least one member"));
}

TEST_CASE("seqensemble: the shipped MalbehavD and SMS members load, vote, and beat the majority class",
          "[seqensemble][shipped]") {
  for (const char* model : {"api_lstm", "sms_lstm"}) {
    const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/" + model + ".safetensors";
    std::map<std::string, std::string> meta;
    SequenceModel base = load_sequence_model(path, &meta);
    const SequenceTask& task = *find_sequence_task(meta.at("advx.dataset"));
    const SequenceDataset d = load_dataset_for(task, resolve_data_dir(""), meta, path);
    const SequenceSplit val = sequence_validation_split(d.test), held = sequence_held_out_split(d.test);
    const SeqDefenceSpec& spec = *find_seq_defence("seqensemble");
    const ParamSpec& members = *find_param(spec.params, "members");
    REQUIRE(members.choices.size() == 4);  // regular, subsequence, adversarial, recrafted
    for (size_t kind = 0; kind < members.choices.size(); ++kind)
      for (int vote : {0, 1}) {
        ParamValues p = defaults(spec.params);
        p.set("members", static_cast<double>(kind)), p.set("vote", vote);
        const SeqDefended def = build_seq_defence(spec, {d.train, val, d.name}, base, p);
        REQUIRE(def.model != &base);
        // Every member is the file of its dataset and kind.
        for (const std::string& name : seq_ensemble_member_names(d.name, members.choices[kind]))
          CHECK_THAT(name, Contains(std::string(model) + "_" + members.choices[kind]));
        SeqEvalConfig cfg;
        const SeqEvalResult r = evaluate_sequences(*def.model, task, held, cfg);
        INFO(model << " " << members.choices[kind] << " " << def.model->name() << ": " << r.clean_acc);
        CHECK(r.clean_acc > 0.9);
      }
  }
}
