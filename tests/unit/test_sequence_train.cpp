// SequenceModel training (engine/train/sequence_train.h): a quick check that it learns, that the
// same seed gives the same weights, and (hidden, "[.seq-recipe]") the full recipes whose test
// accuracies assets/models/sequence/README.md reports, optionally saving the models.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "engine/data/dataset.h"
#include "engine/error.h"
#include "engine/eval/sequence_eval.h"
#include "engine/train/sequence_adversarial.h"
#include "engine/train/sequence_train.h"

using namespace advx;

namespace {

const SequenceDataset& sms() {
  static const SequenceDataset d = load_sequence_dataset(resolve_data_dir(""), "sms-spam-collection");
  return d;
}

double majority_baseline(const SequenceSplit& s) {
  int ones = 0;
  for (int y : s.labels) ones += y;
  return std::max(ones, s.size() - ones) / static_cast<double>(s.size());
}

}  // namespace

// [heavy]: six epochs of training; skipped under ASan (the smaller training tests take the same paths).
TEST_CASE("SequenceModel learns SMS spam: 1500 messages, 6 epochs, well above the majority class",
          "[seq][train][heavy]") {
  // Measured (2 busy cores): LSTM 96.4%, GRU 97.0% on the 1114 test messages, under a second each.
  const SequenceDataset& d = sms();
  const double baseline = majority_baseline(d.test);
  CHECK(baseline == Approx(965.0 / 1114.0));
  for (RnnType type : {RnnType::LSTM, RnnType::GRU}) {
    SequenceModel m(type, d.vocab_size(), 16, 16, 2);
    Rng rng(1);
    m.init(rng);
    SequenceTrainConfig cfg;
    cfg.epochs = 6;
    cfg.batch = 16;
    cfg.lr = 3e-3f;
    cfg.limit = 1500;
    double last_loss = 1e9, first_loss = 0.0;
    train_sequence_model(m, d.train, cfg, [&](const SequenceEpoch& e) {
      if (e.epoch == 1) first_loss = e.loss;
      last_loss = e.loss;
    });
    const double acc = sequence_accuracy(m, d.test);
    INFO(m.arch() << ": test accuracy " << acc << ", majority baseline " << baseline);
    CHECK(last_loss < 0.5 * first_loss);
    CHECK(acc >= 0.93);
  }
}

TEST_CASE("Sequence training is reproducible from its seeds, and checks its settings", "[seq][train]") {
  const SequenceDataset& d = sms();
  auto run = [&](std::uint64_t shuffle_seed) {
    SequenceModel m(RnnType::LSTM, d.vocab_size(), 8, 8, 2);
    Rng rng(3);
    m.init(rng);
    SequenceTrainConfig cfg;
    cfg.epochs = 1;
    cfg.limit = 200;
    cfg.seed = shuffle_seed;
    cfg.clip = 1.0f;
    train_sequence_model(m, d.train, cfg, nullptr);
    std::vector<FloatVec> w;
    for (const Param& p : m.params()) w.push_back(p.value->data);
    return w;
  };
  const auto a = run(5), b = run(5), c = run(6);
  REQUIRE(a == b);
  REQUIRE(a != c);
  SequenceModel m(RnnType::GRU, d.vocab_size(), 4, 4, 2);
  SequenceTrainConfig bad;
  bad.lr = 0.0f;
  REQUIRE_THROWS_WITH(train_sequence_model(m, d.train, bad, nullptr), Catch::Contains("learning rate"));
  bad = {};
  bad.clip = -1.0f;
  REQUIRE_THROWS_WITH(train_sequence_model(m, d.train, bad, nullptr), Catch::Contains("clipping"));
  SequenceModel three(RnnType::GRU, d.vocab_size(), 4, 4, 3);
  SequenceSplit odd;
  odd.sequences = {{2, 3}};
  odd.labels = {3};
  odd.lines = {1};
  REQUIRE_THROWS_WITH(train_sequence_model(three, odd, {}, nullptr), Catch::Contains("outside the model's 3 classes"));
}

TEST_CASE("Shipped sequence models load and reach the test accuracy their metadata records", "[seq][shipped]") {
  for (const char* name : {"sms_lstm", "api_lstm"}) {
    std::map<std::string, std::string> meta;
    SequenceModel m =
        load_sequence_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/" + name + ".safetensors", &meta);
    REQUIRE(m.arch() == "seq-lstm");
    const SequenceDataset d = load_sequence_dataset(resolve_data_dir(""), meta.at("advx.dataset"));
    REQUIRE(m.vocab == d.vocab_size());
    // The vocabulary in the metadata is the dataset's (same split, same rules).
    std::string vocab;
    for (const std::string& w : d.vocab) vocab += (vocab.empty() ? "" : "\n") + w;
    REQUIRE(meta.at("advx.vocab") == vocab);
    const double acc = sequence_accuracy(m, d.test);
    INFO(name << ": test accuracy " << acc << ", recorded " << meta.at("advx.test_acc"));
    CHECK(acc == Approx(std::stod(meta.at("advx.test_acc"))).margin(0.005));
  }
}

namespace {

// The first n messages of the SMS training split, with their texts and lines.
SequenceSplit first_sms_messages(int n) {
  SequenceSplit out;
  for (int i = 0; i < n; ++i) {
    out.sequences.push_back(sms().train.sequences[static_cast<size_t>(i)]);
    out.labels.push_back(sms().train.labels[static_cast<size_t>(i)]);
    out.lines.push_back(sms().train.lines[static_cast<size_t>(i)]);
    out.texts.push_back(sms().train.texts[static_cast<size_t>(i)]);
  }
  return out;
}

}  // namespace

// The recipes behind the numbers in assets/models/sequence/README.md. Hidden; run with
//   ./build/native/advx_tests "[.seq-recipe]"                      (prints accuracies)
//   ADVX_SEQ_MODELS=assets/models/sequence ./build/native/advx_tests "[.seq-recipe]"  (also saves the LSTMs)
TEST_CASE("with_adversarial_sequences: the split plus one adversarial per spam the source gets right", "[seq][train]") {
  const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/sms_lstm.safetensors";
  SequenceModel source = load_sequence_model(path);
  const SequenceTask& task = *find_sequence_task("sms");
  const SequenceSplit train = first_sms_messages(150);  // about 20 spam
  const SeqAttackSpec& sub = *find_seq_attack("substitute");
  ParamValues p = defaults(sub.params);
  p.set("budget", 0.1);
  SequenceAdversarialStats st;
  const SequenceSplit out = with_adversarial_sequences(source, train, task, sub, p, 0, &st);
  const std::vector<int> pred = predict_sequences(source, train.sequences);
  std::vector<int> victims;
  for (int i = 0; i < train.size(); ++i)
    if (train.labels[static_cast<size_t>(i)] == 1 && pred[static_cast<size_t>(i)] == 1) victims.push_back(i);
  REQUIRE(!victims.empty());
  CHECK(st.crafted == static_cast<int>(victims.size()));
  REQUIRE(out.size() == train.size() + st.crafted);
  CHECK(out.texts.empty());
  CHECK(out.lines.size() == out.sequences.size());
  int changed = 0, evade = 0;
  for (size_t k = 0; k < victims.size(); ++k) {
    const TokenSeq& orig = train.sequences[static_cast<size_t>(victims[k])];
    const TokenSeq& adv = out.sequences[static_cast<size_t>(train.size()) + k];
    CHECK(out.labels[static_cast<size_t>(train.size()) + k] == 1);  // the true class, not the fooled one
    REQUIRE(adv.size() == orig.size());                             // substitution keeps the length
    int diff = 0;
    for (size_t j = 0; j < adv.size(); ++j) diff += adv[j] != orig[j];
    CHECK(diff <= edit_budget(0.1, static_cast<int>(orig.size())));
    changed += diff > 0;
    evade += predict_sequences(source, {adv})[0] != 1;
  }
  CHECK(changed > 0);
  CHECK(st.successful == evade);
  for (int i = 0; i < train.size(); ++i)
    CHECK(out.sequences[static_cast<size_t>(i)] == train.sequences[static_cast<size_t>(i)]);
  // The task's edit only: insertion is refused on SMS.
  CHECK_THROWS_WITH(with_adversarial_sequences(source, train, task, *find_seq_attack("insert"), p, 0),
                    Catch::Matchers::Contains("substitute"));
}

TEST_CASE("train_sequence_adversarial: adversarials re-crafted on the model being trained, every epoch",
          "[seq][train]") {
  const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/sms_lstm.safetensors";
  const SequenceTask& task = *find_sequence_task("sms");
  SequenceSplit train = first_sms_messages(150);  // about 20 spam
  train.texts.clear();
  SequenceTrainConfig cfg;
  cfg.epochs = 2, cfg.batch = 16, cfg.seed = 3;
  auto weights = [](SequenceModel& m) {
    std::vector<float> w;
    for (const Param& p : m.params()) w.insert(w.end(), p.value->data.begin(), p.value->data.end());
    return w;
  };
  // The per-epoch data hook, given the plain split every epoch, is plain training, bit for bit.
  SequenceModel a = load_sequence_model(path), b = load_sequence_model(path);
  train_sequence_model(a, train, cfg, nullptr);
  int calls = 0;
  train_sequence_model(b, train, cfg, nullptr, [&](int epoch) -> const SequenceSplit& {
    CHECK(epoch == ++calls);
    return train;
  });
  CHECK(calls == 2);
  REQUIRE(weights(a) == weights(b));
  // Re-crafted: up to 8 spam per epoch attacked on the model as it is; seeded.
  const SeqAttackSpec& sub = *find_seq_attack("substitute");
  ParamValues p = defaults(sub.params);
  p.set("budget", 0.1);
  SequenceModel c = load_sequence_model(path), d = load_sequence_model(path);
  SequenceAdversarialStats st, st2;
  int epochs = 0;
  train_sequence_adversarial(
      c, train, task, sub, p, cfg, 8, 5, [&](const SequenceEpoch&) { ++epochs; }, &st);
  train_sequence_adversarial(d, train, task, sub, p, cfg, 8, 5, nullptr, &st2);
  CHECK(epochs == 2);
  CHECK(st.crafted > 0);
  CHECK(st.crafted <= 16);
  CHECK(st.successful <= st.crafted);
  CHECK(st.crafted == st2.crafted);
  CHECK(weights(c) == weights(d));  // seeded: the same run twice
  CHECK(weights(c) != weights(a));  // it trained on more than the plain split
  CHECK_THROWS_WITH(train_sequence_adversarial(c, train, task, *find_seq_attack("insert"), p, cfg, 8, 5, nullptr),
                    Catch::Matchers::Contains("substitute"));
  CHECK_THROWS_WITH(train_sequence_adversarial(c, train, task, sub, p, cfg, 0, 5, nullptr),
                    Catch::Matchers::Contains("at least one sample"));
}

TEST_CASE("Sequence model recipes: SMS and MalbehavD, LSTM and GRU, test accuracy", "[.seq-recipe]") {
  struct Recipe {
    const char* dataset;
    const char* file;  // saved for the LSTM when ADVX_SEQ_MODELS is set
    int embed, hidden, epochs, batch;
    float lr, clip;
  };
  const Recipe recipes[] = {{"sms-spam-collection", "sms_lstm", 32, 32, 8, 32, 1e-3f, 0.0f},
                            {"malbehavd-v1", "api_lstm", 32, 64, 15, 32, 1e-3f, 1.0f}};
  const char* out_dir = std::getenv("ADVX_SEQ_MODELS");
  for (const Recipe& r : recipes) {
    const SequenceDataset d = load_sequence_dataset(resolve_data_dir(""), r.dataset);
    for (RnnType type : {RnnType::LSTM, RnnType::GRU}) {
      SequenceModel m(type, d.vocab_size(), r.embed, r.hidden, d.num_classes());
      Rng rng(1);
      m.init(rng);
      SequenceTrainConfig cfg;
      cfg.epochs = r.epochs;
      cfg.batch = r.batch;
      cfg.lr = r.lr;
      cfg.clip = r.clip;
      double seconds = 0.0;
      train_sequence_model(m, d.train, cfg, [&](const SequenceEpoch& e) {
        seconds += e.seconds;
        std::printf("%s %s epoch %d/%d loss %.4f train acc %.4f (%.2f s)\n", r.dataset, m.arch().c_str(), e.epoch,
                    e.epochs, e.loss, e.accuracy, e.seconds);
      });
      const double acc = sequence_accuracy(m, d.test);
      char recipe[512];
      std::snprintf(recipe, sizeof recipe,
                    "dataset %s (seed 1, 80/20 stratified, default vocabulary and max_len); %s embed %d hidden %d; "
                    "init Rng(1); Adam lr %g batch %d epochs %d clip %g shuffle seed 1",
                    r.dataset, type == RnnType::LSTM ? "LSTM" : "GRU", r.embed, r.hidden, static_cast<double>(r.lr),
                    r.batch, r.epochs, static_cast<double>(r.clip));
      std::printf("RESULT %s %s: test accuracy %.4f (%d of %d; majority baseline %.4f), %.1f s training\n  %s\n",
                  r.dataset, m.arch().c_str(), acc, static_cast<int>(acc * d.test.size() + 0.5), d.test.size(),
                  majority_baseline(d.test), seconds, recipe);
      CHECK(acc > majority_baseline(d.test));
      if (out_dir && *out_dir && type == RnnType::LSTM) {
        std::string vocab;
        for (const std::string& w : d.vocab) vocab += (vocab.empty() ? "" : "\n") + w;
        char accs[32];
        std::snprintf(accs, sizeof accs, "%.4f", acc);
        const std::string path = std::string(out_dir) + "/" + r.file + ".safetensors";
        save_sequence_model(m, path,
                            {{"advx.dataset", r.dataset},
                             {"advx.classes", d.class_names[0] + "," + d.class_names[1]},
                             {"advx.recipe", recipe},
                             {"advx.test_acc", accs},
                             {"advx.test_n", std::to_string(d.test.size())},
                             {"advx.vocab", vocab}});
        std::printf("saved %s\n", path.c_str());
      }
    }
  }
}
