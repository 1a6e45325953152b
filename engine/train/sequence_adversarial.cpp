// Adversarial training data for sequence classifiers (sequence_adversarial.h).
#include "engine/train/sequence_adversarial.h"

#include <algorithm>
#include <chrono>

#include "engine/error.h"
#include "engine/rng.h"

namespace advx {

SequenceSplit with_adversarial_sequences(SequenceClassifier& source, const SequenceSplit& train,
                                         const SequenceTask& task, const SeqAttackSpec& attack,
                                         const ParamValues& params, std::uint64_t seed,
                                         SequenceAdversarialStats* stats) {
  const auto t0 = std::chrono::steady_clock::now();
  require_task_edit(task, attack);
  ADVX_REQUIRE(train.size() > 0, "adversarial training data: the training split is empty");
  const std::vector<int> pred = predict_sequences(source, train.sequences);
  std::vector<TokenSeq> victims;
  std::vector<int> line;
  for (int i = 0; i < train.size(); ++i)
    if (train.labels[static_cast<size_t>(i)] == task.source_class &&
        pred[static_cast<size_t>(i)] == task.source_class) {
      victims.push_back(train.sequences[static_cast<size_t>(i)]);
      line.push_back(train.lines.empty() ? 0 : train.lines[static_cast<size_t>(i)]);
    }
  SequenceSplit out = train;
  out.texts.clear();
  SequenceAdversarialStats s;
  s.crafted = static_cast<int>(victims.size());
  if (!victims.empty()) {
    const Goal goal{std::vector<int>(victims.size(), task.source_class), {}, -1};
    const SeqAttackResult r = run_seq_attack(attack, {source, cross_entropy_objective(), victims, goal, params, seed});
    for (size_t k = 0; k < victims.size(); ++k) {
      out.sequences.push_back(r.adv[k]);
      out.labels.push_back(task.source_class);
      if (!train.lines.empty()) out.lines.push_back(line[k]);
      s.successful += r.success[k] != 0;
    }
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (stats) *stats = s;
  return out;
}

void train_sequence_adversarial(SequenceModel& m, const SequenceSplit& train, const SequenceTask& task,
                                const SeqAttackSpec& attack, const ParamValues& params, const SequenceTrainConfig& cfg,
                                int per_epoch, std::uint64_t seed,
                                const std::function<void(const SequenceEpoch&)>& progress,
                                SequenceAdversarialStats* stats) {
  require_task_edit(task, attack);
  ADVX_REQUIRE(per_epoch >= 1,
               "re-crafted adversarial training needs at least one sample per epoch, got " + std::to_string(per_epoch));
  ADVX_REQUIRE(train.size() > 0, "adversarial training: the training split is empty");
  std::vector<int> pool;  // the attacked class's training samples
  for (int i = 0; i < train.size(); ++i)
    if (train.labels[static_cast<size_t>(i)] == task.source_class) pool.push_back(i);
  SequenceSplit sample, epoch_set;
  SequenceAdversarialStats total;
  auto epoch_data = [&](int epoch) -> const SequenceSplit& {
    // A seeded sample of the attacked class (partial Fisher-Yates over the pool), then the attack on
    // the model as it is now; its adversarials are what with_adversarial_sequences appends.
    Rng rng(mix_seed(seed, static_cast<std::uint64_t>(epoch)));
    const int take = std::min(per_epoch, static_cast<int>(pool.size()));
    for (int k = 0; k < take; ++k)
      std::swap(pool[static_cast<size_t>(k)],
                pool[static_cast<size_t>(k) + rng.below(static_cast<std::uint64_t>(pool.size()) - k)]);
    sample = SequenceSplit{};
    for (int k = 0; k < take; ++k) {
      const auto i = static_cast<size_t>(pool[static_cast<size_t>(k)]);
      sample.sequences.push_back(train.sequences[i]);
      sample.labels.push_back(train.labels[i]);
      if (!train.lines.empty()) sample.lines.push_back(train.lines[i]);
    }
    SequenceAdversarialStats st;
    const SequenceSplit crafted = with_adversarial_sequences(m, sample, task, attack, params,
                                                             mix_seed(seed, static_cast<std::uint64_t>(epoch)), &st);
    total.crafted += st.crafted, total.successful += st.successful, total.seconds += st.seconds;
    epoch_set = train;
    epoch_set.texts.clear();
    for (int k = sample.size(); k < crafted.size(); ++k) {
      epoch_set.sequences.push_back(crafted.sequences[static_cast<size_t>(k)]);
      epoch_set.labels.push_back(crafted.labels[static_cast<size_t>(k)]);
      if (!train.lines.empty()) epoch_set.lines.push_back(crafted.lines[static_cast<size_t>(k)]);
    }
    return epoch_set;
  };
  train_sequence_model(m, train, cfg, progress, epoch_data);
  if (stats) *stats = total;
}

}  // namespace advx
