// advx detect: the statistical test of Grosse et al. 2017 (arXiv:1702.06280): is a BATCH of inputs
// drawn from the clean distribution? The maximum mean discrepancy two-sample test with a permutation
// p-value (engine/detect/mmd.h), run over many batches to give rejection rates:
//   clean vs validation      batches of held-out clean test images (the even-indexed ones, in order)
//                            against as many random validation images (the odd-indexed ones): the
//                            false-rejection rate in use (about alpha: both halves come from one
//                            distribution, engine/defences/defence.h)
//   clean vs clean           the same batches against random other held-out images: the test's own
//                            calibration
//   adversarial vs validation  the batches attacked (--attack on --model), against validation images
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cli/command.h"
#include "engine/data/dataset.h"
#include "engine/defences/defence.h"
#include "engine/detect/mmd.h"
#include "engine/io/model_io.h"
#include "engine/rng.h"

namespace advx::cli {

void setup_detect(Command& c) {
  c.option("model", "the model the adversarials are crafted on (a shipped model or a .safetensors file)", "NAME|FILE");
  attack_only_options(c);
  c.option("batch-size", "inputs per tested batch, and as many reference images (default 50)", "M");
  c.option("batches", "batches tested (default 40; batches x batch-size <= the 5000 held-out test images)", "B");
  c.option("permutations", "permutations per test for the p-value (default 1000)", "P");
  c.option("alpha", "significance level: a batch is rejected as not clean when p < alpha (default 0.05)", "A");
  c.option("sigma", "RBF kernel bandwidth in pixel units (default 0: the median heuristic per test)", "S");
  c.option("dataset", "test set: the model's own (from its metadata; mnist if none recorded)", "NAME");
  c.flag("json", "one JSON object: rejection rates and median p-values");
  c.option("data", "the data folder (default $ADVX_DATA, else ../shared/data)", "DIR");
}

namespace {

// m distinct indices from [lo, hi) avoiding [skip_lo, skip_hi), by a partial Fisher-Yates shuffle.
Tensor draw(const Tensor& images, int lo, int hi, int skip_lo, int skip_hi, int m, Rng& rng, std::vector<int>& pool) {
  pool.clear();
  for (int i = lo; i < hi; ++i)
    if (i < skip_lo || i >= skip_hi) pool.push_back(i);
  Shape s = images.shape;
  s[0] = m;
  Tensor out(s);
  const std::int64_t per = images.sample_size();
  for (int k = 0; k < m; ++k) {
    const auto j =
        static_cast<std::size_t>(k) + static_cast<std::size_t>(rng.below(pool.size() - static_cast<std::size_t>(k)));
    std::swap(pool[static_cast<std::size_t>(k)], pool[j]);
    std::copy_n(images.ptr() + static_cast<std::int64_t>(pool[static_cast<std::size_t>(k)]) * per, per,
                out.ptr() + static_cast<std::int64_t>(k) * per);
  }
  return out;
}

}  // namespace

int run_detect(const Command& a) {
  const std::string path = model_path(a.str("model"));
  const AttackChoice atk = attack_choice(a);
  const int m = a.integer("batch-size", 50, 2, 2500);
  const int batches = a.integer("batches", 40, 1, 5000);
  const int perms = a.integer("permutations", 1000, 1, 1000000);
  const double alpha = a.number("alpha", 0.05, 1e-6, 0.5);
  const double sigma = a.number("sigma", 0.0, 0.0, 1000.0);
  std::map<std::string, std::string> meta;
  Sequential model = load_model(path, &meta);
  const std::string dataset = a.str("dataset", meta.count("advx.dataset") ? meta["advx.dataset"] : "mnist");
  const Dataset all = load_dataset(resolve_data_dir(a.str("data")), dataset, "test");
  const Dataset test = held_out_split(all), val = validation_split(all);
  ADVX_REQUIRE(static_cast<long>(batches) * m <= test.size(),
               "--batches x --batch-size must be <= " + std::to_string(test.size()) +
                   " (the held-out, even-indexed test images are split into the batches), got " +
                   std::to_string(batches) + " x " + std::to_string(m));
  const std::uint64_t seed = atk.seed;
  Rng rng(seed ^ 0x6A09E667F3BCC909ull);
  MmdRates cv, cc, av;
  std::vector<int> pool;
  const auto t0 = std::chrono::steady_clock::now();
  for (int b = 0; b < batches; ++b) {
    const int lo = b * m;
    const Tensor clean = test.images.slice(lo, m);
    const std::uint64_t s = seed + static_cast<std::uint64_t>(b) * 7919u;
    cv.p.push_back(mmd_test(clean, draw(val.images, 0, val.size(), 0, 0, m, rng, pool), perms, s, sigma).p_value);
    cc.p.push_back(
        mmd_test(clean, draw(test.images, 0, test.size(), lo, lo + m, m, rng, pool), perms, s + 1, sigma).p_value);
    if (atk.spec) {
      const std::vector<int> labels(test.labels.begin() + lo, test.labels.begin() + lo + m);
      const AttackResult r = run_attack(
          *atk.spec, AttackInput{model, cross_entropy_objective(), clean, Goal{labels, {}}, atk.params, seed});
      av.p.push_back(mmd_test(r.adv, draw(val.images, 0, val.size(), 0, 0, m, rng, pool), perms, s + 2, sigma).p_value);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (a.has("json")) {
    nlohmann::ordered_json j;
    j["model"] = model_label(path);  // as given: the file's stem
    j["arch"] = model.arch;
    j["dataset"] = dataset;
    j["attack"] = atk.spec ? atk.spec->name : "none";
    if (atk.spec) j["attack_params"] = describe(atk.spec->params, atk.params);
    j["batch_size"] = m;
    j["batches"] = batches;
    j["permutations"] = perms;
    j["alpha"] = alpha;
    j["seed"] = seed;
    j["clean_vs_validation_rejected"] = cv.rejected(alpha);
    j["clean_vs_validation_median_p"] = cv.median();
    j["clean_vs_clean_rejected"] = cc.rejected(alpha);
    j["clean_vs_clean_median_p"] = cc.median();
    if (atk.spec) {
      j["adversarial_rejected"] = av.rejected(alpha);
      j["adversarial_median_p"] = av.median();
      j["adversarial_max_p"] = av.max();
    }
    j["seconds"] = secs;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("MMD two-sample test (RBF kernel, %s, %d permutations), %d batches of %d %s test images, alpha %g\n",
              sigma > 0.0 ? ("sigma " + std::to_string(sigma)).c_str() : "median-heuristic bandwidth", perms, batches,
              m, dataset.c_str(), alpha);
  std::printf("  clean vs validation        rejected %.3f  median p %.3f  (even test images vs odd ones)\n",
              cv.rejected(alpha), cv.median());
  std::printf("  clean vs clean             rejected %.3f  median p %.3f  (even test images vs other even ones)\n",
              cc.rejected(alpha), cc.median());
  if (atk.spec)
    std::printf("  %s %s on %s vs validation  rejected %.3f  median p %.4f\n", atk.spec->name.c_str(),
                describe(atk.spec->params, atk.params).c_str(), model.arch.c_str(), av.rejected(alpha), av.median());
  std::printf("  seconds                    %.2f\n", secs);
  return 0;
}

}  // namespace advx::cli
