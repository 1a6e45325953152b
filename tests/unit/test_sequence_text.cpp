// Text in, ids out (engine/sequence_text.h), and the engine glue of the playground's sequence view:
// the dataset from its file's bytes, a typed test message encoding to the loader's ids, an attack's
// edits as text, a defence's live report, companion models from the caller.
#include <catch2/catch.hpp>
#include <map>

#include "engine/data/dataset.h"
#include "engine/data/sequences.h"
#include "engine/error.h"
#include "engine/eval/sequence_eval.h"
#include "engine/io/file.h"
#include "engine/loss.h"
#include "engine/seqdefences/seq_defence.h"
#include "engine/seqdefences/seq_ensemble.h"
#include "engine/sequence_model.h"
#include "engine/sequence_text.h"
#include "tests/unit/shipped_sequences.h"

using namespace advx;
using Catch::Matchers::Contains;

namespace {

using Shipped = test::ShippedSequence;

Shipped& shipped(const std::string& name, const std::string& task) {
  return test::shipped_sequence(name, task);
}

std::vector<float> probs_of(SequenceClassifier& m, const SequenceSplit& split, int i) {
  const Tensor p = softmax(m.logits(make_batch(split, {i})));
  return std::vector<float>(p.data.begin(), p.data.end());
}

}  // namespace

TEST_CASE("trace tokenizer: API names separated by whitespace or commas", "[seqtext]") {
  using V = std::vector<std::string>;
  CHECK(trace_tokenize("NtClose NtOpenKey\nLdrLoadDll") == V{"NtClose", "NtOpenKey", "LdrLoadDll"});
  CHECK(trace_tokenize("  NtClose,NtOpenKey,\r\n\tLdrLoadDll  ") == V{"NtClose", "NtOpenKey", "LdrLoadDll"});
  CHECK(trace_tokenize(" \n ,").empty());
  CHECK(tokenize_text("sms-spam-collection", "Don't GO") == V{"dont", "go"});
  CHECK(tokenize_text("malbehavd-v1", "Don't GO") == V{"Don't", "GO"});
  CHECK(default_max_len("sms-spam-collection") == 64);
  CHECK(default_max_len("malbehavd-v1") == 0);
  CHECK_THROWS_WITH(tokenize_text("mnist", "x"), Contains("unknown sequence dataset 'mnist'"));
}

TEST_CASE("sequence datasets from bytes: the loader's result, sha256 checked, texts kept", "[seqtext][shipped]") {
  const std::string dir = resolve_data_dir("");
  for (const char* name : {"sms-spam-collection", "malbehavd-v1"}) {
    INFO(name);
    const std::vector<std::uint8_t> bytes = read_file(dir + "/" + sequence_dataset_file(name));
    const SequenceDataset a = load_sequence_dataset(dir, name), b = sequence_dataset_from_bytes(name, bytes, "copy");
    CHECK(a.vocab == b.vocab);
    CHECK(a.test.sequences == b.test.sequences);
    CHECK(a.train.labels == b.train.labels);
    REQUIRE(b.test.texts.size() == b.test.sequences.size());
    REQUIRE(b.train.texts.size() == b.train.sequences.size());
    // The validation / held-out halves keep their texts.
    const SequenceSplit val = sequence_validation_split(b.test);
    REQUIRE(val.texts.size() == val.sequences.size());
    CHECK(val.texts[0] == b.test.texts[1]);
    std::vector<std::uint8_t> bad = bytes;
    bad[bad.size() / 2] ^= 1;
    CHECK_THROWS_WITH(sequence_dataset_from_bytes(name, bad, "samples/x.txt.gz"),
                      Contains("'samples/x.txt.gz' has sha256") && Contains("corrupt"));
  }
}

TEST_CASE("sequence datasets in steps: bounded pieces, progress to 1, the one-call dataset, errors as it",
          "[seqtext][shipped]") {
  const std::string dir = resolve_data_dir("");
  for (const char* name : {"sms-spam-collection", "malbehavd-v1"}) {
    INFO(name);
    const std::vector<std::uint8_t> bytes = read_file(dir + "/" + sequence_dataset_file(name));
    const SequenceDataset one = load_sequence_dataset(dir, name);
    SequenceDatasetLoad load(name, bytes, "copy");
    int steps = 0;
    double last = -1.0;
    bool done = false;
    while (!done) {
      REQUIRE(steps < 1000);
      const double p = load.progress();
      CHECK(p >= last);
      last = p;
      done = load.step();
      ++steps;
    }
    CHECK(load.progress() == 1.0);
    CHECK(load.step());  // done stays done
    // Pieces of at most 256 KB hashed, 64 KB parsed (plus a line), 512 samples: many steps.
    CHECK(steps >= static_cast<int>(bytes.size() / (256 * 1024) + bytes.size() / (64 * 1024 + 8192)));
    const SequenceDataset d = load.take();
    CHECK(d.vocab == one.vocab);
    CHECK(d.train.sequences == one.train.sequences);
    CHECK(d.test.sequences == one.test.sequences);
    CHECK(d.test.texts == one.test.texts);
    CHECK(d.train.lines == one.train.lines);
    CHECK(d.duplicates_removed == one.duplicates_removed);
    CHECK_THROWS_WITH(load.take(), Contains("taken already"));
    SequenceDatasetLoad early(name, bytes, "copy");
    early.step();
    CHECK_THROWS_WITH(early.take(), Contains("still loading"));
    // A corrupt byte: the checksum step says so, before any parsing.
    std::vector<std::uint8_t> bad = bytes;
    bad[bad.size() - 1] ^= 1;
    SequenceDatasetLoad corrupt(name, bad, "samples/x.txt.gz");
    auto to_end = [](SequenceDatasetLoad& l) {
      while (!l.step()) {
      }
    };
    CHECK_THROWS_WITH(to_end(corrupt), Contains("'samples/x.txt.gz' has sha256") && Contains("corrupt"));
  }
}

TEST_CASE("TextCodec: every test sample's text encodes to the loader's ids, unknown words, truncation, empty",
          "[seqtext][shipped]") {
  for (const auto& [name, task] : {std::pair<const char*, const char*>{"sms_lstm", "sms"}, {"api_lstm", "malbehavd"}}) {
    Shipped& s = shipped(name, task);
    INFO(name);
    CHECK(s.codec.dataset() == s.data.name);
    CHECK(s.codec.vocab_size() == s.model.vocab_size());
    CHECK(s.codec.classes() == s.data.class_names);
    for (int i = 0; i < s.data.test.size(); ++i) {
      const EncodedText e = s.codec.encode(s.data.test.texts[static_cast<size_t>(i)]);
      REQUIRE(e.ids == s.data.test.sequences[static_cast<size_t>(i)]);
      REQUIRE(e.tokens.size() == e.ids.size());
      for (int u : e.unknown) REQUIRE(e.ids[static_cast<size_t>(u)] == kUnkId);
    }
    // The probabilities of a typed text are the model's on the loader's batch.
    const int i = 5;
    const std::vector<float> p = sequence_probabilities(s.model, s.codec.encode(s.data.test.texts[i]).ids);
    const std::vector<float> q = probs_of(s.model, s.data.test, i);
    REQUIRE(p.size() == q.size());
    for (size_t k = 0; k < p.size(); ++k) CHECK(p[k] == Approx(q[k]).margin(1e-6));
  }
  const TextCodec& sms = shipped("sms_lstm", "sms").codec;
  const EncodedText e = sms.encode("Call me, Zqxjvbw! I'm home");
  CHECK(e.tokens == std::vector<std::string>{"call", "me", "zqxjvbw", "im", "home"});
  CHECK(e.unknown == std::vector<int>{2});
  CHECK(e.ids[2] == kUnkId);
  CHECK(sms.token(e.ids[0]) == "call");
  std::string long_text;
  for (int k = 0; k < 70; ++k) long_text += "call ";
  const EncodedText t = sms.encode(long_text);
  CHECK(t.ids.size() == 64);
  CHECK(t.dropped == 6);
  const EncodedText none = sms.encode(" :-) ");
  CHECK(none.empty);
  CHECK(none.ids == TokenSeq{kUnkId});
  CHECK(none.tokens.size() == 1);
  CHECK(sms.join({"a", "b"}) == "a b");
  CHECK(shipped("api_lstm", "malbehavd").codec.join({"NtClose", "NtOpenKey"}) == "NtClose\nNtOpenKey");
  CHECK_THROWS_WITH(TextCodec({{"advx.dataset", "sms-spam-collection"}}, "m.safetensors"),
                    Contains("'m.safetensors' has no 'advx.vocab'"));
  CHECK_THROWS_WITH(TextCodec({{"advx.dataset", "mnist"}, {"advx.vocab", "<pad>\n<unk>"}}, "m"),
                    Contains("unknown sequence dataset 'mnist'"));
  CHECK_THROWS_WITH(sms.token(1 << 20), Contains("outside the vocabulary"));
}

TEST_CASE("TextCodec::describe: what a substitution or an insertion put in, as text that encodes back",
          "[seqtext][shipped]") {
  const TextCodec& sms = shipped("sms_lstm", "sms").codec;
  const EncodedText o = sms.encode("WIN a Zqxjvbw prize now");
  REQUIRE(o.unknown == std::vector<int>{2});
  TokenSeq adv = o.ids;
  adv[1] = sms.encode("the").ids[0];
  adv[4] = sms.encode("today").ids[0];
  const TextEdit sub = sms.describe(o, adv, SeqEdit::Substitute);
  CHECK(sub.edited == std::vector<int>{1, 4});
  CHECK(sub.tokens == std::vector<std::string>{"win", "the", "zqxjvbw", "prize", "today"});
  CHECK(sub.text == "win the zqxjvbw prize today");  // the unknown word keeps its spelling
  CHECK(sms.encode(sub.text).ids == adv);
  CHECK_THROWS_WITH(sms.describe(o, TokenSeq(o.ids.begin(), o.ids.end() - 1), SeqEdit::Substitute),
                    Contains("keeps the length"));

  const TextCodec& api = shipped("api_lstm", "malbehavd").codec;
  const EncodedText t = api.encode("NtClose NtOpenKey NtClose");
  const std::int32_t close = t.ids[0], open = t.ids[1];
  // Inserted: a call before the first, and a second NtOpenKey next to the original one (the later of
  // the two counts as the inserted one).
  const TokenSeq ins = {open, close, open, open, close};
  const TextEdit e = api.describe(t, ins, SeqEdit::Insert);
  CHECK(e.edited == std::vector<int>{0, 3});
  CHECK(e.text == "NtOpenKey\nNtClose\nNtOpenKey\nNtOpenKey\nNtClose");
  CHECK(api.encode(e.text).ids == ins);
  CHECK_THROWS_WITH(api.describe(t, TokenSeq{close, close}, SeqEdit::Insert), Contains("not an insertion"));
  // An empty text reads as one <unk>; an unchanged placeholder gives back empty text.
  const EncodedText none = sms.encode("");
  CHECK(sms.describe(none, none.ids, SeqEdit::Substitute).text.empty());
}

TEST_CASE("seq_defence_report: the defended prediction, the detector's score and the members' votes",
          "[seqtext][shipped]") {
  Shipped& s = shipped("api_lstm", "malbehavd");
  const SequenceSplit val = sequence_validation_split(s.data.test);
  const TokenSeq& x = s.data.test.sequences[0];
  // A detecting defence: its score of the sequence, against the threshold from the validation samples.
  const SeqDefenceSpec& squeeze = *find_seq_defence("seqsqueeze");
  const SeqDefended d = build_seq_defence(squeeze, {s.data.train, val, s.data.name}, s.model, defaults(squeeze.params));
  std::vector<float> probs;
  const DefenceReport r = seq_defence_report(d, x, &probs);
  REQUIRE(r.scores.size() == 1);
  CHECK(r.scores[0].value == Approx(d.score({x})[0]));
  CHECK(r.scores[0].threshold == d.threshold);
  CHECK(r.scores[0].flagged == (r.scores[0].value > d.threshold));
  CHECK(r.votes.empty());
  REQUIRE(probs.size() == 2);
  CHECK(probs[0] + probs[1] == Approx(1.0f));
  // An ensemble: the members come from the caller (the playground's store), each votes.
  std::map<std::string, std::unique_ptr<SequenceModel>> store;
  std::vector<std::string> asked;
  SeqDefenceContext ctx{s.data.train, val, s.data.name};
  ctx.model = [&](const std::string& name) -> SequenceClassifier& {
    asked.push_back(name);
    auto& m = store[name];
    if (!m)
      m = std::make_unique<SequenceModel>(
          load_sequence_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/" + name + ".safetensors"));
    return *m;
  };
  const SeqDefenceSpec& ens = *find_seq_defence("seqensemble");
  const SeqDefended e = build_seq_defence(ens, ctx, s.model, defaults(ens.params));
  CHECK(asked == seq_ensemble_member_names(s.data.name, "regular"));
  CHECK(asked.front() == "sequence/api_lstm_regular_2");
  const DefenceReport v = seq_defence_report(e, x, &probs);
  CHECK(v.scores.empty());
  REQUIRE(v.votes.size() == 3);
  for (size_t m = 0; m < 3; ++m) {
    const std::vector<float> own = sequence_probabilities(*store[asked[m]], x);
    CHECK(v.votes[m].probs[1] == Approx(own[1]).margin(1e-6));
    CHECK(v.votes[m].pred == (own[1] > own[0] ? 1 : 0));
  }
  CHECK(probs[1] == Approx((v.votes[0].probs[1] + v.votes[1].probs[1] + v.votes[2].probs[1]) / 3).margin(1e-5));
}

TEST_CASE("sequence glue: clear errors (vocabulary, task's edits, empty input)", "[seqtext][shipped][errors]") {
  Shipped& sms = shipped("sms_lstm", "sms");
  Shipped& api = shipped("api_lstm", "malbehavd");
  CHECK_THROWS_WITH(check_model_vocabulary(api.data, sms.meta, "sequence/sms_lstm"),
                    Contains("was trained on 'sms-spam-collection', not on 'malbehavd-v1'"));
  CHECK_NOTHROW(check_model_vocabulary(sms.data, sms.meta, "sequence/sms_lstm"));
  CHECK_THROWS_WITH(require_task_edit(*find_sequence_task("malbehavd"), *find_seq_attack("substitute")),
                    Contains("attack 'substitute' edits by substitute") && Contains("use the attack insert"));
  CHECK_NOTHROW(require_task_edit(*find_sequence_task("sms"), *find_seq_attack("substitute")));
  CHECK_THROWS_WITH(sequence_probabilities(sms.model, {}), Contains("at least one token"));
  CHECK_THROWS_WITH(sequence_probabilities(sms.model, {0}), Contains("not in the model's"));
}
