// The transition model (transitions.h).
#include "engine/seqdefences/transitions.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"

namespace advx {

TransitionModel::TransitionModel(int vocab, double alpha) : v_(vocab), alpha_(alpha) {
  ADVX_REQUIRE(vocab >= 2, "transition model: vocabulary of " + std::to_string(vocab) + " tokens; need at least 2");
  ADVX_REQUIRE(alpha > 0.0, "transition model: smoothing alpha must be > 0, got " + std::to_string(alpha));
  count_.reserve(static_cast<size_t>(v_) * static_cast<size_t>(v_));  // not touched yet: clear_rows() zeroes it
  row_.assign(static_cast<size_t>(v_), 0);
}

TransitionModel::TransitionModel(const std::vector<TokenSeq>& train, int vocab, double alpha)
    : TransitionModel(vocab, alpha) {
  ADVX_REQUIRE(!train.empty(), "transition model: no training sequences; fit it on the training split");
  clear_rows(v_);
  for (const TokenSeq& s : train) add(s);
}

void TransitionModel::clear_rows(int count) {
  const int rows = std::min(count, v_ - table_rows());
  count_.resize(count_.size() + static_cast<size_t>(rows) * static_cast<size_t>(v_), 0);
}

void TransitionModel::add(const TokenSeq& s) {
  ADVX_REQUIRE(table_ready(), "transition model: add() before the count table is cleared (a bug)");
  std::int32_t prev = start();
  for (std::int32_t t : s) {
    ADVX_REQUIRE(t > 0 && t < v_, "transition model: token id " + std::to_string(t) + " outside 1.." +
                                      std::to_string(v_ - 1) + " in a training sequence");
    ++count_[static_cast<size_t>(prev) * static_cast<size_t>(v_) + static_cast<size_t>(t)];
    ++row_[static_cast<size_t>(prev)];
    prev = t;
  }
}

namespace {

int blocks(int items, int per_block) {
  return (items + per_block - 1) / per_block;
}

std::size_t longest(const std::vector<TokenSeq>& seqs) {
  std::size_t l = 1;
  for (const TokenSeq& s : seqs) l = std::max(l, s.size());
  return l;
}

}  // namespace

TransitionFitWork::TransitionFitWork(const std::vector<TokenSeq>& train, int vocab, double alpha)
    : BatchedWork("fitting the transition model",
                  blocks(vocab, batch_for(vocab)) +
                      blocks(static_cast<int>(train.size()), batch_for(static_cast<double>(longest(train)))),
                  1),
      train_(train),
      tm_(std::make_shared<TransitionModel>(vocab, alpha)),
      rows_per_step_(batch_for(vocab)),
      seqs_per_step_(batch_for(static_cast<double>(longest(train)))) {
  ADVX_REQUIRE(!train.empty(), "transition model: no training sequences; fit it on the training split");
}

void TransitionFitWork::run(int /*first*/, int /*count*/) {
  if (!tm_->table_ready()) {
    tm_->clear_rows(rows_per_step_);
    return;
  }
  const int end = std::min(static_cast<int>(train_.size()), added_ + seqs_per_step_);
  for (int i = added_; i < end; ++i) tm_->add(train_[static_cast<size_t>(i)]);
  added_ = end;
}

std::string TransitionFitWork::progress() const {
  if (!tm_->table_ready())
    return "clearing the transition counts, rows " + thousands(tm_->table_rows()) + " of " + thousands(tm_->vocab());
  return "counting transitions of training sequences " + thousands(added_) + " of " +
         thousands(static_cast<long long>(train_.size()));
}

double TransitionFitWork::fraction() const {
  if (!tm_->table_ready()) return static_cast<double>(tm_->table_rows()) / tm_->vocab();
  return static_cast<double>(added_) / static_cast<double>(train_.size());
}

double TransitionModel::log_prob(std::int32_t prev, std::int32_t next) const {
  ADVX_REQUIRE(prev >= 0 && prev < v_ && next > 0 && next < v_, "transition model: transition " + std::to_string(prev) +
                                                                    " -> " + std::to_string(next) + " outside the " +
                                                                    std::to_string(v_) + "-token vocabulary");
  const double c = count_[static_cast<size_t>(prev) * static_cast<size_t>(v_) + static_cast<size_t>(next)];
  const double r = static_cast<double>(row_[static_cast<size_t>(prev)]);
  return std::log((c + alpha_) / (r + alpha_ * (v_ - 1)));
}

double TransitionModel::score(const TokenSeq& s) const {
  ADVX_REQUIRE(!s.empty(), "transition model: an empty sequence has no transitions to score");
  double nll = 0.0;
  std::int32_t prev = start();
  for (std::int32_t t : s) {
    nll -= log_prob(prev, t);
    prev = t;
  }
  return nll / static_cast<double>(s.size());
}

void TransitionModel::edit_scores(const TokenSeq& s, SeqEdit edit, int slot, std::vector<float>& out) const {
  const int len = static_cast<int>(s.size());
  const bool insert = edit == SeqEdit::Insert;
  ADVX_REQUIRE(!s.empty() && slot >= 0 && slot <= (insert ? len : len - 1),
               "transition model: edit slot " + std::to_string(slot) + " outside a sequence of " + std::to_string(len) +
                   " tokens");
  const double total = score(s) * len;  // the sum of the transitions' NLL
  const std::int32_t prev = slot == 0 ? start() : s[static_cast<size_t>(slot - 1)];
  const int after = insert ? slot : slot + 1;  // the token that follows the written one, if any
  const bool has_next = after < len;
  const std::int32_t next = has_next ? s[static_cast<size_t>(after)] : 0;
  // The transitions the edit removes: prev -> next (insert) or prev -> s[slot] (-> next) (substitute).
  double removed = 0.0;
  if (insert) {
    if (has_next) removed -= log_prob(prev, next);
  } else {
    removed -= log_prob(prev, s[static_cast<size_t>(slot)]);
    if (has_next) removed -= log_prob(s[static_cast<size_t>(slot)], next);
  }
  const double new_len = insert ? len + 1 : len;
  out.assign(static_cast<size_t>(v_), std::numeric_limits<float>::infinity());
  for (std::int32_t u = 1; u < v_; ++u) {
    double added = -log_prob(prev, u);
    if (has_next) added -= log_prob(u, next);
    out[static_cast<size_t>(u)] = static_cast<float>((total - removed + added) / new_len);
  }
}

std::vector<float> TransitionModel::scores(const std::vector<TokenSeq>& seqs) const {
  std::vector<float> out;
  out.reserve(seqs.size());
  for (const TokenSeq& s : seqs) out.push_back(static_cast<float>(score(s)));
  return out;
}

}  // namespace advx
