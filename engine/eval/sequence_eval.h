// Evaluation of a sequence classifier on a sequence dataset's test split, clean and under a
// registered sequence attack (engine/seqattacks), for the CLI and the reproductions.
//
// What is attacked: the attacker's natural goal on each dataset, untargeted:
//   malbehavd-v1  malware traces the model detects (label malware, predicted malware), to be
//                 classified benign by INSERTING calls only (the malware must keep its behaviour);
//                 the success rate is the evasion rate. Benign traces are scored clean, not attacked.
//   sms           spam messages the model flags, to be classified ham by SUBSTITUTING words.
// So `attacked` counts the correctly classified samples of the source class among the first n, and
// success_rate = attacked samples whose adversarial reaches the other class / attacked.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/data/sequences.h"
#include "engine/seqattacks/seq_attack.h"
#include "engine/seqdefences/seq_defence.h"
#include "engine/sequence_model.h"

namespace advx {

// A sequence dataset and what an attacker may do to its samples.
struct SequenceTask {
  std::string dataset;       // the loader's name ("malbehavd-v1")
  std::string alias;         // the short name ("malbehavd")
  SeqEdit edit;              // the edits that keep a sample what it is
  int source_class = 1;      // the class attacked (malware, spam)
  std::string success_name;  // the success rate's name in reports ("evasion_rate")
  std::string why;           // why only that edit, for error messages
};
const std::vector<SequenceTask>& sequence_tasks();
// By loader name or alias; nullptr if `name` is not a sequence dataset.
const SequenceTask* find_sequence_task(const std::string& name);
// True if the file is a sequence model (its "advx.arch" metadata is seq-lstm or seq-gru).
bool is_sequence_model_file(const std::string& path);

// Loads the dataset for a model saved with its vocabulary ("advx.vocab" metadata): throws
// advx::Error if the model's vocabulary is not the dataset's (the ids would mean other tokens).
SequenceDataset load_dataset_for(const SequenceTask& task, const std::string& data_dir,
                                 const std::map<std::string, std::string>& model_metadata,
                                 const std::string& model_path);
// The same check for a dataset already loaded (the playground's): the model's "advx.dataset" and
// "advx.vocab" metadata must be the dataset's name and vocabulary.
void check_model_vocabulary(const SequenceDataset& d, const std::map<std::string, std::string>& model_metadata,
                            const std::string& model_path);
// Throws advx::Error unless the attack edits as the task allows (e.g. no substitution on malware
// traces), naming the attacks that do.
void require_task_edit(const SequenceTask& task, const SeqAttackSpec& attack);

struct SeqEvalConfig {
  const SeqAttackSpec* attack = nullptr;  // nullptr: clean only
  ParamValues params;
  std::uint64_t seed = 0;
  int n = 0;             // the first n test samples (0: all)
  int max_attacked = 0;  // attack only the first this many samples eligible for the attack (0: all of them)
};

struct SeqEvalSample {  // one attacked sample
  int index = 0;        // in the test split
  int label = 0, pred = 0;
  bool success = false;
  int edits = 0, budget = 0;
  TokenSeq original, adversarial;
};

struct SeqEvalResult {
  int n = 0;
  double clean_acc = 0.0, adv_acc = 0.0;  // adv_acc: attacked samples replaced by their adversarials
  int attacked = 0;
  double success_rate = 0.0;
  double edits_mean = 0.0;          // tokens inserted / substituted per attacked sample
  double edits_mean_success = 0.0;  // per successful one
  double edit_share_mean = 0.0;     // edits / original length, per attacked sample
  double budget_mean = 0.0;         // allowed edits per attacked sample
  std::int64_t gradient_calls = 0, queries = 0;
  double queries_mean = 0.0;  // per attacked sample
  double seconds = 0.0;
  std::vector<SeqEvalSample> samples;
};

// Throws advx::Error if the attack's edit is not the task's (e.g. substitution on malware traces).
SeqEvalResult evaluate_sequences(SequenceClassifier& model, const SequenceTask& task, const SequenceSplit& test,
                                 const SeqEvalConfig& cfg);

// The odd-indexed test samples (validation: thresholds and choices are made on them) and the
// even-indexed ones (held out: where a defence is measured), as for images (defences/defence.h).
SequenceSplit sequence_validation_split(const SequenceSplit& test);
// The predicted class of each sequence, 256 sequences per forward.
std::vector<int> predict_sequences(SequenceClassifier& model, const std::vector<TokenSeq>& seqs);
// The share of a split's sequences the model classifies right (0 for an empty split).
double sequence_accuracy(SequenceClassifier& model, const SequenceSplit& split);
SequenceSplit sequence_held_out_split(const SequenceSplit& test);
// The test-split index of held-out sample i.
int held_out_test_index(int i);

// A sequence defence measured on held-out samples (every number here is on them):
//   clean      the bare and the defended model's accuracy; the detector's false-positive rate
//   oblivious  the task's attack crafted on the bare model against the source-class samples it gets
//              right, scored on the defended model: evasion = adversarials the defended model puts
//              in another class / attacked
//   adaptive   the attack crafted on the defended model itself against the samples IT gets right,
//              with the detector in its objective when the defence detects and the attack takes a
//              detector term (seq_attack.h): its goal is misclassified AND unflagged, which is
//              undetected_success below
// Detection (when the defence detects): flagged = score > threshold; detect_rate = successful
// adversarials flagged / successful; undetected = attacked samples whose adversarial succeeds and is
// not flagged / attacked; ROC-AUC of held-out clean scores vs successful adversarials' (NaN if none).
struct SeqDefenceArm {
  int attacked = 0;
  double success_rate = 0.0;  // on the defended model
  double edits_mean = 0.0;
  int successful = 0;
  double detect_rate = 0.0, undetected_success = 0.0, roc_auc = 0.0;
  std::vector<int> held_out_index;  // per attacked sample: its position in the held-out split
  std::vector<TokenSeq> adv;        // per attacked sample
  std::vector<int> edits;           // per attacked sample: tokens inserted / substituted
  std::vector<int> budget;          // per attacked sample: edits allowed
  std::vector<int> pred;            // per attacked sample: the defended model's class of the adversarial
  std::vector<char> success;        // per attacked sample, on the defended model
  std::vector<float> scores;        // per attacked sample (detecting defences)
};
struct SeqDefenceResult {
  int n = 0;  // held-out samples
  double bare_clean_acc = 0.0, clean_acc = 0.0;
  bool detects = false;
  double threshold = 0.0, target_fpr = 0.0, validation_fpr = 0.0, fpr = 0.0;
  std::vector<float> clean_scores;  // per held-out sample
  double bare_success_rate = 0.0;   // the oblivious adversarials on the bare model they were made on
  SeqDefenceArm oblivious, adaptive;
  bool adaptive_detector_term = false;  // the adaptive attacker had the detector in its objective
  double seconds = 0.0;
};
// cfg.attack must be set; cfg.n limits the held-out samples (0: all), cfg.max_attacked the attacked
// ones per arm (0: all eligible).
SeqDefenceResult evaluate_sequence_defence(SequenceClassifier& bare, const SeqDefended& defended,
                                           const SequenceTask& task, const SequenceSplit& held_out,
                                           const SeqEvalConfig& cfg);

}  // namespace advx
