// The one-pixel attack at the paper's settings, timed natively: per image, differential evolution
// with a population of 400 for 100 generations (40,400 model evaluations: the initial population
// and 100 x 400 children), early stop OFF so every image costs the same work as the SciPy peer's
// run (benchmarks/pixel/bench_scipy.py); next to it, the engine's plain forward throughput at the
// same batch, timed the way `advx bench` times it (best of `reps` repetitions of >= 0.2 s), so
// "evaluations/s as a fraction of plain forward img/s" says what the evolution costs on top.
//
// Two ways to attack K images: one at a time (400 candidates per evaluation call: what the
// playground does with one image, and what the SciPy peer does) and all K at once (K x 400
// candidates per generation, chunks of at most 4096 per call: what `advx eval` does with a batch).
//
// On the bare model the attack evaluates its candidates locally (engine/local_eval.h: the clean
// image's activations plus the exact change of the candidate's pixels), so an evaluation costs less
// than a forward pass and the fraction can exceed 1; `--materialise 1` puts the model behind a
// Pipeline without transforms, which has no local evaluator: every candidate a full forward pass,
// as before the local evaluation.
//
// Usage: advx_bench_pixel --model small|cifar_lenet [--images K] [--pixels P] [--pop 400]
//                         [--gens 100] [--reps 3] [--data DIR] [--materialise 0|1]
//                                                                        prints one JSON object
// Built on demand: cmake --build --preset native --target advx_bench_pixel (benchmarks/pixel/run.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "benchmarks/load_average.h"
#include "engine/attacks/pixel.h"
#include "engine/data/dataset.h"
#include "engine/io/model_io.h"
#include "engine/local_eval.h"
#include "engine/parallel.h"
#include "engine/pipeline.h"
#include "engine/timing.h"

using namespace advx;
using advx::bench::load1;

namespace {

// Plain forward img/s at batch b: b copies of `img` (the values do not change the cost).
double forward_img_s(Sequential& m, const float* img, int b, int reps) {
  Shape s = m.input_shape();
  s.insert(s.begin(), b);
  Tensor x(s);
  const std::int64_t per = x.sample_size();
  for (int i = 0; i < b; ++i) std::copy_n(img, per, x.ptr() + i * per);
  return b / time_per_call([&] { m.logits(x); }, reps);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[std::string(argv[i]).substr(2)] = argv[i + 1];
  auto get = [&](const char* k, const std::string& def) { return a.count(k) ? a[k] : def; };
  const std::string name = get("model", "small");
  const int k = std::stoi(get("images", "5"));
  PixelAttack cfg;
  cfg.pixels = std::stoi(get("pixels", "1"));
  cfg.pop = std::stoi(get("pop", "400"));
  cfg.gens = std::stoi(get("gens", "100"));
  cfg.early_stop = false;
  cfg.seed = 1;
  const int reps = std::stoi(get("reps", "3"));
  const bool materialise = get("materialise", "0") == "1";

  std::map<std::string, std::string> meta;
  Sequential m = load_model(std::string(ADVX_SOURCE_DIR) + "/assets/models/" + name + ".safetensors", &meta);
  // Exact pixels: cifar10-exact for a CIFAR-10 model (the JPEG copy is lossy).
  const std::string dataset = meta.count("advx.dataset") && meta["advx.dataset"] != "mnist" ? "cifar10-exact" : "mnist";
  const Dataset test = load_dataset(resolve_data_dir(get("data", "")), dataset, "test").head(200);
  const std::vector<int> pred = m.predict(test.images);
  std::vector<int> idx;
  for (int i = 0; i < test.size() && static_cast<int>(idx.size()) < k; ++i)
    if (pred[static_cast<size_t>(i)] == test.labels[static_cast<size_t>(i)]) idx.push_back(i);
  const std::int64_t per = test.images.sample_size();
  Shape s = test.images.shape;
  s[0] = k;
  Tensor x(s);
  Goal goal;
  for (int j = 0; j < k; ++j) {
    std::copy_n(test.images.ptr() + idx[static_cast<size_t>(j)] * per, per, x.ptr() + j * per);
    goal.labels.push_back(test.labels[static_cast<size_t>(idx[static_cast<size_t>(j)])]);
  }

  nlohmann::ordered_json j;
  j["model"] = name;
  j["dataset"] = dataset;
  j["images"] = idx;
  j["pixels"] = cfg.pixels, j["pop"] = cfg.pop, j["gens"] = cfg.gens, j["early_stop"] = false;
  j["threads"] = max_threads();
  Pipeline plain(m);  // no transforms: the same logits, no local evaluator
  Classifier& attacked = materialise ? static_cast<Classifier&>(plain) : m;
  j["evaluator"] = make_local_evaluator(attacked, x)->describe();
  j["load_start"] = load1();
  const int big = static_cast<int>(std::min<std::int64_t>(cfg.max_batch, static_cast<std::int64_t>(k) * cfg.pop));
  const double fwd_pop = forward_img_s(m, x.ptr(), cfg.pop, reps);
  const double fwd_big = forward_img_s(m, x.ptr(), big, reps);
  j["forward_batch"] = cfg.pop, j["forward_img_s"] = fwd_pop;
  j["forward_batch_big"] = big, j["forward_big_img_s"] = fwd_big;

  // One image at a time.
  std::vector<double> secs;
  std::int64_t evals = 0;
  int fooled = 0;
  for (int i = 0; i < k; ++i) {
    const double t0 = now_seconds();
    std::unique_ptr<AttackRun> run =
        start_pixel(attacked, cross_entropy_objective(), x.slice(i, 1), goal.slice(static_cast<size_t>(i), 1), cfg);
    while (!run->step()) {
    }
    secs.push_back(now_seconds() - t0);
    evals += run->result().queries;
    fooled += run->result().success[0];
  }
  double total = 0.0;
  for (double t : secs) total += t;
  std::vector<double> sorted = secs;
  std::sort(sorted.begin(), sorted.end());
  j["single_seconds"] = secs;
  j["single_seconds_per_image"] = total / k;
  j["single_seconds_median"] = sorted[sorted.size() / 2];
  j["evaluations_per_image"] = evals / k;
  j["single_eval_s"] = static_cast<double>(evals) / total;
  j["single_fraction_of_forward"] = static_cast<double>(evals) / total / fwd_pop;
  j["single_fooled"] = fooled;

  // All K images in one run.
  {
    const double t0 = now_seconds();
    std::unique_ptr<AttackRun> run = start_pixel(attacked, cross_entropy_objective(), x, goal, cfg);
    while (!run->step()) {
    }
    const double t = now_seconds() - t0;
    int f = 0;
    for (char ok : run->result().success) f += ok;
    j["batched_seconds_per_image"] = t / k;
    j["batched_eval_s"] = static_cast<double>(run->result().queries) / t;
    j["batched_fraction_of_forward"] = static_cast<double>(run->result().queries) / t / fwd_big;
    j["batched_fooled"] = f;
  }
  j["load_end"] = load1();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
