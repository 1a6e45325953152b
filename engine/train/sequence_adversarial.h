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
// Deviation, stated: Madry-style adversarial training would re-craft against the member being
// trained every epoch; one insertion attack over MalbehavD's ~1,000 training malware costs about two
// minutes on our 2 shared cores, so 15 epochs x 3 members would take 1.5 hours. Crafting once on
// another model costs one attack per member and defends against transferred adversarials (the
// oblivious attacker); the adaptive numbers (DEFENCES.md) show what it does not defend against.
#pragma once
#include <cstdint>

#include "engine/data/sequences.h"
#include "engine/eval/sequence_eval.h"
#include "engine/seqattacks/seq_attack.h"

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

}  // namespace advx
