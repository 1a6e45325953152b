// Long work a slice per frame: a first build (of an image or a sequence defence) stepped until the
// frame's budget is spent.
#pragma once
#include <chrono>

// Runs work.step() at least once, and again while the next step (taken to cost about as much as the
// last) still fits in budget_ms; `last_ms` keeps the last step's time from frame to frame. Returns
// true once the work is done (step() returned true). step()'s exceptions pass through.
template <class Work>
bool step_within(Work& work, double budget_ms, double& last_ms) {
  using Clock = std::chrono::steady_clock;
  const auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  const auto t0 = Clock::now();
  bool done = false;
  do {
    const auto ts = Clock::now();
    done = work.step();
    last_ms = ms_since(ts);
  } while (!done && ms_since(t0) + last_ms < budget_ms);
  return done;
}
