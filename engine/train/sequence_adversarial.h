// Adversarial training data for sequence classifiers: a training split plus adversarial sequences of
// its attacked class, crafted ONCE on a fixed source model by a registered sequence attack (insert
// for malware traces, substitute for SMS: the task's edit), labelled with their true class. Training
// on the union, shuffled together, is Goodfellow, Shlens, Szegedy 2015's mixed loss (arXiv:1412.6572,
// alpha = 1/2 over the attacked class) with static adversarials from another model: ensemble
// adversarial training, Tramer et al. 2018 (arXiv:1705.07204), the pattern of the image ensemble's
// adversarial members (engine/defences/ensemble.cpp). Rosenberg, Shabtai, Elovici, Rokach 2019
// (arXiv:1901.09963) list adversarial training and RNN ensembles among their defences; the
// adversarial ensemble members of assets/models/sequence are trained this way.
//
// Crafting once on another model costs one attack per member and defends against transferred
// adversarials (the oblivious attacker); the adaptive numbers (DEFENCES.md) show what it does not
// defend against. train_sequence_adversarial below re-crafts against the model being trained
// before every epoch instead (Madry et al. 2018, arXiv:1706.06083, with the discrete attack as the
// inner maximisation), on a seeded sample of the attacked class to bound the cost: one insertion
// attack over all of MalbehavD's ~1,000 training malware takes about two minutes on our 2 shared
// cores.
#pragma once
#include <cstdint>
#include <functional>

#include "engine/data/sequences.h"
#include "engine/eval/sequence_eval.h"
#include "engine/seqattacks/seq_attack.h"
#include "engine/train/sequence_train.h"

namespace advx {

struct SequenceAdversarialStats {
  int crafted = 0;     // source-class training samples the source model gets right, each attacked once
  int successful = 0;  // of them, adversarials the source model misclassifies
  double seconds = 0.0;
};

// `train` followed by one adversarial per crafted sample (label task.source_class; texts dropped:
// the result's texts are empty). Throws if the attack's edit is not the task's.
SequenceSplit with_adversarial_sequences(SequenceClassifier& source, const SequenceSplit& train,
                                         const SequenceTask& task, const SeqAttackSpec& attack,
                                         const ParamValues& params, std::uint64_t seed,
                                         SequenceAdversarialStats* stats = nullptr);

// Adversarial training with adversarials re-crafted every epoch: before epoch e (1-based), up to
// `per_epoch` training samples of task.source_class that `m` (as it is then) classifies correctly,
// drawn by Rng(mix_seed(seed, e)), are attacked on `m` itself (attack seed mix_seed(seed, e)), and
// epoch e trains on `train` plus those adversarials (labelled with their true class), shuffled
// together. `cfg` as train_sequence_model (one Adam state through all epochs). `stats`, if given,
// sums the epochs' crafting. Throws if the attack's edit is not the task's.
void train_sequence_adversarial(SequenceModel& m, const SequenceSplit& train, const SequenceTask& task,
                                const SeqAttackSpec& attack, const ParamValues& params, const SequenceTrainConfig& cfg,
                                int per_epoch, std::uint64_t seed,
                                const std::function<void(const SequenceEpoch&)>& progress,
                                SequenceAdversarialStats* stats = nullptr);

}  // namespace advx
