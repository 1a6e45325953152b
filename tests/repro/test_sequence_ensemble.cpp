// RNN ensembles (engine/seqdefences/seq_ensemble.h; Rosenberg et al. 2019, arXiv:1901.09963) of the
// shipped MalbehavD members against `insert` at 10%, on the held-out (even-indexed) test samples:
//   clean      each member's and the ensemble's accuracy, soft and hard
//   transfer   adversarials crafted on ONE member (api_lstm_<kind>_first), scored on the ensemble
//   whole      adversarials crafted on the whole ensemble (the adaptive attacker)
// against the held-out malware the ensemble detects (the first ADVX_REPRO_SEQ_N, default 4 to stay under about 20 s:
// each ensemble attack costs three models; 0 = all). The oblivious attacker (crafted on api_lstm, not a member) is in
// `advx eval --defence seqensemble`.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "engine/data/dataset.h"
#include "engine/eval/sequence_eval.h"
#include "engine/loss.h"
#include "engine/seqdefences/seq_ensemble.h"

using namespace advx;

namespace {

double evasion(SequenceClassifier& judge, const std::vector<TokenSeq>& adv) {
  const std::vector<int> y = predict_sequences(judge, adv);
  int e = 0;
  for (int v : y) e += v != 1;
  return adv.empty() ? 0.0 : static_cast<double>(e) / static_cast<double>(adv.size());
}

}  // namespace

TEST_CASE("RNN ensembles on MalbehavD vs insert: clean, transfer from one member, whole ensemble",
          "[repro][seqensemble]") {
  const char* env = std::getenv("ADVX_REPRO_SEQ_N");
  const int limit = env ? std::atoi(env) : 4;
  const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/api_lstm.safetensors";
  std::map<std::string, std::string> meta;
  SequenceModel base = load_sequence_model(path, &meta);
  const SequenceDataset data = load_dataset_for(*find_sequence_task("malbehavd"), resolve_data_dir(""), meta, path);
  const SequenceSplit held = sequence_held_out_split(data.test);
  const SeqAttackSpec& insert = *find_seq_attack("insert");
  ParamValues p = defaults(insert.params);
  p.set("budget", 0.1);
  for (const char* kind : {"regular", "subsequence", "adversarial", "recrafted"}) {
    std::vector<SequenceModel> ms;
    for (const std::string& f : seq_ensemble_member_files(data.name, kind)) ms.push_back(load_sequence_model(f));
    std::vector<SequenceClassifier*> ptrs;
    for (SequenceModel& m : ms) ptrs.push_back(&m);
    for (Vote vote : {Vote::Soft, Vote::Hard}) {
      SequenceEnsemble ens(ptrs, vote);
      const double acc = sequence_accuracy(ens, held);
      std::printf("[repro] %s %s ensemble: held-out clean accuracy %.4f (members", kind, vote_name(vote), acc);
      for (SequenceModel& m : ms) std::printf(" %.4f", sequence_accuracy(m, held));
      std::printf("; api_lstm %.4f)\n", sequence_accuracy(base, held));
      CHECK(acc > 0.9);
      // The held-out malware the ensemble detects and member 0 detects too (so both attacks start from it).
      const std::vector<int> ye = predict_sequences(ens, held.sequences), y0 = predict_sequences(ms[0], held.sequences);
      std::vector<TokenSeq> mal;
      for (int i = 0; i < held.size(); ++i)
        if (held.labels[static_cast<size_t>(i)] == 1 && ye[static_cast<size_t>(i)] == 1 &&
            y0[static_cast<size_t>(i)] == 1 && (limit == 0 || static_cast<int>(mal.size()) < limit))
          mal.push_back(held.sequences[static_cast<size_t>(i)]);
      REQUIRE(!mal.empty());
      const Goal goal{std::vector<int>(mal.size(), 1), {}, -1};
      const SeqAttackResult one = run_seq_attack(insert, {ms[0], cross_entropy_objective(), mal, goal, p, 0});
      const SeqAttackResult whole = run_seq_attack(insert, {ens, cross_entropy_objective(), mal, goal, p, 0});
      const double on_member = evasion(ms[0], one.adv), transfer = evasion(ens, one.adv),
                   adaptive = evasion(ens, whole.adv);
      std::printf(
          "[repro] %s %s ensemble, insert 10%%, %zu malware: evasion of member 0 attacked alone %.4f -> transferred "
          "to the ensemble %.4f; whole ensemble attacked %.4f\n",
          kind, vote_name(vote), mal.size(), on_member, transfer, adaptive);
      CHECK(transfer <= on_member);  // two of three members must be fooled, not one
    }
  }
}
