// advx demo: the bundled-model walk-through in the terminal; advx info: a model's card.
#include <cstdio>

#include "cli/command.h"
#include "engine/data/dataset.h"
#include "engine/eval/evaluate.h"
#include "engine/io/model_io.h"

namespace advx::cli {

void setup_demo(Command& c) {
  c.option("model", "a shipped model or a .safetensors file (default cnn)", "NAME|FILE");
  c.option("n", "the first N MNIST test images (default 1000)", "N");
  c.option("data", "the data folder (default $ADVX_DATA, else ../shared/data)", "DIR");
}

int run_demo(const Command& a) {
  const std::string path = model_path(a.str("model", "cnn"));
  const int n = a.integer("n", 1000, 1, 10000);
  std::map<std::string, std::string> meta;
  Sequential m = load_model(path, &meta);
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
      "\nFGSM: Goodfellow et al. 2015; PGD: Madry et al. 2018. Try: advx eval --model cnn --attack pgd --eps 0.3 "
      "--steps 40 --n 1000\n");
  return 0;
}

void setup_info(Command& c) {
  c.option("model", "a shipped model or a .safetensors file", "NAME|FILE");
}

int run_info(const Command& a) {
  const std::string path = model_path(a.str("model"));
  std::map<std::string, std::string> meta;
  Sequential m = load_model(path, &meta);
  std::printf("%s: architecture %s, input %s, %d classes, %lld parameters, %.2f MMAC per image\n", path.c_str(),
              m.arch.c_str(), shape_str(m.input_shape()).c_str(), m.num_classes(),
              static_cast<long long>(m.num_params()), m.macs_per_sample() / 1e6);
  for (const Param& p : m.params()) std::printf("  %-10s %s\n", p.name.c_str(), shape_str(p.value->shape).c_str());
  for (const auto& kv : meta) std::printf("  %s = %s\n", kv.first.c_str(), kv.second.c_str());
  return 0;
}

}  // namespace advx::cli
