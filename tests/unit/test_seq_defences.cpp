// The sequence defence registry (engine/seqdefences/seq_defence.h), the transition model
// (transitions.h) and the mean-embedding representation (mean_embedding.h), on small random models
// and hand-made splits: every registration reachable and buildable, thresholds from the clean
// validation samples only, the transition probabilities and scores against hand computation.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "engine/seqdefences/mean_embedding.h"
#include "engine/seqdefences/seq_defence.h"
#include "engine/seqdefences/transitions.h"
#include "engine/sequence_model.h"

using namespace advx;
using Catch::Matchers::Contains;

namespace {

SequenceSplit split_of(std::vector<TokenSeq> seqs) {
  SequenceSplit s;
  for (size_t i = 0; i < seqs.size(); ++i) {
    s.labels.push_back(static_cast<int>(i % 2));
    s.lines.push_back(static_cast<int>(i + 1));
  }
  s.sequences = std::move(seqs);
  return s;
}

SequenceModel small_model(std::uint64_t seed) {
  SequenceModel m(RnnType::LSTM, 12, 4, 5, 2);
  Rng rng(seed);
  m.init(rng);
  return m;
}

}  // namespace

TEST_CASE("sequence defences: every registration reachable, built, calibrated on validation only", "[seqdefence]") {
  REQUIRE(!seq_defences().empty());
  SequenceModel model = small_model(3);
  const SequenceSplit train = split_of({{2, 3, 4}, {3, 4, 5, 6}, {2, 2, 3}, {7, 8}, {9, 10, 11, 2}});
  const SequenceSplit val_a = split_of({{2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11}, {2, 4, 6, 8}, {3, 5, 7}});
  const SequenceSplit val_b = split_of({{11, 11, 11}, {9, 2}, {5, 5}, {6, 7, 8, 9, 10}});
  for (const SeqDefenceSpec& spec : seq_defences()) {
    INFO(spec.name);
    REQUIRE(find_seq_defence(spec.name) == &spec);
    CHECK_THAT(seq_defence_names(), Contains(spec.name));
    ParamValues p = defaults(spec.params);
    if (p.has("k")) p.set("k", 4);
    if (spec.name == "seqensemble") {  // members only for MalbehavD and SMS (test_seq_ensemble.cpp)
      CHECK_THROWS_WITH(build_seq_defence(spec, {train, val_a, "toy"}, model, p), Contains("no RNN ensemble members"));
      continue;
    }
    const SeqDefended a = build_seq_defence(spec, {train, val_a, "toy"}, model, p);
    REQUIRE(a.model != nullptr);
    if (!a.detects()) continue;
    // The threshold is the one threshold_at_fpr gives on the validation scores, nothing else.
    const std::vector<float> s = a.score(val_a.sequences);
    CHECK(a.threshold == Approx(threshold_at_fpr(s, p.number("fpr"))));
    CHECK(a.validation_fpr == Approx(fraction_above(s, a.threshold)));
    CHECK(a.validation_fpr <= p.number("fpr") + 1e-12);
    // Same inputs, same threshold (seeded); other validation samples, the threshold follows them.
    const SeqDefended again = build_seq_defence(spec, {train, val_a, "toy"}, model, p);
    CHECK(again.threshold == a.threshold);
    const SeqDefended b = build_seq_defence(spec, {train, val_b, "toy"}, model, p);
    CHECK(b.threshold == Approx(threshold_at_fpr(b.score(val_b.sequences), p.number("fpr"))));
  }
  // Parameters are checked against the table, with a clear message.
  const SeqDefenceSpec& sq = *find_seq_defence("seqsqueeze");
  ParamValues bad = defaults(sq.params);
  bad.set("k", 50);
  CHECK_THROWS_WITH(build_seq_defence(sq, {train, val_a, "toy"}, model, bad), Contains("choose --k in [1, 10]"));
  CHECK(find_seq_defence("no-such-defence") == nullptr);
}

TEST_CASE("seqsqueeze classifies through the squeezer, transitions classifies with the base model", "[seqdefence]") {
  SequenceModel model = small_model(5);
  const SequenceSplit train = split_of({{2, 3, 4}, {5, 6, 7}});
  const SequenceSplit val = split_of({{2, 3}, {4, 5}, {6, 7}, {8, 9}});
  ParamValues p = defaults(find_seq_defence("seqsqueeze")->params);
  p.set("k", 3);
  const SeqDefended sq = build_seq_defence(*find_seq_defence("seqsqueeze"), {train, val, "toy"}, model, p);
  CHECK(sq.model != &model);
  CHECK(sq.model->gradient_kind() == GradientKind::StraightThrough);
  const SeqDefended tr = build_seq_defence(*find_seq_defence("transitions"), {train, val, "toy"}, model,
                                           defaults(find_seq_defence("transitions")->params));
  CHECK(tr.model == &model);
}

TEST_CASE("transition model: add-alpha probabilities, mean NLL per transition from a start state", "[seqdefence]") {
  // V = 5: ids 1..4 (<unk> and three tokens); V' = 4.
  const TransitionModel tm({{2, 3}, {2, 3}, {2, 4}}, 5, 0.5);
  // From the start state: c(S, 2) = 3 of 3 first tokens.
  CHECK(std::exp(tm.log_prob(tm.start(), 2)) == Approx((3 + 0.5) / (3 + 0.5 * 4)));
  CHECK(std::exp(tm.log_prob(2, 3)) == Approx((2 + 0.5) / (3 + 0.5 * 4)));
  CHECK(std::exp(tm.log_prob(3, 4)) == Approx(0.5 / (0 + 0.5 * 4)));  // 3 is never followed: uniform
  for (std::int32_t a : {0, 1, 2, 3, 4}) {
    double total = 0.0;
    for (std::int32_t b = 1; b < 5; ++b) total += std::exp(tm.log_prob(a, b));
    CHECK(total == Approx(1.0));
  }
  const double expect = -(tm.log_prob(0, 2) + tm.log_prob(2, 3)) / 2.0;
  CHECK(tm.score({2, 3}) == Approx(expect));
  CHECK(tm.score({2, 3}) < tm.score({3, 2}));  // seen transitions are regular, unseen ones not
  CHECK(tm.scores({{2, 3}, {3, 2}}).size() == 2);
  CHECK_THROWS_WITH(tm.score({}), Contains("empty sequence"));
  CHECK_THROWS_WITH(tm.score({2, 7}), Contains("outside the 5-token vocabulary"));
  CHECK_THROWS_WITH(TransitionModel({{2}}, 5, 0.0), Contains("alpha must be > 0"));
}

TEST_CASE("transition model: edit_scores is the exact score of every one-token edit", "[seqdefence]") {
  const TransitionModel tm({{2, 3, 4}, {3, 4, 5, 6}, {2, 2, 3}, {7, 8}}, 9, 0.1);
  const TokenSeq seq = {2, 7, 3, 1, 5};
  std::vector<float> out;
  for (SeqEdit edit : {SeqEdit::Insert, SeqEdit::Substitute}) {
    const int slots = static_cast<int>(seq.size()) + (edit == SeqEdit::Insert ? 1 : 0);
    for (int slot = 0; slot < slots; ++slot) {
      tm.edit_scores(seq, edit, slot, out);
      REQUIRE(out.size() == 9);
      CHECK(std::isinf(out[0]));  // <pad> is never written
      for (std::int32_t u = 1; u < 9; ++u) {
        TokenSeq t = seq;
        if (edit == SeqEdit::Insert)
          t.insert(t.begin() + slot, u);
        else
          t[static_cast<size_t>(slot)] = u;
        INFO("edit " << seq_edit_name(edit) << " slot " << slot << " token " << u);
        CHECK(out[static_cast<size_t>(u)] == Approx(tm.score(t)).epsilon(1e-5));
      }
    }
  }
  CHECK_THROWS_WITH(tm.edit_scores(seq, SeqEdit::Substitute, 5, out), Contains("outside a sequence of 5"));
}

TEST_CASE("mean_embeddings: the mean of the sequence's embedding rows", "[seqdefence]") {
  Tensor w({4, 2});
  for (int i = 0; i < 8; ++i) w.data[static_cast<size_t>(i)] = static_cast<float>(i);
  const Tensor m = mean_embeddings(w, {{1, 3}, {2}});
  CHECK(m.dim(0) == 2);
  CHECK(m.data[0] == Approx((2 + 6) / 2.0));
  CHECK(m.data[1] == Approx((3 + 7) / 2.0));
  CHECK(m.data[2] == Approx(4.0));
  CHECK_THROWS_WITH(mean_embeddings(w, {{}}), Contains("empty"));
}
