// Sequence evaluation (sequence_eval.h): clean predictions of the first n test samples, then one
// attack call on the correctly classified samples of the task's source class.
#include "engine/eval/sequence_eval.h"

#include <chrono>

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

SequenceDataset load_dataset_for(const SequenceTask& task, const std::string& data_dir,
                                 const std::map<std::string, std::string>& meta, const std::string& model_path) {
  SequenceDataset d = load_sequence_dataset(data_dir, task.dataset);
  auto ds = meta.find("advx.dataset");
  ADVX_REQUIRE(ds == meta.end() || ds->second == task.dataset, "model '" + model_path + "' was trained on '" +
                                                                   ds->second + "', not on '" + task.dataset +
                                                                   "': give --dataset " + ds->second);
  auto v = meta.find("advx.vocab");
  if (v != meta.end()) {
    std::string joined;
    for (size_t i = 0; i < d.vocab.size(); ++i) joined += (i ? "\n" : "") + d.vocab[i];
    ADVX_REQUIRE(joined == v->second, "model '" + model_path + "' has another vocabulary than '" + task.dataset +
                                          "' with the default split: its token ids would mean other tokens; "
                                          "use a model trained on that split (assets/models/sequence)");
  }
  return d;
}

SeqEvalResult evaluate_sequences(SequenceClassifier& model, const SequenceTask& task, const SequenceSplit& test,
                                 const SeqEvalConfig& cfg) {
  const auto t0 = std::chrono::steady_clock::now();
  ADVX_REQUIRE(cfg.n >= 0 && cfg.n <= test.size(),
               "n = " + std::to_string(cfg.n) + ": the test split has " + std::to_string(test.size()) + " samples");
  if (cfg.attack && cfg.attack->edit != task.edit) {
    std::string fits;
    for (const SeqAttackSpec& a : seq_attacks())
      if (a.edit == task.edit) fits += (fits.empty() ? "" : ", ") + a.name;
    throw Error("attack '" + cfg.attack->name + "' edits by " + seq_edit_name(cfg.attack->edit) + ", but on " +
                task.dataset + " " + task.why + ": use --attack " + fits);
  }
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
