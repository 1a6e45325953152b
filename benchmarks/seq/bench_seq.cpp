// One training epoch of the shipped sequence LSTMs' recipes (assets/models/sequence/README.md),
// timed natively, for benchmarks/seq/run.sh to put next to PyTorch doing the same epochs
// (benchmarks/seq/bench_torch.py):
//
//   sms  SMS Spam Collection, embedding 32, LSTM hidden 32, batch 32, Adam 1e-3, no clipping (sms_lstm)
//   api  MalbehavD-V1 traces, embedding 32, LSTM hidden 64, batch 32, Adam 1e-3, clip 1.0   (api_lstm)
//
// The epochs are train_sequence_model's: the whole training split, shuffled, each batch padded to
// its longest sequence, forward over the packed sequences, mean cross-entropy, backward, clipping,
// Adam step; its per-epoch `seconds` (shuffle excluded) are what is reported. Initialisation as the
// recipes: SequenceModel::init with Rng(1).
//
// --dump FILE writes the training split (token ids without padding, labels) and the recipe as JSON,
// so the PyTorch side trains on exactly the same sequences with the same settings.
//
// Usage: advx_bench_seq --dataset sms|api [--epochs K (3)] [--threads N (1)] [--dump FILE] [--data DIR]
//        prints one JSON object
// Built on demand: cmake --build --preset native --target advx_bench_seq (benchmarks/seq/run.sh).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "benchmarks/load_average.h"
#include "engine/data/dataset.h"
#include "engine/data/sequences.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "engine/sequence_model.h"
#include "engine/train/sequence_train.h"

using namespace advx;
using advx::bench::load1;

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

struct Recipe {
  const char* dataset;  // load_sequence_dataset's name
  int embed, hidden, batch;
  double lr, clip;
};

}  // namespace

int main(int argc, char** argv) try {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[std::string(argv[i]).substr(2)] = argv[i + 1];
  auto get = [&](const char* k, const std::string& def) { return a.count(k) ? a[k] : def; };
  const std::string which = get("dataset", "sms");
  ADVX_REQUIRE(which == "sms" || which == "api", "--dataset must be sms or api");
  const Recipe r = which == "sms" ? Recipe{"sms-spam-collection", 32, 32, 32, 1e-3, 0.0}
                                  : Recipe{"malbehavd-v1", 32, 64, 32, 1e-3, 1.0};
  const SequenceDataset d = load_sequence_dataset(resolve_data_dir(get("data", "")), r.dataset);

  SequenceTrainConfig cfg;
  cfg.epochs = std::stoi(get("epochs", "3"));
  cfg.threads = std::stoi(get("threads", "1"));
  cfg.batch = r.batch, cfg.seed = 1;
  cfg.lr = static_cast<float>(r.lr), cfg.clip = static_cast<float>(r.clip);

  std::int64_t tokens = 0;
  for (const auto& s : d.train.sequences) tokens += static_cast<std::int64_t>(s.size());
  nlohmann::ordered_json j;
  j["side"] = "advx";
  j["dataset"] = r.dataset;
  j["vocab"] = d.vocab_size();
  j["classes"] = d.num_classes();
  j["samples"] = d.train.size();
  j["tokens"] = tokens;
  j["embed"] = r.embed, j["hidden"] = r.hidden, j["batch"] = cfg.batch;
  j["lr"] = r.lr, j["clip"] = r.clip;
  j["steps_per_epoch"] = (d.train.size() + cfg.batch - 1) / cfg.batch;
  j["threads"] = cfg.threads;
  j["epochs"] = cfg.epochs;

  if (a.count("dump")) {
    nlohmann::ordered_json dump = j;
    dump.erase("side");
    dump.erase("threads");
    dump.erase("epochs");
    dump["sequences"] = d.train.sequences;
    dump["labels"] = d.train.labels;
    std::ofstream f(a["dump"]);
    ADVX_REQUIRE(f && (f << dump.dump() << "\n"), "cannot write --dump " + a["dump"]);
  }

  SequenceModel m(RnnType::LSTM, d.vocab_size(), r.embed, r.hidden, d.num_classes());
  Rng rng(1);
  m.init(rng);
  j["params"] = m.num_params();
  std::vector<double> secs, losses;
  j["load_start"] = load1();
  train_sequence_model(m, d.train, cfg, [&](const SequenceEpoch& e) {
    secs.push_back(e.seconds);
    losses.push_back(e.loss);
  });
  j["load_end"] = load1();
  j["epoch_seconds"] = secs;
  j["epoch_loss"] = losses;
  j["median_epoch_seconds"] = median(secs);
  // Epoch 1 also pays the first allocations (both sides); the report uses the epochs after it.
  j["median_epoch_seconds_after_first"] = median(std::vector<double>(secs.begin() + (secs.size() > 1), secs.end()));
  std::printf("%s\n", j.dump().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "advx_bench_seq: %s\n", e.what());
  return 1;
}
