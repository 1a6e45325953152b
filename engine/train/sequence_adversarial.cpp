// Adversarial training data for sequence classifiers (sequence_adversarial.h).
#include "engine/train/sequence_adversarial.h"

#include <chrono>

#include "engine/error.h"

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

}  // namespace advx
