// The persistent thread pool of engine/thread_pool.h: workers started once, a job published as one
// atomic word (generation, blocks, next unclaimed block), blocks claimed by compare-exchange by
// whoever comes first (the caller included), a short poll before a worker sleeps.
#include "engine/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace advx {

namespace {

thread_local int tls_index = 0;         // the block this thread runs (pool_thread_index)
thread_local bool tls_in_task = false;  // inside a pool task: a nested run() runs inline

// How long a worker keeps polling for the next job before it sleeps. A forward pass hands out
// jobs every few to a few hundred microseconds; waking a sleeping Web Worker takes longer.
constexpr auto kSpin = std::chrono::microseconds(200);

#ifndef ADVX_POOL_THREADS
#define ADVX_POOL_THREADS 4
#endif

// ThreadPool::state_: generation | blocks | next unclaimed block.
std::uint64_t gen_of(std::uint64_t s) {
  return s >> 32;
}
int blocks_of(std::uint64_t s) {
  return static_cast<int>((s >> 16) & 0xffff);
}
int next_of(std::uint64_t s) {
  return static_cast<int>(s & 0xffff);
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  const int workers = std::max(1, std::min(threads, 0xffff)) - 1;
  workers_.reserve(static_cast<size_t>(workers));
  for (int i = 1; i <= workers; ++i) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_);
    stop_ = true;
    state_.store((gen_of(state_.load(std::memory_order_relaxed)) + 1) << 32, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

// Claims the next unclaimed block of job `gen` and runs it as that block (pool_thread_index() = b);
// false when the job has no block left or a newer job is out. task_ and ctx_ are read only after a
// successful claim: the job cannot end (and be replaced) before the claimed block is done.
bool ThreadPool::claim_and_run(std::uint64_t gen) {
  std::uint64_t s = state_.load(std::memory_order_acquire);
  do {
    if (gen_of(s) != gen || next_of(s) >= blocks_of(s)) return false;
  } while (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire));
  const int b = next_of(s), index = tls_index;
  const bool in_task = tls_in_task;
  tls_index = b;
  tls_in_task = true;
  task_(ctx_, b);
  tls_index = index;
  tls_in_task = in_task;
  done_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

// A worker: wait for the next job (poll, then sleep), claim and run its blocks while any are left.
void ThreadPool::work() {
  std::uint64_t seen = 0;  // the generation at construction (not a load: a job may already be out)
  for (;;) {
    std::uint64_t g = gen_of(state_.load(std::memory_order_acquire));
    if (g == seen) {
      const auto until = std::chrono::steady_clock::now() + kSpin;
      for (int i = 0; g == seen; ++i) {
        if ((i & 255) == 255 && std::chrono::steady_clock::now() > until) break;
        g = gen_of(state_.load(std::memory_order_acquire));
      }
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(sleep_);
      wake_.wait(lock, [&] { return gen_of(state_.load(std::memory_order_acquire)) != seen; });
      g = gen_of(state_.load(std::memory_order_acquire));
    }
    seen = g;
    if (stop_) return;  // written before the last generation was published, under sleep_
    while (claim_and_run(g)) {
    }
  }
}

// Publishes the job, wakes the workers, claims blocks itself until none are left, then spins until
// the blocks the workers claimed have returned.
void ThreadPool::dispatch(int blocks, Task task, void* ctx) {
  if (workers_.empty() || blocks <= 1) {
    task(ctx, 0);
    return;
  }
  task_ = task;
  ctx_ = ctx;
  done_.store(0, std::memory_order_relaxed);
  std::uint64_t gen;
  {
    // Under the sleep mutex: a worker between its last check and wait() cannot miss the job.
    std::lock_guard<std::mutex> lock(sleep_);
    gen = gen_of(state_.load(std::memory_order_relaxed)) + 1;
    state_.store(gen << 32 | static_cast<std::uint64_t>(blocks) << 16, std::memory_order_release);
  }
  wake_.notify_all();
  while (claim_and_run(gen)) {
  }
  while (done_.load(std::memory_order_acquire) != blocks) {
  }
}

void ThreadPool::run(int blocks, Task task, void* ctx) {
  if (tls_in_task) {  // nested: the caller's thread runs every block in turn
    for (int b = 0; b < blocks; ++b) task(ctx, b);
    return;
  }
  std::lock_guard<std::mutex> lock(caller_);
  dispatch(blocks, task, ctx);
}

bool ThreadPool::try_run(int blocks, Task task, void* ctx) {
  if (tls_in_task) return false;
  std::unique_lock<std::mutex> lock(caller_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  dispatch(blocks, task, ctx);
  return true;
}

int pool_thread_index() {
  return tls_index;
}

ThreadPool& engine_pool() {
  // Never destroyed: the workers live as long as the page (or the process).
  static ThreadPool* pool =
      new ThreadPool(std::min(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), ADVX_POOL_THREADS));
  return *pool;
}

}  // namespace advx
