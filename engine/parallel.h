// Thin OpenMP wrappers so the engine builds without OpenMP (WebAssembly) as a single thread.
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
#endif

namespace advx {

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Calls fn(begin, end) on contiguous blocks of [0, rows), one block per thread, in parallel when the
// whole job is at least `min_work` (multiply-adds or similar units; work_per_row each row); else
// fn(0, rows) on the calling thread.
template <class F>
void parallel_rows(int rows, double work_per_row, F fn, double min_work = 1 << 18) {
  const int threads = std::min(max_threads(), rows);
  if (threads <= 1 || rows * work_per_row < min_work) {
    if (rows > 0) fn(0, rows);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    const int begin = static_cast<int>(static_cast<std::int64_t>(rows) * t / threads);
    const int end = static_cast<int>(static_cast<std::int64_t>(rows) * (t + 1) / threads);
    if (end > begin) fn(begin, end);
  }
}

}  // namespace advx
