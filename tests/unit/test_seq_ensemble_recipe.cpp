// The RNN ensemble members of assets/models/sequence (README.md there): api_lstm's recipe (embedding
// 32, LSTM hidden 64, Adam 1e-3, batch 32, 15 epochs, clip 1.0) trained
//   regular      on the whole MalbehavD training split, initialisation and shuffling seeds 2, 3, 4
//   subsequence  on the k-th third of the training split (samples i with i % 3 == k, k = 0, 1, 2),
//                seed 1 (the vocabulary stays the whole split's, so every member reads the same ids)
// after Rosenberg et al. 2019 (arXiv:1901.09963, "RNN ensembles"). Hidden; run with
//   ADVX_SEQ_MODELS=assets/models/sequence ./build/native/advx_tests "[.seq-ensemble-recipe]"
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "engine/data/dataset.h"
#include "engine/train/sequence_train.h"

using namespace advx;

TEST_CASE("RNN ensemble members on MalbehavD: regular (seeds) and subsequence (thirds)", "[.seq-ensemble-recipe]") {
  const SequenceDataset d = load_sequence_dataset(resolve_data_dir(""), "malbehavd-v1");
  const char* out_dir = std::getenv("ADVX_SEQ_MODELS");
  struct Member {
    std::string file;
    std::uint64_t seed;
    int part;  // -1: all of the training split
  };
  const Member members[] = {{"api_lstm_regular_2", 2, -1},    {"api_lstm_regular_3", 3, -1},
                            {"api_lstm_regular_4", 4, -1},    {"api_lstm_subsequence_0", 1, 0},
                            {"api_lstm_subsequence_1", 1, 1}, {"api_lstm_subsequence_2", 1, 2}};
  for (const Member& mb : members) {
    SequenceSplit train;
    for (int i = 0; i < d.train.size(); ++i)
      if (mb.part < 0 || i % 3 == mb.part) {
        train.sequences.push_back(d.train.sequences[static_cast<size_t>(i)]);
        train.labels.push_back(d.train.labels[static_cast<size_t>(i)]);
        train.lines.push_back(d.train.lines[static_cast<size_t>(i)]);
      }
    SequenceModel m(RnnType::LSTM, d.vocab_size(), 32, 64, d.num_classes());
    Rng rng(mb.seed);
    m.init(rng);
    SequenceTrainConfig cfg;
    cfg.epochs = 15;
    cfg.batch = 32;
    cfg.lr = 1e-3f;
    cfg.clip = 1.0f;
    cfg.seed = mb.seed;
    double seconds = 0.0;
    train_sequence_model(m, train, cfg, [&](const SequenceEpoch& e) { seconds += e.seconds; });
    const double acc = sequence_accuracy(m, d.test);
    char recipe[512];
    std::snprintf(recipe, sizeof recipe,
                  "dataset malbehavd-v1 (seed 1, 80/20 stratified, default vocabulary); training samples %s (%d); "
                  "LSTM embed 32 hidden 64; init Rng(%llu); Adam lr 0.001 batch 32 epochs 15 clip 1 shuffle seed %llu",
                  mb.part < 0 ? "all" : ("i % 3 == " + std::to_string(mb.part)).c_str(), train.size(),
                  static_cast<unsigned long long>(mb.seed), static_cast<unsigned long long>(mb.seed));
    std::printf("RESULT %s: test accuracy %.4f (%d of %d), %.1f s training\n  %s\n", mb.file.c_str(), acc,
                static_cast<int>(acc * d.test.size() + 0.5), d.test.size(), seconds, recipe);
    CHECK(acc > 0.9);
    if (out_dir && *out_dir) {
      std::string vocab;
      for (const std::string& w : d.vocab) vocab += (vocab.empty() ? "" : "\n") + w;
      char accs[32];
      std::snprintf(accs, sizeof accs, "%.4f", acc);
      const std::string path = std::string(out_dir) + "/" + mb.file + ".safetensors";
      save_sequence_model(m, path,
                          {{"advx.dataset", "malbehavd-v1"},
                           {"advx.classes", d.class_names[0] + "," + d.class_names[1]},
                           {"advx.recipe", recipe},
                           {"advx.test_acc", accs},
                           {"advx.test_n", std::to_string(d.test.size())},
                           {"advx.vocab", vocab}});
      std::printf("saved %s\n", path.c_str());
    }
  }
}
