// advx: the headless command line (train, eval, attack, bench, demo, info) on the same engine as the UI.
#include <cstdio>
#include <exception>
#include <string>

#include "cli/args.h"
#include "engine/error.h"

namespace {

const char* kUsage =
    "usage: advx <command> [options]\n"
    "  train  --model NAME --epochs N --seed S --out FILE [--dataset mnist|cifar10 --batch B --lr LR\n"
    "         --optimizer adam|sgd --lr-decay F --augment (random crop + flip, for cifar10) --limit N --data DIR]\n"
    "  eval   --model NAME|FILE [--dataset D (default: the model's)] --attack none|fgsm|pgd --eps E\n"
    "         [--steps K --step-size A --restarts R --random-start --early-stop] [--target T] [--n N] [--seed S]\n"
    "         [--json] [--save-adv FILE]\n"
    "  attack --model NAME|FILE --image PNG --attack fgsm|pgd --eps E --out PNG [--label Y] [--target T] [--steps K]\n"
    "  bench  [--json] [--reps R]\n"
    "  demo   [--model NAME|FILE] [--n N]\n"
    "  info   --model NAME|FILE\n"
    "  dump   --model NAME|FILE --out FILE [--n N --dataset D --pool-inputs]   (logits, input gradients and\n"
    "         max-pool inputs, for cross-checks)\n"
    "Data: --data DIR, else $ADVX_DATA, else ../shared/data.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  try {
    using namespace advx::cli;
    const std::set<std::string> flags = {"json",  "random-start", "no-random-start", "early-stop",
                                         "quiet", "augment",      "pool-inputs"};
    const Args a(argc, argv, 2, flags);
    if (cmd == "train") return cmd_train(a);
    if (cmd == "eval") return cmd_eval(a);
    if (cmd == "attack") return cmd_attack(a);
    if (cmd == "bench") return cmd_bench(a);
    if (cmd == "demo") return cmd_demo(a);
    if (cmd == "info") return cmd_info(a);
    if (cmd == "dump") return cmd_dump(a);
    std::fprintf(stderr, "advx: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const advx::Error& e) {
    std::fprintf(stderr, "advx %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "advx %s: internal error: %s\n", cmd.c_str(), e.what());
    return 3;
  }
}
