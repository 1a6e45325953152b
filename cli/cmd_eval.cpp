#include <cstdio>

#include "cli/args.h"
#include "engine/data/dataset.h"
#include "engine/eval/evaluate.h"
#include "engine/io/file.h"
#include "engine/io/idx.h"
#include "engine/io/model_io.h"

namespace advx::cli {

std::optional<LinfAttack> attack_from_args(const Args& a) {
  const std::string kind = a.str("attack", "none");
  if (kind == "none") return std::nullopt;
  ADVX_REQUIRE(kind == "fgsm" || kind == "pgd" || kind == "bim",
               "unknown --attack '" + kind + "'; use none, fgsm, bim or pgd");
  ADVX_REQUIRE(a.has("eps"),
               "--attack " + kind + " needs --eps (L-infinity budget on the [0, 1] pixel scale, e.g. 0.3)");
  LinfAttack c;
  c.eps = static_cast<float>(a.number("eps", 0.3));
  ADVX_REQUIRE(c.eps >= 0.0f, "--eps must be >= 0, got " + a.str("eps"));
  c.seed = static_cast<std::uint64_t>(a.integer("seed", 0));
  if (kind == "fgsm") {
    ADVX_REQUIRE(!a.has("steps") || a.integer("steps", 1) == 1,
                 "fgsm is one step; use --attack bim or pgd for --steps");
    c.steps = 1;
    c.step_size = c.eps;
  } else {
    c.steps = a.integer("steps", 40);
    c.step_size = static_cast<float>(a.number("step-size", -1.0));
    if (a.has("step-size")) ADVX_REQUIRE(c.step_size > 0.0f, "--step-size must be > 0");
    c.restarts = a.integer("restarts", 1);
    c.random_start = kind == "pgd" ? !a.has("no-random-start") : a.has("random-start");
    c.early_stop = a.has("early-stop");
  }
  return c;
}

int cmd_eval(const Args& a) {
  a.allow({"model", "dataset", "attack", "eps", "steps", "step-size", "restarts", "random-start", "early-stop",
           "target", "n", "seed", "json", "save-adv", "data", "batch", "no-random-start"});
  const std::string path = model_path(a.str("model"));
  std::map<std::string, std::string> meta;
  Sequential m = load_model(path, &meta);
  const std::string dataset = dataset_arg(a, meta);
  const std::optional<LinfAttack> attack = attack_from_args(a);
  const int target = a.integer("target", -1);
  ADVX_REQUIRE(target >= -1 && target < m.num_classes,
               "--target must be a class 0.." + std::to_string(m.num_classes - 1));
  const Dataset test = load_dataset(resolve_data_dir(a.str("data")), dataset, "test");
  const int n = a.integer("n", test.size());
  ADVX_REQUIRE(n >= 1 && n <= test.size(), "--n must be in 1.." + std::to_string(test.size()));
  const EvalResult r = evaluate(m, test.head(n), attack, target, a.integer("batch", 256));
  if (a.has("save-adv")) {
    // MNIST's layout: N x 28 x 28 for grey images (N x C x H x W otherwise), float32 (type 0x0D).
    Tensor adv = r.adv;
    if (adv.rank() == 4 && adv.dim(1) == 1) adv.shape = {adv.dim(0), adv.dim(2), adv.dim(3)};
    write_file(a.str("save-adv"), idx_encode_f32(adv));
  }
  if (a.has("json")) {
    std::printf(
        "{\"model\": \"%s\", \"attack\": \"%s\", \"eps\": %g, \"target\": %d, \"n\": %d, \"clean_acc\": %.6f, "
        "\"adv_acc\": %.6f, \"success_rate\": %.6f, \"attacked\": %d, \"linf_mean\": %.6f, \"linf_max\": %.6f, "
        "\"gradient_calls\": %lld, \"seconds\": %.3f}\n",
        m.arch.c_str(), a.str("attack", "none").c_str(), attack ? static_cast<double>(attack->eps) : 0.0, target, r.n,
        r.clean_acc, r.adv_acc, r.success_rate, r.attacked, r.linf_mean, r.linf_max,
        static_cast<long long>(r.gradient_calls), r.seconds);
  } else {
    std::printf("model %s (%s), %d %s test images, attack %s", m.arch.c_str(), path.c_str(), r.n, dataset.c_str(),
                a.str("attack", "none").c_str());
    if (attack)
      std::printf(" eps %g steps %d%s", static_cast<double>(attack->eps), attack->steps,
                  target >= 0 ? (" target " + std::to_string(target)).c_str() : " untargeted");
    std::printf(
        "\n  clean accuracy        %.4f\n  adversarial accuracy  %.4f\n  attack success rate   %.4f (of %d attacked)\n"
        "  L-inf mean / max      %.4f / %.4f\n  seconds               %.2f\n",
        r.clean_acc, r.adv_acc, r.success_rate, r.attacked, r.linf_mean, r.linf_max, r.seconds);
  }
  return 0;
}

}  // namespace advx::cli
