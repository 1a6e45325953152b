// A subcommand's options on top of CLI11 (Debian's libcli11-dev): CLI11 parses, spells --help and
// catches unknown options; this layer keeps every value as text and converts it with advx's own
// messages ("--eps must be a number in [0, 1], got 'abc'"), and adds the options of attacks and
// defences straight from their parameter tables (engine/params.h), so no attack is spelled here.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/attacks/attack.h"
#include "engine/defences/defence.h"
#include "engine/error.h"

// Only command.cpp and main.cpp include CLI11: its headers define global validator objects whose
// construction every including file compiled again (8-10 s per file).
namespace CLI {
class App;
}

namespace advx::cli {

class Command {
 public:
  Command(CLI::App& parent, const std::string& name, const std::string& description);

  // --name VALUE (kept as text). `type` is the placeholder in --help ("N", "FILE", ...).
  void option(const std::string& name, const std::string& help, const std::string& type = "X");
  void flag(const std::string& name, const std::string& help);
  // One option per distinct key of the tables' parameters, help naming who uses it. Bool
  // parameters are flags (--early-stop); the others take a value.
  void table_options(const std::vector<std::pair<std::string, const std::vector<ParamSpec>*>>& tables);

  bool has(const std::string& name) const;
  std::string str(const std::string& name, const std::string& def = "") const;
  // Integer / number with a range; clear errors on text that is not one, or out of range.
  int integer(const std::string& name, int def, int min, int max) const;
  double number(const std::string& name, double def, double min, double max) const;
  // The values of `table`'s parameters (defaults where not given); errors for values out of range
  // and for required ones not given ("--attack fgsm needs --eps (...)"). `owner` names the table's
  // owner in messages ("--attack fgsm").
  ParamValues params(const std::vector<ParamSpec>& table, const std::string& owner) const;
  // Errors if an option of the tables in `others` was given that `table` does not take.
  void reject_others(const std::vector<ParamSpec>& table, const std::string& owner,
                     const std::vector<std::pair<std::string, const std::vector<ParamSpec>*>>& others) const;
  // Throws "unknown option --x; this command takes: ..." for anything CLI11 left over.
  void check_unknown() const;
  bool chosen() const;        // this subcommand was given
  void require_subcommand();  // exactly one of this command's own subcommands must be given
  // Appends text to the --help line of option --name (which must exist).
  void append_help(const std::string& name, const std::string& text);
  CLI::App* app() { return app_; }

 private:
  CLI::App* app_;
  std::map<std::string, std::string> text_;  // option name (no dashes) -> value
  std::map<std::string, bool> flags_;
  std::map<std::string, const ParamSpec*> table_specs_;  // key -> a spec of that key
};

// A shipped model name ("cnn") or a path to a .safetensors file.
std::string model_path(const std::string& name_or_path);
// The name a model goes by in reports and patch files: its file name without the extension ("cnn",
// "cifar_lenet_adam", "api_lstm"), so two models of one architecture stay apart.
std::string model_label(const std::string& path);

// The parameter tables of every registered attack / defence, with their owners' names (for
// Command::table_options and reject_others).
using Tables = std::vector<std::pair<std::string, const std::vector<ParamSpec>*>>;
Tables attack_tables();
Tables defence_tables();
Tables seq_attack_tables();   // the sequence attacks' (engine/seqattacks)
Tables seq_defence_tables();  // the sequence defences' (engine/seqdefences)

// advx eval on sequence datasets (seq_eval.cpp): the sequence attacks' options, whether a run is
// one (the engine decides, from --dataset or the model file), and the run.
void sequence_eval_options(Command& c);
bool sequence_eval_applies(const Command& c);
int run_sequence_eval(const Command& c);

// --attack NAME and its parameters (engine/attacks); --defence NAME, its parameters, --adaptive,
// --no-bpda. Shared by eval and attack.
void attack_options(Command& c);
// --attack NAME, its parameters, --target, --seed: the attack part of attack_options.
void attack_only_options(Command& c);
struct AttackChoice {
  const AttackSpec* spec = nullptr;  // nullptr: --attack none
  ParamValues params;
  std::uint64_t seed = 0;
};
AttackChoice attack_choice(const Command& c);
struct DefenceChoice {
  const DefenceSpec* spec = nullptr;  // nullptr: --defence none
  ParamValues params;
  bool adaptive = false, bpda = true;
};
DefenceChoice defence_choice(const Command& c);
// "eps=0.3 steps=40" for the text reports.
std::string describe(const std::vector<ParamSpec>& table, const ParamValues& v);

struct CommandDef {
  const char* name;
  const char* description;
  void (*setup)(Command&);
  int (*run)(const Command&);
};
// Every subcommand, in the order of `advx --help` (main.cpp).
const std::vector<CommandDef>& commands();

}  // namespace advx::cli
