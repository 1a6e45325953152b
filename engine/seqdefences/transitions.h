// Statistical sequence irregularity detection (Rosenberg, Shabtai, Elovici, Rokach 2019, arXiv:1901.09963,
// section "Statistical sequence irregularity detection": inserted calls such as a CreateSocket with no
// CloseSocket after it make a trace unlike clean ones). A first-order Markov model of clean sequences:
//
//   P(b | a) = (c(a, b) + alpha) / (c(a) + alpha V')      add-alpha smoothing; V' = V - 1 tokens
//                                                          (every id but <pad>, <unk> included)
//   c(a, b)  = how often token b follows token a in the TRAINING split (both classes), with a start
//              state S before each sequence's first token (c(S, b) counts first tokens)
//   score(x) = -1/L sum_{t=1..L} log P(x_t | x_{t-1}),  x_0 = S
//
// i.e. the mean negative log-likelihood per transition (length-normalised, so long and short traces
// are comparable; L transitions for L tokens, the first from S). Larger = more irregular. The
// detector flags score > threshold, the threshold set at a chosen false-positive rate on clean
// validation samples (seq_defence.h). Deviations: Rosenberg et al. describe the idea without a
// model; the first-order chain and add-alpha smoothing are ours.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/seqattacks/seq_attack.h"
#include "engine/work.h"

namespace advx {

class TransitionModel {
 public:
  // vocab: V (ids 0..V-1; 0 = <pad> never appears); alpha > 0.
  TransitionModel(const std::vector<TokenSeq>& train, int vocab, double alpha);
  // The same fit in parts (TransitionFitWork): no table yet; clear_rows() until table_ready(), then
  // add() every training sequence. Its probabilities are the fitted model's once all are added.
  TransitionModel(int vocab, double alpha);
  void clear_rows(int count);  // the next `count` rows of the [V, V] count table, zeroed
  bool table_ready() const { return count_.size() == static_cast<size_t>(v_) * static_cast<size_t>(v_); }
  void add(const TokenSeq& s);
  double log_prob(std::int32_t prev, std::int32_t next) const;  // prev = start() for the first token
  std::int32_t start() const { return 0; }                      // S uses <pad>'s row (never a token)
  double score(const TokenSeq& s) const;                        // mean NLL per transition
  std::vector<float> scores(const std::vector<TokenSeq>& seqs) const;
  // out[u] = score(s with token u inserted before position `slot` (Insert; slot = size() appends) or
  // written at `slot` (Substitute)), for every u in [0, V); out[0] (<pad>) = +infinity. Exact, O(V +
  // L): only the one or two transitions around the slot change (the adaptive attacker's detector
  // term, seq_attack.h).
  void edit_scores(const TokenSeq& s, SeqEdit edit, int slot, std::vector<float>& out) const;
  int vocab() const { return v_; }
  int table_rows() const { return static_cast<int>(count_.size() / static_cast<size_t>(v_)); }

 private:
  int v_;
  double alpha_;
  std::vector<std::uint32_t> count_;  // [V, V]: count_[a V + b]
  std::vector<std::uint64_t> row_;    // [V]
};

// The fit in steps (engine/work.h): the count table zeroed a block of rows a step (SMS: 3,736^2 counts,
// 56 MB, ~60 ms in one call), then the training sequences counted a batch a step. Block sizes from
// the cost model (a count written or read as one multiply-add); counts are integers, so any blocks
// give the same model. `train` must outlive the work.
class TransitionFitWork : public BatchedWork {
 public:
  TransitionFitWork(const std::vector<TokenSeq>& train, int vocab, double alpha);
  std::string progress() const override;
  double fraction() const override;
  std::shared_ptr<const TransitionModel> model() const { return tm_; }  // fitted once done()

 protected:
  void run(int first, int count) override;

 private:
  const std::vector<TokenSeq>& train_;
  std::shared_ptr<TransitionModel> tm_;
  int rows_per_step_, seqs_per_step_, added_ = 0;
};

}  // namespace advx
