// A small persistent thread pool: what parallel_rows (engine/parallel.h) runs on in a threaded
// WebAssembly build (Emscripten pthreads), where there is no OpenMP. Natively it is only built and
// unit-tested (tests/unit/test_thread_pool.cpp); the native engine keeps OpenMP.
//
// Contract:
//   ThreadPool(threads)   starts threads - 1 workers, once (std::thread); the caller of run() is
//                         thread 0. threads < 1 counts as 1 (no workers).
//   run(blocks, task, ctx) requires 1 <= blocks <= size(); calls task(ctx, b) for every b in
//                         [0, blocks), block b on thread b (block 0 on the calling thread), and
//                         returns when all have returned. No heap allocation, no thread creation.
//                         While a worker runs block b, pool_thread_index() on it is b.
//   try_run(...)          the same if the pool is free; false (nothing run) when another thread is
//                         inside run() or the caller is itself a pool task (nested parallelism).
//
// Why a pool and not a thread per call: a forward pass of `cnn` is ~10 parallel sections within a
// millisecond; creating a pthread in the browser posts a message to a Web Worker (~0.1-1 ms).
// Workers spin for a short while after a job (the next layer's job usually arrives within tens of
// microseconds), then sleep on a condition variable. The calling thread busy-waits for the
// workers: on the browser's main thread Atomics.wait is not allowed (Emscripten spins there
// anyway), and the waits are as short as the sections are.
#pragma once
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace advx {

class ThreadPool {
 public:
  using Task = void (*)(void* ctx, int block);

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  void run(int blocks, Task task, void* ctx);
  bool try_run(int blocks, Task task, void* ctx);

 private:
  void work(int index);
  void dispatch(int blocks, Task task, void* ctx);

  std::vector<std::thread> workers_;
  std::mutex caller_;  // one run() at a time
  std::mutex sleep_;   // guards the workers' condition variable
  std::condition_variable wake_;
  std::atomic<unsigned> generation_{0};  // bumped once per job; workers wait for a change
  std::atomic<int> pending_{0};          // workers that have not finished the current job
  Task task_ = nullptr;                  // the current job (written before generation_ is bumped)
  void* ctx_ = nullptr;
  int blocks_ = 0;
  bool stop_ = false;
};

// The index of the calling thread's block inside ThreadPool::run (0 outside any pool task).
int pool_thread_index();

// The engine's pool (created on first use, never destroyed): min(hardware threads,
// ADVX_POOL_THREADS) threads, default 4.
ThreadPool& engine_pool();

}  // namespace advx
