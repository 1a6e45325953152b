// Sequence squeezing (engine/seqdefences/squeeze.h; Rosenberg et al. 2019, arXiv:1901.09963) on the
// shipped api_lstm against the `insert` attack on MalbehavD, measured three ways:
//   clean      the squeezed model's accuracy
//   oblivious  adversarials crafted on the bare model, scored on the squeezed one
//   adaptive   adversarials crafted on the squeezed model itself (straight-through the squeezer)
// and as a detector (L1 between the bare and squeezed softmaxes), its threshold set at 5% FPR on
// the clean validation samples. Splits as for the image detectors (engine/defences/defence.h): the
// ODD-indexed test samples are the validation set (k and the threshold are chosen there), the
// EVEN-indexed ones are held out (every number below is measured on them).
// Size: the first ADVX_REPRO_SEQ_N held-out malware the attacked model detects (default 10; 0 = all).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "engine/data/dataset.h"
#include "engine/detect/detector.h"
#include "engine/eval/sequence_eval.h"
#include "engine/loss.h"
#include "engine/seqdefences/squeeze.h"

using namespace advx;

namespace {

double share_above(const std::vector<float>& s, float t) {
  if (s.empty()) return 0.0;
  return static_cast<double>(std::count_if(s.begin(), s.end(), [&](float x) { return x > t; })) /
         static_cast<double>(s.size());
}

// The held-out malware `m` detects (at most `limit`; 0 = all).
std::vector<TokenSeq> detected_malware(SequenceClassifier& m, const SequenceSplit& held, int limit) {
  const std::vector<int> y = predict_sequences(m, held.sequences);
  std::vector<TokenSeq> out;
  for (size_t i = 0; i < y.size(); ++i)
    if (held.labels[i] == 1 && y[i] == 1 && (limit == 0 || static_cast<int>(out.size()) < limit))
      out.push_back(held.sequences[i]);
  return out;
}

}  // namespace

TEST_CASE("sequence squeezing on api_lstm vs insert: clean, oblivious, adaptive, detector", "[repro][seqsqueeze]") {
  const char* env = std::getenv("ADVX_REPRO_SEQ_N");
  const int limit = env ? std::atoi(env) : 10;
  const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/api_lstm.safetensors";
  std::map<std::string, std::string> meta;
  SequenceModel model = load_sequence_model(path, &meta);
  const SequenceDataset data = load_dataset_for(*find_sequence_task("malbehavd"), resolve_data_dir(""), meta, path);
  const SequenceSplit validation = sequence_validation_split(data.test), held = sequence_held_out_split(data.test);

  // k: the smallest of these whose squeezed validation accuracy is within 2 points of the bare one (a rule
  // set after seeing this sweep: no k below 224 comes within 1.5 points; see DEFENCES.md).
  const double bare_val = sequence_accuracy(model, validation);
  int k = 0;
  for (int kk : {8, 16, 32, 64, 128, 160, 192, 224, 256}) {
    SqueezedSequenceModel sq(model, cluster_tokens(model.embedding_matrix(), kk, 1));
    const double acc = sequence_accuracy(sq, validation);
    std::printf("[repro] squeeze k=%3d (%3d non-empty): validation accuracy %.4f (bare %.4f)\n", kk,
                sq.clusters().nonempty(), acc, bare_val);
    if (k == 0 && acc >= bare_val - 0.02) k = kk;
  }
  REQUIRE(k > 0);
  SqueezedSequenceModel sq(model, cluster_tokens(model.embedding_matrix(), k, 1));
  const float threshold = static_cast<float>(threshold_at_fpr(sq.scores(validation.sequences), 0.05));
  const std::vector<float> held_scores = sq.scores(held.sequences);
  const double fpr = share_above(held_scores, threshold);
  const double bare_acc = sequence_accuracy(model, held), sq_acc = sequence_accuracy(sq, held);
  std::printf(
      "[repro] squeeze k=%d: held-out clean accuracy %.4f (bare %.4f); detector threshold %.4g, FPR %.4f "
      "on %d held-out clean samples (5%% asked on the validation half)\n",
      k, sq_acc, bare_acc, static_cast<double>(threshold), fpr, held.size());
  CHECK(sq_acc >= bare_acc - 0.03);
  CHECK(fpr <= 0.10);

  const SeqAttackSpec& insert = *find_seq_attack("insert");
  for (double budget : {0.1, 0.2}) {
    ParamValues p = defaults(insert.params);
    p.set("budget", budget);
    // Oblivious: crafted on the bare model (against the malware it detects), scored behind the squeezer.
    const std::vector<TokenSeq> mal = detected_malware(model, held, limit);
    const SeqAttackResult ob = run_seq_attack(
        insert, {model, cross_entropy_objective(), mal, Goal{std::vector<int>(mal.size(), 1), {}, -1}, p, 0});
    const std::vector<int> ob_sq = predict_sequences(sq, ob.adv);
    const std::vector<float> ob_scores = sq.scores(ob.adv);
    int bare_evade = 0, sq_evade = 0, flagged = 0, evade_undetected = 0;
    std::vector<float> succ_scores;
    for (size_t i = 0; i < mal.size(); ++i) {
      bare_evade += ob.success[i];
      sq_evade += ob_sq[i] != 1;
      if (ob.success[i]) {
        succ_scores.push_back(ob_scores[i]);
        flagged += ob_scores[i] > threshold;
        evade_undetected += ob_scores[i] <= threshold;
      }
    }
    const double m = static_cast<double>(mal.size());
    std::printf(
        "[repro] insert %2.0f%% oblivious, %zu malware: evasion bare %.4f -> behind squeezing %.4f; detector "
        "flags %.4f of the %d evasive (ROC-AUC %.4f), evasive and undetected %.4f\n",
        100 * budget, mal.size(), bare_evade / m, sq_evade / m,
        bare_evade ? static_cast<double>(flagged) / bare_evade : 0.0, bare_evade, roc_auc(held_scores, succ_scores),
        evade_undetected / m);
    CHECK(sq_evade <= bare_evade);  // the direction Rosenberg et al. report

    // Adaptive: crafted on the squeezed model itself, straight through the squeezer.
    const std::vector<TokenSeq> mal_sq = detected_malware(sq, held, limit);
    const SeqAttackResult ad = run_seq_attack(
        insert, {sq, cross_entropy_objective(), mal_sq, Goal{std::vector<int>(mal_sq.size(), 1), {}, -1}, p, 0});
    const std::vector<float> ad_scores = sq.scores(ad.adv);
    int ad_evade = 0, ad_flagged = 0;
    std::vector<float> ad_succ;
    for (size_t i = 0; i < mal_sq.size(); ++i)
      if (ad.success[i]) {
        ++ad_evade;
        ad_succ.push_back(ad_scores[i]);
        ad_flagged += ad_scores[i] > threshold;
      }
    std::printf(
        "[repro] insert %2.0f%% adaptive (straight-through), %zu malware: evasion of the squeezed model %.4f; "
        "detector flags %.4f of the %d evasive (ROC-AUC %.4f)\n",
        100 * budget, mal_sq.size(), ad_evade / static_cast<double>(mal_sq.size()),
        ad_evade ? static_cast<double>(ad_flagged) / ad_evade : 0.0, ad_evade, roc_auc(held_scores, ad_succ));
  }
}

// SMS: k for sms_lstm's 3,734 real words, chosen on the validation half by api_lstm's rule (the
// smallest k of the list whose squeezed validation accuracy is within 2 points of the bare model's).
// The sweep runs at full size (ADVX_REPRO_SEQ_N=0); CI checks that the chosen k still meets the rule.
TEST_CASE("sequence squeezing on sms_lstm: k on the validation half", "[repro][seqsqueeze]") {
  const char* env = std::getenv("ADVX_REPRO_SEQ_N");
  const bool full = env && std::atoi(env) == 0;
  const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/sms_lstm.safetensors";
  std::map<std::string, std::string> meta;
  SequenceModel model = load_sequence_model(path, &meta);
  const SequenceDataset data = load_dataset_for(*find_sequence_task("sms"), resolve_data_dir(""), meta, path);
  const SequenceSplit validation = sequence_validation_split(data.test);
  const double bare_val = sequence_accuracy(model, validation);
  int k = 0;
  for (int kk :
       full ? std::vector<int>{32, 64, 128, 224, 512, 1024, 2048, 2560, 3072, 3328, 3584} : std::vector<int>{2560}) {
    SqueezedSequenceModel sq(model, cluster_tokens(model.embedding_matrix(), kk, 1));
    const double acc = sequence_accuracy(sq, validation);
    std::printf("[repro] sms squeeze k=%4d (%4d non-empty): validation accuracy %.4f (bare %.4f)\n", kk,
                sq.clusters().nonempty(), acc, bare_val);
    if (k == 0 && acc >= bare_val - 0.02) k = kk;
  }
  CHECK(k == 2560);  // the k DEFENCES.md reports for SMS
}
