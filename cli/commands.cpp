// The list of subcommands (each defined in its cmd_*.cpp).
#include "cli/command.h"

namespace advx::cli {

void setup_train(Command&);
int run_train(const Command&);
void setup_eval(Command&);
int run_eval(const Command&);
void setup_attack(Command&);
int run_attack(const Command&);
void setup_bench(Command&);
int run_bench(const Command&);
void setup_demo(Command&);
int run_demo(const Command&);
void setup_info(Command&);
int run_info(const Command&);
void setup_dump(Command&);
int run_dump(const Command&);
void setup_patch(Command&);
int run_patch(const Command&);
void setup_detect(Command&);
int run_detect(const Command&);
void setup_attacks(Command&);
int run_attacks(const Command&);
void setup_defences(Command&);
int run_defences(const Command&);

const std::vector<CommandDef>& commands() {
  static const std::vector<CommandDef> list = {
      {"train", "train a model on a dataset and save it as safetensors", setup_train, run_train},
      {"eval", "accuracy of a model (optionally defended) under an attack, over the test set", setup_eval, run_eval},
      {"attack", "attack one image (PNG) and write the adversarial PNG", setup_attack, run_attack},
      {"bench", "engine throughput next to the same run's GEMM rate", setup_bench, run_bench},
      {"demo", "clean, FGSM and PGD-40 accuracy of a shipped model, as a table", setup_demo, run_demo},
      {"info", "a model's layers, shapes, recipe and accuracy", setup_info, run_info},
      {"dump", "logits and input gradients on the first N test images (for cross-checks)", setup_dump, run_dump},
      {"patch", "train a universal targeted adversarial patch, or score one on test images", setup_patch, run_patch},
      {"detect", "MMD two-sample test: are batches of (adversarial) inputs told apart from clean data?", setup_detect,
       run_detect},
      {"attacks", "every attack (images and sequences): paper, summary, options", setup_attacks, run_attacks},
      {"defences", "every defence (images and sequences): paper, summary, options, what to expect", setup_defences,
       run_defences},
  };
  return list;
}

}  // namespace advx::cli
