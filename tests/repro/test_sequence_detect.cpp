// Statistical detection of sequence adversarials on the shipped models and real test splits:
//  - the transition model (engine/seqdefences/transitions.h; Rosenberg et al. 2019, arXiv:1901.09963),
//    fitted on the training split, threshold at 5% FPR on the clean validation samples (odd-indexed
//    test samples), FPR on the held-out clean samples (even-indexed), ROC-AUC of the adversarials
//    against (a) the held-out clean samples and (b) their own clean originals;
//  - the MMD two-sample test (engine/detect/mmd.h; Grosse et al. 2017, arXiv:1702.06280) on the mean
//    embedding of each sequence (mean_embedding.h): adversarial batch vs a clean batch of validation
//    samples of the same class, and clean vs clean (the false-rejection rate over disjoint seeded
//    random batches of the pooled clean samples of that class).
// Attacks: insert on api_lstm (MalbehavD malware), substitute on sms_lstm (SMS spam), budget 10%,
// crafted on the bare model (the detector is not in the attacker's objective).
// Size: the first ADVX_REPRO_SEQ_N held-out samples the model gets right of the attacked class
// (default 10; 0 = all; the MMD batches are capped at 100).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/data/dataset.h"
#include "engine/detect/detector.h"
#include "engine/detect/mmd.h"
#include "engine/eval/sequence_eval.h"
#include "engine/loss.h"
#include "engine/rng.h"
#include "engine/seqdefences/mean_embedding.h"
#include "engine/seqdefences/transitions.h"

using namespace advx;

namespace {

std::vector<TokenSeq> of_class(const SequenceSplit& s, int c) {
  std::vector<TokenSeq> out;
  for (int i = 0; i < s.size(); ++i)
    if (s.labels[static_cast<size_t>(i)] == c) out.push_back(s.sequences[static_cast<size_t>(i)]);
  return out;
}

std::vector<TokenSeq> first(const std::vector<TokenSeq>& s, size_t n) {
  return {s.begin(), s.begin() + static_cast<std::ptrdiff_t>(std::min(n, s.size()))};
}

void run(const std::string& model_file, const std::string& task_name, const std::string& attack, int limit) {
  const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/" + model_file + ".safetensors";
  std::map<std::string, std::string> meta;
  SequenceModel model = load_sequence_model(path, &meta);
  const SequenceTask& task = *find_sequence_task(task_name);
  const SequenceDataset data = load_dataset_for(task, resolve_data_dir(""), meta, path);
  const SequenceSplit val = sequence_validation_split(data.test), held = sequence_held_out_split(data.test);

  // The held-out source-class samples the model gets right, attacked at 10%.
  const std::vector<int> pred = predict_sequences(model, held.sequences);
  std::vector<TokenSeq> victims;
  for (int i = 0; i < held.size(); ++i)
    if (held.labels[static_cast<size_t>(i)] == task.source_class && pred[static_cast<size_t>(i)] == task.source_class &&
        (limit == 0 || static_cast<int>(victims.size()) < limit))
      victims.push_back(held.sequences[static_cast<size_t>(i)]);
  REQUIRE(victims.size() >= 2);
  const SeqAttackSpec& spec = *find_seq_attack(attack);
  ParamValues p = defaults(spec.params);
  p.set("budget", 0.1);
  const SeqAttackResult a = run_seq_attack(
      spec, {model, cross_entropy_objective(), victims, Goal{std::vector<int>(victims.size(), 1), {}, -1}, p, 0});
  std::vector<TokenSeq> adv_success, orig_success;
  for (size_t i = 0; i < victims.size(); ++i)
    if (a.success[i]) adv_success.push_back(a.adv[i]), orig_success.push_back(victims[i]);

  // Transition model.
  const TransitionModel tm(data.train.sequences, model.vocab_size(), 0.1);
  const double threshold = threshold_at_fpr(tm.scores(val.sequences), 0.05);
  const std::vector<float> held_scores = tm.scores(held.sequences), adv_scores = tm.scores(a.adv);
  const std::vector<float> succ_scores = tm.scores(adv_success), orig_scores = tm.scores(orig_success);
  const double fpr = fraction_above(held_scores, threshold);
  std::printf(
      "[repro] %s transitions (alpha 0.1): threshold %.4f (5%% on %d validation), FPR %.4f on %d held-out clean; "
      "%s %s 10%%: %zu of %zu succeed, flagged %.4f, ROC-AUC vs held-out clean %.4f, vs their originals %.4f "
      "(all attacked: %.4f / %.4f)\n",
      model_file.c_str(), threshold, val.size(), fpr, held.size(), attack.c_str(), task.success_name.c_str(),
      adv_success.size(), victims.size(), fraction_above(succ_scores, threshold), roc_auc(held_scores, succ_scores),
      roc_auc(orig_scores, succ_scores), roc_auc(held_scores, adv_scores), roc_auc(tm.scores(victims), adv_scores));
  CHECK(fpr <= 0.10);
  // Inserting or substituting tokens the clean data rarely has after their neighbours: the
  // adversarials are less regular than the samples they came from, on average.
  CHECK(roc_auc(tm.scores(victims), adv_scores) >= 0.5);

  // MMD on mean embeddings, batches of at most 100.
  const Tensor& w = model.embedding_matrix();
  const std::vector<TokenSeq> clean_val = of_class(val, task.source_class);
  const size_t n = std::min<size_t>({100, a.adv.size(), clean_val.size()});
  const MmdResult adv_vs_clean =
      mmd_test(mean_embeddings(w, first(a.adv, n)), mean_embeddings(w, first(clean_val, n)), 500, 1);
  const MmdResult orig_vs_clean =
      mmd_test(mean_embeddings(w, first(victims, n)), mean_embeddings(w, first(clean_val, n)), 500, 1);
  // Clean vs clean: disjoint random halves of the pooled clean source-class samples, 20 seeded draws.
  std::vector<TokenSeq> pool = clean_val;
  const std::vector<TokenSeq> clean_held = of_class(held, task.source_class);
  pool.insert(pool.end(), clean_held.begin(), clean_held.end());
  MmdRates rates;
  Rng rng(7);
  for (int r = 0; r < 20; ++r) {
    std::vector<TokenSeq> s = pool;
    for (size_t i = s.size() - 1; i > 0; --i) std::swap(s[i], s[static_cast<size_t>(rng.below(i + 1))]);
    const std::vector<TokenSeq> x(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
    const std::vector<TokenSeq> y(s.begin() + static_cast<std::ptrdiff_t>(n),
                                  s.begin() + static_cast<std::ptrdiff_t>(2 * n));
    rates.p.push_back(
        mmd_test(mean_embeddings(w, x), mean_embeddings(w, y), 200, static_cast<std::uint64_t>(r)).p_value);
  }
  std::printf(
      "[repro] %s MMD on mean embeddings, n = %zu: adversarial vs clean validation p = %.4f (MMD^2 %.4g); their "
      "originals vs clean validation p = %.4f; clean vs clean (20 draws of 2 x %zu from %zu): rejected at 0.05 "
      "%.2f, median p %.3f\n",
      model_file.c_str(), n, adv_vs_clean.p_value, adv_vs_clean.mmd2, orig_vs_clean.p_value, n, pool.size(),
      rates.rejected(0.05), rates.median());
  CHECK(rates.rejected(0.05) <= 0.25);  // about 5% expected; 20 draws are noisy
}

int repro_size() {
  const char* env = std::getenv("ADVX_REPRO_SEQ_N");
  return env ? std::atoi(env) : 10;
}

}  // namespace

TEST_CASE("irregularity detection on api_lstm vs insert: transition model and MMD", "[repro][seqdetect]") {
  run("api_lstm", "malbehavd", "insert", repro_size());
}

TEST_CASE("irregularity detection on sms_lstm vs substitute: transition model and MMD", "[repro][seqdetect]") {
  run("sms_lstm", "sms", "substitute", repro_size());
}
