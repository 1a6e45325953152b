// Native timing of the same single-image calls the web page's window.advx makes, for the
// "WASM vs native" ratio of benchmarks/web/bench.js:
//
//   classify  advx.classify(pixels)              -> Sequential::probabilities on [1, 1, 28, 28]
//   fgsm      advx.fgsm(pixels, label, eps)       -> linf_attack, 1 step of eps (as App::run_attack)
//   bim10     advx.fgsm(..., {steps: 10})         -> linf_attack, 10 steps of 2.5 eps / 10
//
// Each call copies the 784 pixels into a fresh tensor and copies the result out, like
// frontend/web_api.cpp does. Images are the first --n MNIST test images, cycled.
//
// Build (benchmarks/web/run.sh does this):
//   g++ -std=c++17 -O3 -march=native -fopenmp -DNDEBUG -DEIGEN_MPL2_ONLY -I. -I/usr/include/eigen3 \
//       -I/usr/include/stb benchmarks/web/native_calls.cpp build/native/libadvx_engine.a -o native_calls
// Run:  OMP_NUM_THREADS=1 ./native_calls --model assets/models/small.safetensors [--n 200] [--calls 100]
// Prints one JSON object: per call, median / p90 / mean / min milliseconds. Option --eigen-threads N.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/attacks/attack.h"
#include "engine/data/dataset.h"
#include "engine/error.h"
#include "engine/io/model_io.h"
#include "engine/parallel.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double median = 0, p90 = 0, mean = 0, min = 0;
  int calls = 0;
};

Stats stats(std::vector<double> v) {
  Stats s;
  std::sort(v.begin(), v.end());
  s.calls = static_cast<int>(v.size());
  s.min = v.front();
  s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  s.p90 = v[std::min(v.size() - 1, static_cast<size_t>(0.9 * static_cast<double>(v.size())))];
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

// `warmup` untimed calls, then `calls` calls timed one by one (milliseconds).
Stats time_calls(int warmup, int calls, const std::function<void(int)>& fn) {
  for (int i = 0; i < warmup; ++i) fn(i);
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    fn(i);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return stats(ms);
}

const char* arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string model_path = arg(argc, argv, "--model", "assets/models/small.safetensors");
    const std::string data = arg(argc, argv, "--data", "");
    const int n = std::atoi(arg(argc, argv, "--n", "200"));
    const int calls = std::atoi(arg(argc, argv, "--calls", "100"));
    const int bim_calls = std::atoi(arg(argc, argv, "--bim-calls", "50"));
    const int warmup = std::atoi(arg(argc, argv, "--warmup", "10"));
    const float eps = static_cast<float>(std::atof(arg(argc, argv, "--eps", "0.1")));
    // --eigen-threads N: Eigen::setNbThreads(N) (Eigen's own OpenMP split of each GEMM); by default
    // Eigen uses all OpenMP threads, as in the engine.
    const int eigen_threads = std::atoi(arg(argc, argv, "--eigen-threads", "0"));
    if (eigen_threads > 0) Eigen::setNbThreads(eigen_threads);

    std::map<std::string, std::string> meta;
    advx::Sequential m = advx::load_model(model_path, &meta);
    const advx::Dataset test = advx::load_dataset(advx::resolve_data_dir(data), "mnist", "test").head(n);
    const int count = test.size();
    std::vector<float> sink(10);

    auto pixels = [&](int i) {
      advx::Tensor x({1, 1, 28, 28});
      std::copy_n(test.images.ptr() + static_cast<std::int64_t>(i % count) * 784, 784, x.ptr());
      return x;
    };
    auto classify = [&](int i) {
      advx::Tensor p = m.probabilities(pixels(i));
      std::copy_n(p.ptr(), 10, sink.data());
    };
    auto attack = [&](int i, int steps) {
      advx::LinfAttack cfg;
      cfg.eps = eps;
      cfg.steps = steps;
      cfg.seed = 0;
      cfg.evaluate = false;  // as App::run_attack when no prediction is asked for (advx.fgsm)
      const int label = test.labels[static_cast<size_t>(i % count)];
      advx::Tensor adv = advx::linf_attack(m, pixels(i), {label}, {}, cfg).adv;
      sink[0] = adv.data[0];
    };

    const Stats c = time_calls(warmup, calls, classify);
    const Stats f = time_calls(warmup, calls, [&](int i) { attack(i, 1); });
    const Stats b = time_calls(warmup / 2 + 1, bim_calls, [&](int i) { attack(i, 10); });

    auto js = [](const char* name, const Stats& s) {
      std::printf("\"%s\": {\"median_ms\": %.5f, \"p90_ms\": %.5f, \"mean_ms\": %.5f, \"min_ms\": %.5f, \"calls\": %d}",
                  name, s.median, s.p90, s.mean, s.min, s.calls);
    };
    std::printf("{\"arch\": \"%s\", \"threads\": %d, \"eigen_threads\": %d, \"eps\": %g, \"images\": %d, ",
                m.arch.c_str(), advx::max_threads(), Eigen::nbThreads(), static_cast<double>(eps), count);
    js("classify", c);
    std::printf(", ");
    js("fgsm", f);
    std::printf(", ");
    js("bim10", b);
    std::printf("}\n");
    return 0;
  } catch (const advx::Error& e) {
    std::fprintf(stderr, "native_calls: %s\n", e.what());
    return 1;
  }
}
