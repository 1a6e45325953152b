// A small persistent thread pool: what parallel_rows (engine/parallel.h) runs on in a threaded
// WebAssembly build (Emscripten pthreads), where there is no OpenMP. Natively it is only built and
// unit-tested (tests/unit/test_thread_pool.cpp); the native engine keeps OpenMP.
//
// Contract:
//   ThreadPool(threads)   starts threads - 1 workers, once (std::thread); the caller of run() is
//                         the other thread. threads < 1 counts as 1 (no workers).
//   run(blocks, task, ctx) requires 1 <= blocks <= 65535; calls task(ctx, b) exactly once for every
//                         b in [0, blocks), each on one thread, in parallel, and returns when all
//                         have returned. While block b runs, pool_thread_index() on its thread is b
//                         (what thread_id() in engine/parallel.h returns: per-block buffers stay
//                         private). No heap allocation, no thread creation.
//   try_run(...)          the same if the pool is free; false (nothing run) when another thread is
//                         inside run() or the caller is itself a pool task (nested parallelism).
//
// Blocks are claimed, not assigned: the caller takes block 0, then every block no worker has taken
// yet. A worker that the OS has not scheduled (a busy machine: the browser's other work, other
// processes) then costs nothing; the caller waits only for blocks already running.
//
// Why a pool and not a thread per call: a forward pass of `cnn` is ~10 parallel sections within a
// millisecond; creating a pthread in the browser posts a message to a Web Worker (~0.1-1 ms).
// Workers poll for a short while after a job (the next layer's job usually arrives within tens of
// microseconds), then sleep on a condition variable. The calling thread busy-waits for running
// blocks: on the browser's main thread Atomics.wait is not allowed (Emscripten spins there anyway),
// and the waits are as short as a block.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
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
  void work();
  void dispatch(int blocks, Task task, void* ctx);

  bool claim_and_run(std::uint64_t gen);

  std::vector<std::thread> workers_;
  std::mutex caller_;  // one run() at a time
  std::mutex sleep_;   // guards the workers' condition variable
  std::condition_variable wake_;
  // The job: generation (high 32 bits, bumped once per job), blocks (bits 16-31), next unclaimed
  // block (bits 0-15). Claiming a block is one compare-exchange that also checks the generation.
  std::atomic<std::uint64_t> state_{0};
  std::atomic<int> done_{0};  // blocks of the current job that have returned
  Task task_ = nullptr;       // the current job (written before state_ publishes it)
  void* ctx_ = nullptr;
  bool stop_ = false;
};

// The index of the calling thread's block inside ThreadPool::run (0 outside any pool task).
int pool_thread_index();

// The engine's pool (created on first use, never destroyed): min(hardware threads,
// ADVX_POOL_THREADS) threads, default 4.
ThreadPool& engine_pool();

}  // namespace advx
