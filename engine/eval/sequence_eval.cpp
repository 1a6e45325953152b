// Sequence evaluation (sequence_eval.h): clean predictions of the first n test samples, then one
// attack call on the correctly classified samples of the task's source class.
#include "engine/eval/sequence_eval.h"

#include <algorithm>
#include <chrono>

#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/safetensors.h"
#include "engine/loss.h"

namespace advx {

const std::vector<SequenceTask>& sequence_tasks() {
  static const std::vector<SequenceTask> all = {
      {"malbehavd-v1", "malbehavd", SeqEdit::Insert, 1, "evasion_rate",
       "a malware trace must keep its behaviour, so calls may only be inserted"},
      {"sms-spam-collection", "sms", SeqEdit::Substitute, 1, "success_rate",
       "an SMS stays readable with words substituted by their embedding neighbours"},
  };
  return all;
}

const SequenceTask* find_sequence_task(const std::string& name) {
  for (const SequenceTask& t : sequence_tasks())
    if (t.dataset == name || t.alias == name) return &t;
  return nullptr;
}

bool is_sequence_model_file(const std::string& path) {
  if (!file_exists(path)) return false;
  try {
    const TensorFile f = safetensors_decode(read_file(path), path);
    auto it = f.metadata.find("advx.arch");
    return it != f.metadata.end() && it->second.rfind("seq-", 0) == 0;
  } catch (const Error&) {
    return false;  // not a safetensors file: the image loaders say what is wrong with it
  }
}

void check_model_vocabulary(const SequenceDataset& d, const std::map<std::string, std::string>& meta,
                            const std::string& model_path) {
  auto ds = meta.find("advx.dataset");
  ADVX_REQUIRE(ds == meta.end() || ds->second == d.name,
               "model '" + model_path + "' was trained on '" + (ds == meta.end() ? "" : ds->second) + "', not on '" +
                   d.name + "': give --dataset " + (ds == meta.end() ? "" : ds->second));
  auto v = meta.find("advx.vocab");
  if (v != meta.end()) {
    std::string joined;
    for (size_t i = 0; i < d.vocab.size(); ++i) joined += (i ? "\n" : "") + d.vocab[i];
    ADVX_REQUIRE(joined == v->second, "model '" + model_path + "' has another vocabulary than '" + d.name +
                                          "' with the default split: its token ids would mean other tokens; "
                                          "use a model trained on that split (assets/models/sequence)");
  }
}

SequenceDataset load_dataset_for(const SequenceTask& task, const std::string& data_dir,
                                 const std::map<std::string, std::string>& meta, const std::string& model_path) {
  SequenceDataset d = load_sequence_dataset(data_dir, task.dataset);
  check_model_vocabulary(d, meta, model_path);
  return d;
}

void require_task_edit(const SequenceTask& task, const SeqAttackSpec& attack) {
  if (attack.edit == task.edit) return;
  std::string fits;
  for (const SeqAttackSpec& a : seq_attacks())
    if (a.edit == task.edit) fits += (fits.empty() ? "" : ", ") + a.name;
  throw Error("attack '" + attack.name + "' edits by " + seq_edit_name(attack.edit) + ", but on " + task.dataset + " " +
              task.why + ": use the attack " + fits);
}

SeqEvalResult evaluate_sequences(SequenceClassifier& model, const SequenceTask& task, const SequenceSplit& test,
                                 const SeqEvalConfig& cfg) {
  const auto t0 = std::chrono::steady_clock::now();
  ADVX_REQUIRE(cfg.n >= 0 && cfg.n <= test.size(),
               "n = " + std::to_string(cfg.n) + ": the test split has " + std::to_string(test.size()) + " samples");
  if (cfg.attack) require_task_edit(task, *cfg.attack);
  SeqEvalResult r;
  r.n = cfg.n ? cfg.n : test.size();
  std::vector<int> pred(static_cast<size_t>(r.n));
  for (int b = 0; b < r.n; b += 256) {
    const std::vector<int> p = argmax_rows(model.logits(make_batch(test, b, std::min(256, r.n - b))));
    std::copy(p.begin(), p.end(), pred.begin() + b);
  }
  int correct = 0;
  std::vector<TokenSeq> seqs;
  std::vector<int> index;
  Goal goal;
  for (int i = 0; i < r.n; ++i) {
    const int y = test.labels[static_cast<size_t>(i)];
    correct += pred[static_cast<size_t>(i)] == y;
    if (cfg.attack && y == task.source_class && pred[static_cast<size_t>(i)] == y &&
        (cfg.max_attacked == 0 || static_cast<int>(seqs.size()) < cfg.max_attacked)) {
      seqs.push_back(test.sequences[static_cast<size_t>(i)]);
      index.push_back(i);
      goal.labels.push_back(y);
    }
  }
  r.clean_acc = static_cast<double>(correct) / r.n;
  r.adv_acc = r.clean_acc;
  r.attacked = static_cast<int>(seqs.size());
  if (cfg.attack && !seqs.empty()) {
    const SeqAttackResult a =
        run_seq_attack(*cfg.attack, {model, cross_entropy_objective(), seqs, goal, cfg.params, cfg.seed});
    int successes = 0;
    double edits = 0.0, edits_success = 0.0, share = 0.0, budget = 0.0;
    for (size_t k = 0; k < seqs.size(); ++k) {
      SeqEvalSample s;
      s.index = index[k], s.label = goal.labels[k], s.pred = a.pred[k], s.success = a.success[k] != 0;
      s.edits = a.edits[k], s.budget = a.budget[k], s.original = seqs[k], s.adversarial = a.adv[k];
      successes += s.success;
      edits += s.edits, budget += s.budget;
      share += static_cast<double>(s.edits) / static_cast<double>(s.original.size());
      if (s.success) edits_success += s.edits;
      if (s.pred != s.label) --correct;
      r.samples.push_back(std::move(s));
    }
    const double m = static_cast<double>(seqs.size());
    r.success_rate = successes / m;
    r.edits_mean = edits / m, r.edit_share_mean = share / m, r.budget_mean = budget / m;
    r.edits_mean_success = successes ? edits_success / successes : 0.0;
    r.gradient_calls = a.gradient_calls, r.queries = a.queries;
    r.queries_mean = static_cast<double>(a.queries) / m;
    r.adv_acc = static_cast<double>(correct) / r.n;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace advx

namespace advx {
namespace {

SequenceSplit every_other(const SequenceSplit& s, int first) {
  ADVX_REQUIRE(s.size() >= 2, "splitting a sequence test split by index parity needs at least 2 samples, got " +
                                  std::to_string(s.size()));
  SequenceSplit out;
  for (int i = first; i < s.size(); i += 2) {
    out.sequences.push_back(s.sequences[static_cast<size_t>(i)]);
    out.labels.push_back(s.labels[static_cast<size_t>(i)]);
    out.lines.push_back(s.lines[static_cast<size_t>(i)]);
    if (s.texts.size() == s.sequences.size()) out.texts.push_back(s.texts[static_cast<size_t>(i)]);
  }
  return out;
}

}  // namespace

std::vector<int> predict_sequences(SequenceClassifier& m, const std::vector<TokenSeq>& seqs) {
  std::vector<int> out;
  std::vector<const TokenSeq*> p;
  Tokens t;
  for (size_t b = 0; b < seqs.size(); b += 256) {
    p.clear();
    for (size_t i = b; i < std::min(seqs.size(), b + 256); ++i) p.push_back(&seqs[i]);
    pack_tokens(p, t);
    const std::vector<int> y = argmax_rows(m.logits(t));
    out.insert(out.end(), y.begin(), y.end());
  }
  return out;
}

SequenceSplit sequence_validation_split(const SequenceSplit& test) {
  return every_other(test, 1);
}
SequenceSplit sequence_held_out_split(const SequenceSplit& test) {
  return every_other(test, 0);
}
int held_out_test_index(int i) {
  return 2 * i;
}

double sequence_accuracy(SequenceClassifier& model, const SequenceSplit& split) {
  if (split.sequences.empty()) return 0.0;
  const std::vector<int> y = predict_sequences(model, split.sequences);
  int right = 0;
  for (size_t i = 0; i < y.size(); ++i) right += y[i] == split.labels[i];
  return static_cast<double>(right) / static_cast<double>(y.size());
}

SeqDefenceResult evaluate_sequence_defence(SequenceClassifier& bare, const SeqDefended& d, const SequenceTask& task,
                                           const SequenceSplit& held, const SeqEvalConfig& cfg) {
  const auto t0 = std::chrono::steady_clock::now();
  ADVX_REQUIRE(cfg.attack, "evaluating a sequence defence needs an attack (--attack)");
  ADVX_REQUIRE(cfg.attack->edit == task.edit, "attack '" + cfg.attack->name + "' edits by " +
                                                  seq_edit_name(cfg.attack->edit) + ", but on " + task.dataset + " " +
                                                  task.why);
  ADVX_REQUIRE(d.model, "the sequence defence was not built (no model)");
  ADVX_REQUIRE(cfg.n >= 0 && cfg.n <= held.size(),
               "n = " + std::to_string(cfg.n) + ": the held-out split has " + std::to_string(held.size()) + " samples");
  SeqDefenceResult r;
  r.n = cfg.n ? cfg.n : held.size();
  const std::vector<TokenSeq> seqs(held.sequences.begin(), held.sequences.begin() + r.n);
  const std::vector<int> yb = predict_sequences(bare, seqs), yd = predict_sequences(*d.model, seqs);
  int cb = 0, cd = 0;
  for (int i = 0; i < r.n; ++i) {
    cb += yb[static_cast<size_t>(i)] == held.labels[static_cast<size_t>(i)];
    cd += yd[static_cast<size_t>(i)] == held.labels[static_cast<size_t>(i)];
  }
  r.bare_clean_acc = static_cast<double>(cb) / r.n;
  r.clean_acc = static_cast<double>(cd) / r.n;
  r.detects = d.detects();
  if (r.detects) {
    r.clean_scores = d.score(seqs);
    r.threshold = d.threshold, r.target_fpr = d.target_fpr, r.validation_fpr = d.validation_fpr;
    r.fpr = fraction_above(r.clean_scores, r.threshold);
  }
  // One arm: attack the source-class samples `source` gets right, score on the defended model.
  // The adaptive attacker of a detector evades it too (Carlini & Wagner 2017, arXiv:1705.07263).
  const SeqDetectorTerm term = adaptive_detector_term(d, *cfg.attack);
  const bool with_detector = static_cast<bool>(term.score);
  auto arm = [&](SequenceClassifier& source, const std::vector<int>& pred, double* source_success,
                 const SeqDetectorTerm* detector) {
    SeqDefenceArm a;
    std::vector<TokenSeq> victims;
    Goal goal;
    for (int i = 0; i < r.n; ++i)
      if (held.labels[static_cast<size_t>(i)] == task.source_class &&
          pred[static_cast<size_t>(i)] == task.source_class &&
          (cfg.max_attacked == 0 || static_cast<int>(victims.size()) < cfg.max_attacked)) {
        victims.push_back(seqs[static_cast<size_t>(i)]);
        goal.labels.push_back(task.source_class);
        a.held_out_index.push_back(i);
      }
    a.attacked = static_cast<int>(victims.size());
    if (victims.empty()) return a;
    const SeqAttackResult res =
        run_seq_attack(*cfg.attack, {source, cross_entropy_objective(), victims, goal, cfg.params, cfg.seed, detector});
    if (source_success) {
      int s = 0;
      for (char c : res.success) s += c != 0;
      *source_success = static_cast<double>(s) / a.attacked;
    }
    a.adv = res.adv;
    const std::vector<int> on_defended = predict_sequences(*d.model, a.adv);
    double edits = 0.0;
    for (size_t k = 0; k < victims.size(); ++k) {
      a.success.push_back(on_defended[k] != task.source_class);
      a.successful += a.success.back();
      edits += res.edits[k];
    }
    a.edits = res.edits, a.budget = res.budget, a.pred = on_defended;
    a.success_rate = static_cast<double>(a.successful) / a.attacked;
    a.edits_mean = edits / a.attacked;
    if (r.detects) {
      a.scores = d.score(a.adv);
      std::vector<float> succ;
      int flagged = 0, undetected = 0;
      for (size_t k = 0; k < victims.size(); ++k)
        if (a.success[k]) {
          succ.push_back(a.scores[k]);
          flagged += a.scores[k] > r.threshold;
          undetected += a.scores[k] <= r.threshold;
        }
      a.detect_rate = a.successful ? static_cast<double>(flagged) / a.successful : 0.0;
      a.undetected_success = static_cast<double>(undetected) / a.attacked;
      a.roc_auc = roc_auc(r.clean_scores, succ);
    }
    return a;
  };
  r.oblivious = arm(bare, yb, &r.bare_success_rate, nullptr);
  // A defence that classifies with the bare model and has no detector for the attack to evade: its
  // white-box attack is the same run.
  r.adaptive =
      d.model == &bare && !with_detector ? r.oblivious : arm(*d.model, yd, nullptr, with_detector ? &term : nullptr);
  r.adaptive_detector_term = with_detector;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace advx
