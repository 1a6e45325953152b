// The RNN ensemble members of assets/models/sequence (README.md there), after Rosenberg et al. 2019
// (arXiv:1901.09963, "RNN ensembles"), each with its dataset's base recipe (api_lstm: embedding 32,
// LSTM hidden 64, Adam 1e-3, batch 32, 15 epochs, clip 1.0; sms_lstm: embedding 32, hidden 32, 8
// epochs, no clipping), trained
//   regular      on the whole training split, initialisation and shuffling seeds 2, 3, 4
//   subsequence  on the k-th third of the training split (samples i with i % 3 == k, k = 0, 1, 2),
//                seed 1 (the vocabulary stays the whole split's, so every member reads the same ids)
//   adversarial  on the whole training split plus the task's attack (insert / substitute, budget 10%,
//                default settings, seed 0) crafted once on regular_{2,3,4} (member 0, 1, 2) against its
//                correctly classified training malware / spam (engine/train/sequence_adversarial.h),
//                seeds 5, 6, 7; so the regular members must be there first
//   recrafted    on the whole training split plus kPerEpoch adversarials re-crafted on the member
//                itself before every epoch (train_sequence_adversarial), seeds 5, 6, 7
// Hidden; run with (writes the files)
//   ADVX_SEQ_MODELS=assets/models/sequence ./build/native/advx_tests "[.seq-ensemble-recipe]"
//   ADVX_SEQ_MODELS=assets/models/sequence ./build/native/advx_tests "[.seq-adversarial-recipe]"
//   ADVX_SEQ_MODELS=assets/models/sequence ./build/native/advx_tests "[.seq-sms-ensemble-recipe]"
//   ADVX_SEQ_MODELS=assets/models/sequence ./build/native/advx_tests "[.seq-recraft-recipe]"
//   ADVX_SEQ_MODELS=assets/models/sequence ./build/native/advx_tests "[.seq-recraft-ensemble-recipe]"
//   ADVX_SEQ_MODELS=assets/models/sequence ./build/native/advx_tests "[.seq-recraft-sms-recipe]"
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "engine/data/dataset.h"
#include "engine/train/sequence_adversarial.h"
#include "engine/train/sequence_train.h"

using namespace advx;

namespace {

struct Member {
  std::string file;
  std::uint64_t seed;
  int part;            // -1: all of the training split
  std::string source;  // adversarial members: the regular member the adversarials are crafted on,
                       // or kSelf: re-crafted on the member itself before every epoch
};

// Re-crafted adversarial training (engine/train/sequence_adversarial.h, train_sequence_adversarial):
// kPerEpoch attacked-class training samples a epoch, attacked on the member being trained.
const char* const kSelf = "self";
constexpr int kPerEpoch = 256;

struct Recipe {
  std::string dataset;  // loader name
  int hidden, epochs;
  float clip;
  std::string attack;  // the task's attack, for adversarial members
};

void train_members(const Recipe& rc, const std::vector<Member>& members) {
  const SequenceDataset d = load_sequence_dataset(resolve_data_dir(""), rc.dataset);
  const SequenceTask& task = *find_sequence_task(rc.dataset);
  const char* out_dir = std::getenv("ADVX_SEQ_MODELS");
  const std::string dir = out_dir && *out_dir ? out_dir : std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence";
  for (const Member& mb : members) {
    SequenceSplit train;
    std::string data_note;
    SequenceAdversarialStats adv;
    const bool recraft = mb.source == kSelf;
    if (recraft) {
      train = d.train;
      char note[256];
      std::snprintf(note, sizeof note,
                    "all + %s adversarials (budget 0.1) re-crafted on the member itself before every epoch, %d "
                    "attacked-class samples an epoch (seed %llu)",
                    rc.attack.c_str(), kPerEpoch, static_cast<unsigned long long>(mb.seed));
      data_note = note;
    } else if (!mb.source.empty()) {
      SequenceModel source = load_sequence_model(dir + "/" + mb.source + ".safetensors");
      const SeqAttackSpec& attack = *find_seq_attack(rc.attack);
      ParamValues p = defaults(attack.params);
      p.set("budget", 0.1);
      train = with_adversarial_sequences(source, d.train, task, attack, p, 0, &adv);
      char note[256];
      std::snprintf(note, sizeof note, "all + %d %s adversarials (budget 0.1, seed 0) crafted on %s (%d evade it)",
                    adv.crafted, rc.attack.c_str(), mb.source.c_str(), adv.successful);
      data_note = note;
    } else {
      for (int i = 0; i < d.train.size(); ++i)
        if (mb.part < 0 || i % 3 == mb.part) {
          train.sequences.push_back(d.train.sequences[static_cast<size_t>(i)]);
          train.labels.push_back(d.train.labels[static_cast<size_t>(i)]);
          train.lines.push_back(d.train.lines[static_cast<size_t>(i)]);
        }
      data_note = mb.part < 0 ? "all" : "i % 3 == " + std::to_string(mb.part);
    }
    SequenceModel m(RnnType::LSTM, d.vocab_size(), 32, rc.hidden, d.num_classes());
    Rng rng(mb.seed);
    m.init(rng);
    SequenceTrainConfig cfg;
    cfg.epochs = rc.epochs;
    cfg.batch = 32;
    cfg.lr = 1e-3f;
    cfg.clip = rc.clip;
    cfg.seed = mb.seed;
    double seconds = 0.0;
    if (recraft) {
      const SeqAttackSpec& attack = *find_seq_attack(rc.attack);
      ParamValues p = defaults(attack.params);
      p.set("budget", 0.1);
      train_sequence_adversarial(
          m, train, task, attack, p, cfg, kPerEpoch, mb.seed,
          [&](const SequenceEpoch& e) {
            seconds += e.seconds;
            std::printf("epoch %d/%d loss %.4f acc %.4f\n", e.epoch, e.epochs, e.loss, e.accuracy);
            std::fflush(stdout);
          },
          &adv);
    } else {
      train_sequence_model(m, train, cfg, [&](const SequenceEpoch& e) { seconds += e.seconds; });
    }
    const double acc = sequence_accuracy(m, d.test);
    char recipe[768];
    std::snprintf(recipe, sizeof recipe,
                  "dataset %s (seed 1, 80/20 stratified, default vocabulary); training samples %s (%d); "
                  "LSTM embed 32 hidden %d; init Rng(%llu); Adam lr 0.001 batch 32 epochs %d clip %g shuffle seed %llu",
                  rc.dataset.c_str(), data_note.c_str(), train.size(), rc.hidden,
                  static_cast<unsigned long long>(mb.seed), rc.epochs, static_cast<double>(rc.clip),
                  static_cast<unsigned long long>(mb.seed));
    std::printf("RESULT %s: test accuracy %.4f (%d of %d), %.1f s training%s\n  %s\n", mb.file.c_str(), acc,
                static_cast<int>(acc * d.test.size() + 0.5), d.test.size(), seconds,
                mb.source.empty() ? "" : (", " + std::to_string(adv.seconds) + " s crafting").c_str(), recipe);
    CHECK(acc > 0.9);
    if (out_dir && *out_dir) {
      std::string vocab;
      for (const std::string& w : d.vocab) vocab += (vocab.empty() ? "" : "\n") + w;
      char accs[32];
      std::snprintf(accs, sizeof accs, "%.4f", acc);
      const std::string path = dir + "/" + mb.file + ".safetensors";
      save_sequence_model(m, path,
                          {{"advx.dataset", rc.dataset},
                           {"advx.classes", d.class_names[0] + "," + d.class_names[1]},
                           {"advx.recipe", recipe},
                           {"advx.test_acc", accs},
                           {"advx.test_n", std::to_string(d.test.size())},
                           {"advx.vocab", vocab}});
      std::printf("saved %s\n", path.c_str());
    }
  }
}

const Recipe kMalbehavd{"malbehavd-v1", 64, 15, 1.0f, "insert"};
const Recipe kSms{"sms-spam-collection", 32, 8, 0.0f, "substitute"};

}  // namespace

TEST_CASE("RNN ensemble members on MalbehavD: regular (seeds) and subsequence (thirds)", "[.seq-ensemble-recipe]") {
  train_members(kMalbehavd, {{"api_lstm_regular_2", 2, -1, ""},
                             {"api_lstm_regular_3", 3, -1, ""},
                             {"api_lstm_regular_4", 4, -1, ""},
                             {"api_lstm_subsequence_0", 1, 0, ""},
                             {"api_lstm_subsequence_1", 1, 1, ""},
                             {"api_lstm_subsequence_2", 1, 2, ""}});
}

TEST_CASE("RNN ensemble members on MalbehavD: adversarial (insertions crafted on a regular member)",
          "[.seq-adversarial-recipe]") {
  train_members(kMalbehavd, {{"api_lstm_adversarial_0", 5, -1, "api_lstm_regular_2"},
                             {"api_lstm_adversarial_1", 6, -1, "api_lstm_regular_3"},
                             {"api_lstm_adversarial_2", 7, -1, "api_lstm_regular_4"}});
}

TEST_CASE("A MalbehavD member with adversarials re-crafted on itself every epoch", "[.seq-recraft-recipe]") {
  train_members(kMalbehavd, {{"api_lstm_recrafted_0", 5, -1, kSelf}});
}

// The other two members of the re-crafted ensemble (seqensemble --members recrafted), and the SMS three.
TEST_CASE("Re-crafted ensemble members: MalbehavD seeds 6 and 7", "[.seq-recraft-ensemble-recipe]") {
  train_members(kMalbehavd, {{"api_lstm_recrafted_1", 6, -1, kSelf}, {"api_lstm_recrafted_2", 7, -1, kSelf}});
}

TEST_CASE("Re-crafted ensemble members: SMS seeds 5, 6, 7", "[.seq-recraft-sms-recipe]") {
  train_members(kSms, {{"sms_lstm_recrafted_0", 5, -1, kSelf},
                       {"sms_lstm_recrafted_1", 6, -1, kSelf},
                       {"sms_lstm_recrafted_2", 7, -1, kSelf}});
}

TEST_CASE("RNN ensemble members on SMS: regular, subsequence, adversarial", "[.seq-sms-ensemble-recipe]") {
  train_members(kSms, {{"sms_lstm_regular_2", 2, -1, ""},
                       {"sms_lstm_regular_3", 3, -1, ""},
                       {"sms_lstm_regular_4", 4, -1, ""},
                       {"sms_lstm_subsequence_0", 1, 0, ""},
                       {"sms_lstm_subsequence_1", 1, 1, ""},
                       {"sms_lstm_subsequence_2", 1, 2, ""},
                       {"sms_lstm_adversarial_0", 5, -1, "sms_lstm_regular_2"},
                       {"sms_lstm_adversarial_1", 6, -1, "sms_lstm_regular_3"},
                       {"sms_lstm_adversarial_2", 7, -1, "sms_lstm_regular_4"}});
}
