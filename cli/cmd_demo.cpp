// advx demo: the bundled-model walk-through in the terminal.
#include <cstdio>

#include "cli/args.h"
#include "engine/data/dataset.h"
#include "engine/eval/evaluate.h"
#include "engine/io/model_io.h"

namespace advx::cli {

int cmd_demo(const Args& a) {
  a.allow({"model", "n", "data"});
  const std::string path = model_path(a.str("model", "cnn"));
  std::map<std::string, std::string> meta;
  Sequential m = load_model(path, &meta);
  const int n = a.integer("n", 1000);
  const Dataset test = load_dataset(resolve_data_dir(a.str("data")), "mnist", "test").head(n);
  std::printf("advx demo: model '%s' (%lld parameters, shipped test accuracy %s) on the first %d MNIST test images\n\n",
              m.arch.c_str(), static_cast<long long>(m.num_params()),
              meta.count("advx.test_acc") ? meta["advx.test_acc"].c_str() : "?", test.size());
  std::printf("%-22s %6s %10s %10s %10s %8s\n", "attack", "eps", "accuracy", "success", "L-inf max", "seconds");
  auto row = [&](const char* name, const std::optional<LinfAttack>& atk) {
    const EvalResult r = evaluate(m, test, atk, -1);
    std::printf("%-22s %6.2f %10.4f %10.4f %10.4f %8.2f\n", name, atk ? static_cast<double>(atk->eps) : 0.0, r.adv_acc,
                r.success_rate, r.linf_max, r.seconds);
    std::fflush(stdout);
  };
  row("clean", std::nullopt);
  for (float eps : {0.05f, 0.1f, 0.2f, 0.3f}) {
    LinfAttack f;
    f.eps = eps;
    f.step_size = eps;
    row("FGSM", f);
  }
  for (float eps : {0.05f, 0.1f, 0.2f, 0.3f}) {
    LinfAttack p;
    p.eps = eps, p.steps = 40, p.step_size = 0.01f, p.random_start = true, p.early_stop = true, p.seed = 1;
    row("PGD-40 (step 0.01)", p);
  }
  std::printf(
      "\nFGSM: Goodfellow et al. 2015; PGD: Madry et al. 2018. Try: advx eval --model cnn --attack pgd --eps 0.3 --n "
      "1000\n");
  return 0;
}

int cmd_info(const Args& a) {
  a.allow({"model"});
  const std::string path = model_path(a.str("model"));
  std::map<std::string, std::string> meta;
  Sequential m = load_model(path, &meta);
  std::printf("%s: architecture %s, %lld parameters, %.2f MMAC per image\n", path.c_str(), m.arch.c_str(),
              static_cast<long long>(m.num_params()), m.macs_per_sample() / 1e6);
  for (const Param& p : m.params()) std::printf("  %-10s %s\n", p.name.c_str(), shape_str(p.value->shape).c_str());
  for (const auto& kv : meta) std::printf("  %s = %s\n", kv.first.c_str(), kv.second.c_str());
  return 0;
}

}  // namespace advx::cli
