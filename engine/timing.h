// Wall-clock timing for the throughput benchmarks (advx bench, benchmarks/): one definition of
// "seconds per call", so every harness measures the same way.
#pragma once
#include <algorithm>
#include <chrono>

namespace advx {

// Milliseconds since t0 (the playground's per-frame budgets).
inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best-of-`reps` seconds per fn() call, each rep at least ~0.2 s of calls (after one warm-up call:
// allocations, caches).
template <class F>
double time_per_call(F fn, int reps) {
  fn();
  int calls = 1;
  double t = 0.0;
  while (true) {
    const double t0 = now_seconds();
    for (int i = 0; i < calls; ++i) fn();
    t = now_seconds() - t0;
    if (t > 0.2 || calls > 1 << 20) break;
    calls *= 2;
  }
  double best = t / calls;
  for (int r = 1; r < reps; ++r) {
    const double t0 = now_seconds();
    for (int i = 0; i < calls; ++i) fn();
    best = std::min(best, (now_seconds() - t0) / calls);
  }
  return best;
}

}  // namespace advx
