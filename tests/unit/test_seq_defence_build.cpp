// Sequence defence builds in steps (engine/seqdefences/seq_defence.h: SeqDefenceBuild, engine/work.h:
// BatchedWork): a build spread over many small steps, as the playground runs it a slice per frame,
// with the base model used on other inputs between the steps (the live view classifies the typed
// text between frames) and "still loading" in the middle, gives the very defence of one uninterrupted
// build_seq_defence() call: the same squeezed tokens, threshold, validation rate, predictions and
// scores, bit for bit. k-means in steps (ClusterWork) is cluster_tokens, whatever the steps.
#include <omp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/data/sequences.h"
#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/eval/sequence_eval.h"
#include "engine/loss.h"
#include "engine/rng.h"
#include "engine/seqdefences/seq_defence.h"
#include "engine/seqdefences/seq_ensemble.h"
#include "engine/seqdefences/squeeze.h"
#include "engine/seqdefences/transitions.h"
#include "engine/sequence_model.h"
#include "tests/unit/shipped_sequences.h"

using namespace advx;
using Clock = std::chrono::steady_clock;

namespace {

using Shipped = test::ShippedSequence;

Shipped& shipped(const std::string& name, const std::string& task) {
  return test::shipped_sequence(name, task);
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Steps `b` to the end one step at a time, classifying `other` with `base` between steps and retrying
// a step that throws "still loading"; the number of steps and the longest step's time.
struct Stepped {
  SeqDefended d;
  int steps = 0;
  double max_ms = 0.0, total_ms = 0.0;
};
Stepped run_steps(SeqDefenceBuild& b, SequenceClassifier& base, const TokenSeq& other) {
  Stepped out;
  Tokens t;
  pack_tokens({&other}, t);
  for (bool done = false; !done;) {
    const auto t0 = Clock::now();
    try {
      done = b.step();
    } catch (const Error& e) {
      REQUIRE(std::string(e.what()).find("still loading") != std::string::npos);
    }
    const double ms = ms_since(t0);
    out.max_ms = std::max(out.max_ms, ms);
    out.total_ms += ms;
    ++out.steps;
    REQUIRE(out.steps < 1000000);
    base.logits(t);  // the live view between frames
  }
  out.d = b.result();
  return out;
}

std::vector<float> logits_of(SequenceClassifier& m, const std::vector<TokenSeq>& seqs) {
  std::vector<const TokenSeq*> p;
  for (const TokenSeq& s : seqs) p.push_back(&s);
  Tokens t;
  pack_tokens(p, t);
  const Tensor& z = m.logits(t);
  return std::vector<float>(z.data.begin(), z.data.end());
}

// Two builds of the same defence are the same defence: threshold, rates, predictions, scores,
// squeezed tokens, ensemble size.
void require_same(SeqDefended& a, SeqDefended& b, const std::vector<TokenSeq>& test) {
  REQUIRE(a.model != nullptr);
  REQUIRE(b.model != nullptr);
  REQUIRE(a.model->name() == b.model->name());
  REQUIRE(a.detects() == b.detects());
  REQUIRE(a.threshold == b.threshold);
  REQUIRE(a.target_fpr == b.target_fpr);
  REQUIRE(a.validation_fpr == b.validation_fpr);
  REQUIRE(a.detector_weight == b.detector_weight);
  REQUIRE(logits_of(*a.model, test) == logits_of(*b.model, test));
  if (a.detects()) REQUIRE(a.score(test) == b.score(test));
  const auto* sa = dynamic_cast<const SqueezedSequenceModel*>(a.model);
  const auto* sb = dynamic_cast<const SqueezedSequenceModel*>(b.model);
  REQUIRE((sa == nullptr) == (sb == nullptr));
  if (sa) {
    REQUIRE(sa->clusters().map == sb->clusters().map);
    REQUIRE(sa->clusters().cluster == sb->clusters().cluster);
    REQUIRE(sa->clusters().centroids.data == sb->clusters().centroids.data);
  }
}

Tensor random_embedding(int v, int e, std::uint64_t seed) {
  Tensor w({v, e});
  Rng rng(seed);
  for (float& x : w.data) x = rng.normal();
  return w;
}

}  // namespace

TEST_CASE("ClusterWork: k-means in steps is cluster_tokens, bit for bit, and ends when Lloyd converges",
          "[seqdefence][seqsqueeze]") {
  for (const auto& [v, e, k] : std::vector<std::tuple<int, int, int>>{{60, 4, 7}, {300, 16, 40}, {12, 3, 10}}) {
    INFO("V " << v << ", E " << e << ", k " << k);
    const Tensor w = random_embedding(v, e, static_cast<std::uint64_t>(v));
    const TokenClusters one = cluster_tokens(w, k, 1);
    ClusterWork work(w, k, 1);
    const int planned = work.total();
    int steps = 0;
    std::string last;
    while (!work.step()) {
      ++steps;
      REQUIRE(work.progress() != last);  // it says where it is, step by step
      last = work.progress();
      REQUIRE_THAT(last, Catch::StartsWith("clustering " + std::to_string(v - 2) + " embedding rows into "));
      REQUIRE(work.fraction() >= 0.0);
      REQUIRE(work.fraction() <= 1.0);
    }
    REQUIRE(work.done());
    REQUIRE(work.total() <= planned);  // converged before 100 iterations: the work ended early
    REQUIRE(work.finished() == work.total());
    const TokenClusters c = work.take();
    REQUIRE(c.cluster == one.cluster);
    REQUIRE(c.representative == one.representative);
    REQUIRE(c.map == one.map);
    REQUIRE(c.centroids.data == one.centroids.data);
    REQUIRE_THROWS_WITH(work.take(), Catch::Contains("has not finished (or its clusters were taken)"));
  }
  // At most max_iterations Lloyd iterations: the planned total, every step run.
  const Tensor w = random_embedding(300, 16, 9);
  ClusterWork capped(w, 40, 1, 1);
  capped.finish();
  REQUIRE(capped.total() == capped.finished());
  REQUIRE(capped.take().map == cluster_tokens(w, 40, 1, 1).map);
}

TEST_CASE("TransitionFitWork: the fit in steps is the one-call transition model", "[seqdefence]") {
  const std::vector<TokenSeq> train = {{2, 3, 4}, {3, 4, 5, 6}, {2, 2, 3}, {7, 8}, {9, 10, 11, 2}};
  const TransitionModel one(train, 12, 0.1);
  TransitionFitWork work(train, 12, 0.1);
  while (!work.step()) REQUIRE(!work.progress().empty());
  const TransitionModel& stepped = *work.model();
  for (std::int32_t a = 0; a < 12; ++a)
    for (std::int32_t b = 1; b < 12; ++b) REQUIRE(stepped.log_prob(a, b) == one.log_prob(a, b));
}

TEST_CASE("sequence defences built in many small steps are the one-call build (toy model)", "[seqdefence]") {
  SequenceModel model(RnnType::LSTM, 40, 4, 5, 2);
  Rng rng(3);
  model.init(rng);
  SequenceSplit train, val;
  for (int i = 0; i < 30; ++i) {
    TokenSeq s;
    for (int j = 0; j < 3 + i % 7; ++j) s.push_back(2 + static_cast<int>(rng.below(38)));
    (i % 3 == 0 ? val : train).sequences.push_back(s);
    (i % 3 == 0 ? val : train).labels.push_back(i % 2);
  }
  const std::vector<TokenSeq> test = {{2, 3, 4, 5}, {39, 38}, {7, 7, 7, 7, 7, 7}};
  for (const SeqDefenceSpec& spec : seq_defences()) {
    if (spec.name == "seqensemble") continue;  // members only for MalbehavD and SMS: below
    INFO(spec.name);
    ParamValues p = defaults(spec.params);
    if (p.has("k")) p.set("k", 9);
    SeqDefended one = build_seq_defence(spec, {train, val, "toy"}, model, p);
    std::unique_ptr<SeqDefenceBuild> b = start_seq_defence(spec, {train, val, "toy"}, model, p);
    Stepped s = run_steps(*b, model, test[0]);
    REQUIRE(s.steps >= 3);  // stages, their work, the finish
    require_same(s.d, one, test);
    REQUIRE_THROWS_WITH(b->result(), Catch::Contains("has not finished (or its result was taken)"));
  }
}

TEST_CASE("shipped sequence defences built in many small steps are the one-call build, bit for bit",
          "[seqdefence][shipped]") {
  for (const auto& [model, task, members] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"api_lstm", "malbehavd", "sequence/api_lstm"}, {"sms_lstm", "sms", "sequence/sms_lstm"}}) {
    Shipped& s = shipped(model, task);
    // Companion models from a store that says "still loading" once each, as the page's does.
    std::map<std::string, std::unique_ptr<SequenceModel>> store;
    std::map<std::string, int> asked;
    SeqDefenceContext ctx{s.data.train, s.validation, s.data.name};
    ctx.model = [&](const std::string& name) -> SequenceClassifier& {
      if (asked[name]++ == 0) throw Error("model '" + name + "' is still loading");
      auto& m = store[name];
      if (!m)
        m = std::make_unique<SequenceModel>(
            load_sequence_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/" + name + ".safetensors"));
      return *m;
    };
    std::vector<TokenSeq> test;
    for (int i = 0; i < 8; ++i) test.push_back(s.data.test.sequences[static_cast<size_t>(2 * i)]);  // held out
    for (const SeqDefenceSpec& spec : seq_defences()) {
      INFO(model << " " << spec.name);
      ParamValues p = defaults(spec.params);
      if (p.has("k") && model == "sms_lstm") p.set("k", 2560);  // as measured in DEFENCES.md
      SeqDefended one = build_seq_defence(spec, {s.data.train, s.validation, s.data.name}, s.model, p);
      std::unique_ptr<SeqDefenceBuild> b = start_seq_defence(spec, ctx, s.model, p);
      Stepped st = run_steps(*b, s.model, test[1]);
      require_same(st.d, one, test);
      if (spec.name != "seqensemble") REQUIRE(st.steps >= 3);
    }
  }
}

// Natively, one thread: each build's steps, their longest and their total, and the threshold against
// the one the former single batch of 256 validation sequences gave (run: advx_tests "[.measure]").
TEST_CASE("measure: sequence defences' first builds in steps", "[.measure][seqdefence][shipped]") {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  for (const auto& [model, task] :
       std::vector<std::pair<std::string, std::string>>{{"api_lstm", "malbehavd"}, {"sms_lstm", "sms"}}) {
    Shipped& s = shipped(model, task);
    const SeqDefenceContext ctx{s.data.train, s.validation, s.data.name};
    for (const SeqDefenceSpec& spec : seq_defences()) {
      ParamValues p = defaults(spec.params);
      if (p.has("k") && model == "sms_lstm") p.set("k", 2560);
      std::unique_ptr<SeqDefenceBuild> b = start_seq_defence(spec, ctx, s.model, p);
      Stepped st = run_steps(*b, s.model, s.data.test.sequences[0]);
      const auto t0 = Clock::now();
      SeqDefended one = build_seq_defence(spec, ctx, s.model, p);
      const double one_ms = ms_since(t0);
      std::printf("%s %s: %d steps, longest %.2f ms, total %.1f ms (one call %.1f ms)", model.c_str(),
                  spec.name.c_str(), st.steps, st.max_ms, st.total_ms, one_ms);
      if (one.detects()) {
        const std::vector<float> all = one.score(s.validation.sequences);  // batches of 256, as before
        const double before = threshold_at_fpr(all, p.number("fpr"));
        std::printf("; threshold %.9g (one batch of 256: %.9g), validation batch %d", one.threshold, before,
                    validation_batch(ctx, spec.name == "seqsqueeze" ? 2.0 * s.model.macs_per_token() : 50.0));
      }
      std::printf("\n");
    }
  }
  omp_set_num_threads(threads);
}
