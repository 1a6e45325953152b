// The persistent thread pool of the threaded web build (engine/thread_pool.h), run natively: every
// block runs exactly once, with its index, the workers take part and are reused job after job
// (polling or woken from sleep), a nested run and a busy pool fall back to the caller, a one-thread
// pool runs inline.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "engine/thread_pool.h"

using advx::ThreadPool;

namespace {

struct Blocks {
  std::vector<int> runs, index;
  std::vector<std::thread::id> thread;
};

void record(void* ctx, int b) {
  auto& r = *static_cast<Blocks*>(ctx);
  ++r.runs[static_cast<size_t>(b)];
  r.index[static_cast<size_t>(b)] = advx::pool_thread_index();
  r.thread[static_cast<size_t>(b)] = std::this_thread::get_id();
}

}  // namespace

TEST_CASE("thread pool: each block once, with its index, the workers take part", "[threads]") {
  ThreadPool pool(3);
  REQUIRE(pool.size() == 3);
  for (int blocks = 1; blocks <= 3; ++blocks)
    for (int job = 0; job < 200; ++job) {  // many jobs: workers are reused (polling or asleep)
      Blocks r{std::vector<int>(3, 0), std::vector<int>(3, -1), std::vector<std::thread::id>(3)};
      pool.run(blocks, record, &r);
      for (int b = 0; b < blocks; ++b) {
        REQUIRE(r.runs[static_cast<size_t>(b)] == 1);
        REQUIRE(r.index[static_cast<size_t>(b)] == b);
      }
      for (int b = blocks; b < 3; ++b) REQUIRE(r.runs[static_cast<size_t>(b)] == 0);
      REQUIRE(advx::pool_thread_index() == 0);                                    // the caller's index is back
      if (job == 100) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers fall asleep
    }
  // Blocks are claimed by whoever comes first, so on a busy machine the caller may run them all.
  // A worker must take part when the thread in block 0 is held up there: block 0 waits until block 1
  // has run (or 10 s have passed, then it fails), so block 1 runs on another thread.
  struct Handoff {
    std::atomic<bool> second_ran{false};
    std::thread::id first, second;
  } h;
  pool.run(
      2,
      [](void* ctx, int b) {
        auto& x = *static_cast<Handoff*>(ctx);
        if (b == 1) {
          x.second = std::this_thread::get_id();
          x.second_ran = true;
          return;
        }
        x.first = std::this_thread::get_id();
        const auto t0 = std::chrono::steady_clock::now();
        while (!x.second_ran && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
          std::this_thread::yield();
      },
      &h);
  REQUIRE(h.second_ran);
  REQUIRE(h.first != h.second);  // two threads: one of them a worker
}

TEST_CASE("thread pool: sums over blocks match a serial sum, nested runs fall back", "[threads]") {
  ThreadPool pool(2);
  struct Sum {
    ThreadPool* pool;
    std::atomic<long> total{0};
    std::atomic<int> nested_refused{0};
  } s{&pool};
  const auto task = [](void* ctx, int b) {
    auto& sum = *static_cast<Sum*>(ctx);
    for (int i = b * 1000; i < (b + 1) * 1000; ++i) sum.total += i;
    // A pool task asking the pool again is refused (the caller then runs its work itself).
    if (!sum.pool->try_run(
            2, [](void*, int) {}, nullptr))
      ++sum.nested_refused;
  };
  for (int job = 0; job < 50; ++job) {
    s.total = 0;
    s.nested_refused = 0;
    pool.run(2, task, &s);
    REQUIRE(s.total == 1999L * 2000 / 2);
    REQUIRE(s.nested_refused == 2);
  }
}

TEST_CASE("thread pool: one thread runs inline", "[threads]") {
  ThreadPool pool(1);
  REQUIRE(pool.size() == 1);
  Blocks r{std::vector<int>(1, 0), std::vector<int>(1, -1), std::vector<std::thread::id>(1)};
  REQUIRE(pool.try_run(1, record, &r));
  REQUIRE(r.runs[0] == 1);
  REQUIRE(r.thread[0] == std::this_thread::get_id());
}
