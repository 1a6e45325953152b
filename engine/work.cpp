#include "engine/work.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "engine/error.h"

namespace advx {

BatchedWork::BatchedWork(std::string what, int total, int batch)
    : what_(std::move(what)), total_(total), batch_(batch) {
  ADVX_REQUIRE(total >= 0 && batch >= 1, what_ + ": " + std::to_string(total) + " items in batches of " +
                                             std::to_string(batch) + " (need >= 0 items, batches >= 1)");
}

bool BatchedWork::step() {
  if (done()) return true;
  const int count = std::min(batch_, total_ - next_);
  running_end_ = next_ + count;
  run(next_, count);  // throws leave next_ where it was: the batch runs again on the next step
  running_end_ = -1;
  next_ += count;
  return done();
}

void BatchedWork::end_with_this_batch() {
  ADVX_REQUIRE(running_end_ >= 0, what_ + ": end_with_this_batch() is for run() to call");
  total_ = running_end_;
}

void BatchedWork::finish() {
  while (!step()) {
  }
}

std::string BatchedWork::progress() const {
  return what_ + " " + thousands(next_) + " of " + thousands(total_);
}

bool Stages::step() {
  if (work_ && !work_->done()) {  // a batch of the current stage's long work
    work_->step();
    return false;
  }
  if (next_ < stages_.size()) {  // the next stage (short): it may start long work
    work_ = stages_[next_]();
    ++next_;  // after the call: a stage that throws runs again on the next step
    return false;
  }
  return true;
}

std::string Stages::progress() const {
  return work_ ? work_->progress() : "";
}

double Stages::fraction() const {
  return work_ ? work_->fraction() : 0.0;
}

int batch_for(double macs_per_item) {
  if (!(macs_per_item > 0.0)) return 256;
  return static_cast<int>(std::clamp(std::floor(kBatchMacs / macs_per_item), 1.0, 256.0));
}

std::string thousands(long long n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

}  // namespace advx
