// Where the engine's threads come from:
//   native (OpenMP):                thin OpenMP wrappers;
//   WebAssembly with pthreads       (the threaded web build, __EMSCRIPTEN_PTHREADS__): the engine's
//                                   persistent pool (engine/thread_pool.h), no OpenMP there;
//   WebAssembly without threads:    one thread.
// The engine's other `#pragma omp` loops go through parallel_rows, so they thread in all three.
//
// Eigen is built with EIGEN_DONT_PARALLELIZE (CMakeLists.txt): the engine decides where threads go.
// Eigen's own GEMM threading forks on every product, even 16x16x196 ones, which made single-image
// calls 28-96x slower on a busy 2-core machine (benchmarks/web/engine_analysis.md); large products
// are split into row blocks here instead, one per thread.
#pragma once
#include <algorithm>
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#elif defined(__EMSCRIPTEN_PTHREADS__)
#include "engine/thread_pool.h"
#endif

namespace advx {

#if !defined(_OPENMP) && defined(__EMSCRIPTEN_PTHREADS__)
// The threaded web build cuts a parallel section into this many blocks per pool thread, claimed
// by whichever thread is free (engine/thread_pool.h): when the browser or the OS holds a worker
// back, the others take its blocks instead of waiting for it. Each block is a fixed range of rows
// with its own buffers, so results do not depend on which thread ran what.
constexpr int kBlocksPerThread = 4;
#endif

// How many blocks parallel_rows cuts work into, at most (per-block buffers are sized by it):
// natively OpenMP's thread count, but 1 inside a parallel section that already runs on several
// threads (nested sections run on one thread there, so a layer called inside one, e.g. by a
// training shard, engine/train/train.h, cuts its work exactly as on a single thread); in the
// threaded web build kBlocksPerThread per pool thread.
inline int max_threads() {
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#elif defined(__EMSCRIPTEN_PTHREADS__)
  return engine_pool().size() > 1 ? engine_pool().size() * kBlocksPerThread : 1;
#else
  return 1;
#endif
}

// The block the calling code runs in (0 outside parallel sections): natively the OpenMP thread.
inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#elif defined(__EMSCRIPTEN_PTHREADS__)
  return pool_thread_index();
#else
  return 0;
#endif
}

// Calls fn(begin, end) on contiguous blocks of [0, rows), one block per thread, in parallel when the
// whole job is at least `min_work` (multiply-adds or similar units; work_per_row each row); else
// fn(0, rows) on the calling thread. Inside fn, thread_id() is the block's thread (0 on the caller).
// In the threaded web build a call from inside another parallel section (or from a second thread
// while the pool is busy) also runs fn(0, rows) on the calling thread.
template <class F>
void parallel_rows(int rows, double work_per_row, F fn, double min_work = 1 << 18) {
  const int threads = std::min(max_threads(), rows);
  if (threads <= 1 || rows * work_per_row < min_work) {
    if (rows > 0) fn(0, rows);
    return;
  }
#if !defined(_OPENMP) && defined(__EMSCRIPTEN_PTHREADS__)
  // The pool calls a plain function with a pointer to this frame: no std::function, no allocation.
  struct Job {
    F* fn;
    int rows, threads;
  } job{&fn, rows, threads};
  const auto task = [](void* ctx, int t) {
    const Job& j = *static_cast<const Job*>(ctx);
    const int begin = static_cast<int>(static_cast<std::int64_t>(j.rows) * t / j.threads);
    const int end = static_cast<int>(static_cast<std::int64_t>(j.rows) * (t + 1) / j.threads);
    if (end > begin) (*j.fn)(begin, end);
  };
  if (!engine_pool().try_run(threads, task, &job)) fn(0, rows);
#else
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    const int begin = static_cast<int>(static_cast<std::int64_t>(rows) * t / threads);
    const int end = static_cast<int>(static_cast<std::int64_t>(rows) * (t + 1) / threads);
    if (end > begin) fn(begin, end);
  }
#endif
}

// for (i in [0, n)) fn(i), the iterations split over threads: natively OpenMP's static schedule
// whenever n > 1 (exactly the loops' old `#pragma omp parallel for schedule(static) if (n > 1)`, so
// per-thread partial sums, and the native results, are unchanged); in the threaded web build
// parallel_rows' blocks when the whole job is at least min_work (work_per_item each); else a plain
// loop. thread_id() inside fn names the thread, as in parallel_rows.
template <class F>
void parallel_for(int n, double work_per_item, F fn, double min_work = 1 << 18) {
#ifdef _OPENMP
  (void)work_per_item;
  (void)min_work;
#pragma omp parallel for schedule(static) if (n > 1)
  for (int i = 0; i < n; ++i) fn(i);
#else
  parallel_rows(
      n, work_per_item,
      [&](int begin, int end) {
        for (int i = begin; i < end; ++i) fn(i);
      },
      min_work);
#endif
}

}  // namespace advx
