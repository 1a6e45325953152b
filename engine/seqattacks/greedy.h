// The one loop behind the gradient-guided sequence attacks (insert.cpp, substitute.cpp): propose
// edits from the embedding-space gradient, verify the best few by forward passes, keep the best,
// until the goal is reached or the budget is spent. See greedy.cpp for the math.
#pragma once
#include <memory>

#include "engine/seqattacks/seq_attack.h"

namespace advx {

struct GreedyConfig {
  SeqEdit edit = SeqEdit::Insert;
  double budget = 0.1;  // share F of the original length
  int positions = 16;   // insert: gaps probed per step (all gaps when the sequence has fewer)
  int neighbours = 10;  // substitute: the k nearest tokens of each original token (Euclidean, embedding space)
  int candidates = 8;   // (position, token) proposals verified by a forward pass per step
};

// A run of the loop: each step() is one round (one edit for every sample still running). `in`'s
// references (model, objective, sequences, detector) must outlive the run.
std::unique_ptr<SeqAttackRun> start_greedy(const SeqAttackInput& in, const GreedyConfig& cfg);

// The k nearest vocabulary tokens of `token` in W's rows (Euclidean), never itself, <pad> or <unk>;
// ties by id. For tests and the substitution attack.
std::vector<std::int32_t> nearest_tokens(const Tensor& w, std::int32_t token, int k);

}  // namespace advx
