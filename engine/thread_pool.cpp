// The persistent thread pool of engine/thread_pool.h: workers started once, jobs handed over by a
// generation counter, a short spin before sleeping, the caller takes block 0 and spins until the
// workers are done.
#include "engine/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace advx {

namespace {

thread_local int tls_index = 0;         // the block this thread runs (pool_thread_index)
thread_local bool tls_in_task = false;  // inside a pool task: a nested run() runs inline

// How long a worker keeps polling for the next job before it sleeps. A forward pass hands out
// jobs every few to a few hundred microseconds; waking a sleeping Web Worker takes longer.
constexpr auto kSpin = std::chrono::microseconds(300);

#ifndef ADVX_POOL_THREADS
#define ADVX_POOL_THREADS 4
#endif

}  // namespace

ThreadPool::ThreadPool(int threads) {
  const int workers = std::max(1, threads) - 1;
  workers_.reserve(static_cast<size_t>(workers));
  for (int i = 1; i <= workers; ++i) workers_.emplace_back([this, i] { work(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

// A worker: wait for the next generation (spin, then sleep), run its block if the job has one,
// report done.
void ThreadPool::work(int index) {
  tls_index = index;
  unsigned seen = 0;  // the generation at construction (not a load: a job may already be out)
  for (;;) {
    unsigned g = generation_.load(std::memory_order_acquire);
    if (g == seen) {
      const auto until = std::chrono::steady_clock::now() + kSpin;
      for (int i = 0; g == seen; ++i) {
        if ((i & 255) == 255 && std::chrono::steady_clock::now() > until) break;
        g = generation_.load(std::memory_order_acquire);
      }
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(sleep_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_) return;  // written before the last generation bump, under sleep_
    if (index < blocks_) {
      tls_in_task = true;
      task_(ctx_, index);
      tls_in_task = false;
    }
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

// Publishes the job, wakes the workers, runs block 0, spins until every worker reported.
void ThreadPool::dispatch(int blocks, Task task, void* ctx) {
  if (workers_.empty() || blocks <= 1) {
    task(ctx, 0);
    return;
  }
  task_ = task;
  ctx_ = ctx;
  blocks_ = blocks;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    // Under the sleep mutex: a worker between its last check and wait() cannot miss the bump.
    std::lock_guard<std::mutex> lock(sleep_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  tls_in_task = true;
  task(ctx, 0);
  tls_in_task = false;
  while (pending_.load(std::memory_order_acquire) != 0) {
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

int pool_thread_index() { return tls_index; }

ThreadPool& engine_pool() {
  // Never destroyed: the workers live as long as the page (or the process).
  static ThreadPool* pool = new ThreadPool(
      std::min(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), ADVX_POOL_THREADS));
  return *pool;
}

}  // namespace advx
