// Long work in fixed batches: the precomputations of a defence's first build (the penultimate
// features of 60,000 training images, a detector's scores on 1,000 validation images), done one batch
// per step() so that the playground can run a few batches a frame and keep drawing, while the command
// line runs them all at once.
//
// Why the batches are fixed by the engine, never by a clock: a batched forward pass does not give
// the same bits for a sample in batches of different sizes (Eigen's GEMM blocks by the matrix sizes;
// measured on `small`: 1,068 of 52,000 features differ between batches of 26 and of 520). With the
// batch chosen from the work's cost (batch_for), a build spread over frames and one uninterrupted
// build run the very same batches, so they give the same features, thresholds and predictions.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace advx {

class BatchedWork {
 public:
  virtual ~BatchedWork() = default;
  // Runs the next batch; true once every item is done (then it does nothing).
  bool step();
  void finish();  // every remaining batch
  bool done() const { return next_ >= total_; }
  int finished() const { return next_; }  // items done so far
  int total() const { return total_; }
  int batch() const { return batch_; }
  virtual double fraction() const { return total_ > 0 ? static_cast<double>(next_) / total_ : 1.0; }
  // "embedding training images 12,000 of 60,000" (work whose items are not what it does, such as
  // k-means's steps, says more)
  virtual std::string progress() const;

 protected:
  // what: "embedding training images"; total items in batches of `batch` (>= 1).
  BatchedWork(std::string what, int total, int batch);
  // Items [first, first + count). The last batch is the one with first + count == total().
  virtual void run(int first, int count) = 0;
  // For work whose length is known only as it goes (k-means stops when nothing moves): called by
  // run(first, count), the work ends after this batch (total() becomes first + count).
  void end_with_this_batch();

 private:
  std::string what_;
  int total_ = 0, batch_ = 1, next_ = 0;
  int running_end_ = -1;  // first + count of the batch run() is running
};

// A build as stages run one after the other (a defence's first build: image and sequence defences
// alike): each stage is a short function that returns the long work to run, a batch per step,
// before the next stage (or null). A stage that throws (the playground's "still loading") runs again
// on the next step.
class Stages {
 public:
  using Stage = std::function<std::shared_ptr<BatchedWork>()>;
  explicit Stages(std::vector<Stage> stages) : stages_(std::move(stages)) {}
  // A batch of the current work, or the next stage; true (doing nothing) once all are done.
  bool step();
  void release() { work_.reset(); }  // once done: the last work is no longer needed
  // The current work's "... 12,000 of 60,000" (a finished one's until the next stage), else "".
  std::string progress() const;
  double fraction() const;  // of the current work, 0..1

 private:
  std::vector<Stage> stages_;
  std::size_t next_ = 0;  // the next stage to run
  std::shared_ptr<BatchedWork> work_;
};

// Stages, then `finish` makes the result (a defence): the steps of a first build.
template <class R>
class StagedResult {
 public:
  StagedResult(std::vector<Stages::Stage> stages, std::function<R()> finish)
      : stages_(std::move(stages)), finish_(std::move(finish)) {}
  // The next step; true once the result is made (finish runs in the step after the last stage's work).
  bool step() {
    if (done_) return true;
    if (!stages_.step()) return false;
    result_ = finish_();
    stages_.release();
    done_ = true;
    return true;
  }
  bool done() const { return done_; }
  std::string progress() const { return stages_.progress(); }
  double fraction() const { return stages_.fraction(); }
  R& result() { return result_; }

 private:
  Stages stages_;
  std::function<R()> finish_;
  R result_{};
  bool done_ = false;
};

// Multiply-adds a batch is sized for: about 4 ms of one thread in the browser (WebAssembly SIMD,
// ~4.5 GMAC/s measured on `small`), about 1-2 ms natively.
constexpr double kBatchMacs = 16e6;
// Items per batch for work of `macs_per_item` multiply-adds each: kBatchMacs / macs_per_item, in
// [1, 256] (`small`, 0.61 M MACs an image: 26; `cnn`, 13.9 M: 1; `softmax`: 256).
int batch_for(double macs_per_item);

// "12,000"
std::string thousands(long long n);

}  // namespace advx
