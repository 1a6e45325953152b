// Sequence attacks on the shipped sequence models (assets/models/sequence) and the real test
// splits: evasion rate vs budget of `insert` on api_lstm (the MalbehavD test malware it detects),
// success rate vs budget of `substitute` on sms_lstm (the SMS test spam it flags).
// Size: the first ADVX_REPRO_SEQ_N eligible samples of each (default 20, about 15 s, for CI);
// ADVX_REPRO_SEQ_N=0 attacks all of them (REPRODUCTIONS.md has those numbers and the command).
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "engine/data/dataset.h"
#include "engine/eval/sequence_eval.h"

using namespace advx;

namespace {

int repro_size() {
  const char* env = std::getenv("ADVX_REPRO_SEQ_N");
  return env ? std::atoi(env) : 20;
}

// Success rate per budget, printed as one [repro] line each.
std::vector<double> sweep(const std::string& model_file, const std::string& task_name, const std::string& attack,
                          const std::vector<double>& budgets) {
  const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/" + model_file + ".safetensors";
  std::map<std::string, std::string> meta;
  SequenceModel model = load_sequence_model(path, &meta);
  const SequenceTask& task = *find_sequence_task(task_name);
  const SequenceDataset data = load_dataset_for(task, resolve_data_dir(""), meta, path);
  std::vector<double> out;
  for (double b : budgets) {
    SeqEvalConfig cfg;
    cfg.attack = find_seq_attack(attack);
    cfg.params = defaults(cfg.attack->params);
    cfg.params.set("budget", b);
    cfg.max_attacked = repro_size();
    const SeqEvalResult r = evaluate_sequences(model, task, data.test, cfg);
    std::printf(
        "[repro] %-8s %-10s budget %4.0f%%: %s %.4f of %d attacked, edits %.2f (%.2f per success, budget %.2f), "
        "queries %.1f, %.1f s\n",
        model_file.c_str(), attack.c_str(), 100 * b, task.success_name.c_str(), r.success_rate, r.attacked,
        r.edits_mean, r.edits_mean_success, r.budget_mean, r.queries_mean, r.seconds);
    REQUIRE(r.attacked > 0);
    out.push_back(r.success_rate);
  }
  return out;
}

}  // namespace

TEST_CASE("insert on api_lstm: MalbehavD evasion rate vs budget", "[repro][seqattack]") {
  const std::vector<double> s = sweep("api_lstm", "malbehavd", "insert", {0.01, 0.05, 0.10, 0.20});
  // A larger budget never hurts (each run is greedy from the same start), and 20% evades often:
  // 0.67 on all 248 detected test malware (REPRODUCTIONS.md).
  for (size_t i = 1; i < s.size(); ++i) CHECK(s[i] >= s[i - 1]);
  CHECK(s.back() >= 0.4);
}

TEST_CASE("substitute on sms_lstm: SMS spam-to-ham success rate vs budget", "[repro][seqattack]") {
  const std::vector<double> s = sweep("sms_lstm", "sms", "substitute", {0.01, 0.05, 0.10, 0.20});
  for (size_t i = 1; i < s.size(); ++i) CHECK(s[i] >= s[i - 1]);
  CHECK(s.back() >= 0.4);
}
