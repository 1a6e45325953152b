// Minimal "--key value" / "--flag" argument parsing for the advx subcommands.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/attacks/attack.h"
#include "engine/error.h"

namespace advx::cli {

class Args {
 public:
  // `flags` are options that take no value.
  Args(int argc, char** argv, int first, const std::set<std::string>& flags);
  std::string str(const std::string& key, const std::string& def = "") const;
  int integer(const std::string& key, int def) const;
  double number(const std::string& key, double def) const;
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  // Throws advx::Error naming the first option not in `known`.
  void allow(const std::set<std::string>& known) const;

 private:
  std::map<std::string, std::string> values_;
};

// A shipped model name ("cnn") or a path to a .safetensors file.
std::string model_path(const std::string& name_or_path);

// --dataset if given, else the dataset the model was trained on (its file's "advx.dataset"), else mnist.
std::string dataset_arg(const Args& a, const std::map<std::string, std::string>& model_metadata);

// --attack fgsm|bim|pgd with --eps, --steps, ...; nullopt for --attack none.
std::optional<LinfAttack> attack_from_args(const Args& a);

int cmd_train(const Args& a);
int cmd_eval(const Args& a);
int cmd_attack(const Args& a);
int cmd_bench(const Args& a);
int cmd_demo(const Args& a);
int cmd_info(const Args& a);
int cmd_dump(const Args& a);

}  // namespace advx::cli
