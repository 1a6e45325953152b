#include "cli/command.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "engine/io/file.h"
#include "engine/seqattacks/seq_attack.h"

namespace advx::cli {

Command::Command(CLI::App& parent, const std::string& name, const std::string& description) {
  app_ = parent.add_subcommand(name, description);
  app_->allow_extras();  // reported by check_unknown() with advx's message
}

void Command::option(const std::string& name, const std::string& help, const std::string& type) {
  app_->add_option("--" + name, text_[name], help)->type_name(type);
}

void Command::flag(const std::string& name, const std::string& help) {
  app_->add_flag("--" + name, flags_[name], help);
}

void Command::table_options(const std::vector<std::pair<std::string, const std::vector<ParamSpec>*>>& tables) {
  // key -> the owners that use it, in table order.
  std::vector<std::string> keys;
  std::map<std::string, std::string> users;
  for (const auto& [owner, table] : tables)
    for (const ParamSpec& p : *table) {
      if (!table_specs_.count(p.key)) {
        table_specs_[p.key] = &p;
        keys.push_back(p.key);
      }
      users[p.key] += (users[p.key].empty() ? "" : ", ") + owner;
    }
  for (const std::string& k : keys) {
    const ParamSpec& p = *table_specs_[k];
    std::string help = p.help + " [" + describe_range(p);
    if (p.type != ParamType::Bool) help += "; default " + format_value(p, p.def);
    help += "; " + users[k] + "]";
    if (p.type == ParamType::Bool)
      flag(cli_name(k), help);
    else
      option(cli_name(k), help, p.type == ParamType::Choice ? "NAME" : p.type == ParamType::Int ? "N" : "X");
  }
}

bool Command::chosen() const {
  return app_->parsed();
}

void Command::require_subcommand() {
  app_->require_subcommand(1, 1);
}

void Command::append_help(const std::string& name, const std::string& text) {
  CLI::Option* o = app_->get_option("--" + name);
  o->description(o->get_description() + text);
}

bool Command::has(const std::string& name) const {
  if (auto it = flags_.find(name); it != flags_.end()) return it->second;
  return app_->count("--" + name) > 0;
}

std::string Command::str(const std::string& name, const std::string& def) const {
  auto it = text_.find(name);
  return it == text_.end() || !has(name) ? def : it->second;
}

int Command::integer(const std::string& name, int def, int min, int max) const {
  if (!has(name)) return def;
  ParamSpec s = int_param(name, min, max, def, "");
  return static_cast<int>(parse_value(s, str(name), "--" + name));
}

double Command::number(const std::string& name, double def, double min, double max) const {
  if (!has(name)) return def;
  ParamSpec s = float_param(name, min, max, def, "");
  return parse_value(s, str(name), "--" + name);
}

ParamValues Command::params(const std::vector<ParamSpec>& table, const std::string& owner) const {
  ParamValues v = defaults(table);
  for (const ParamSpec& p : table) {
    const std::string name = cli_name(p.key);
    if (p.type == ParamType::Bool) {
      v.set(p.key, has(name) ? 1.0 : p.def);
    } else if (has(name)) {
      v.set(p.key, parse_value(p, str(name), "--" + name));
    } else {
      ADVX_REQUIRE(!p.required, owner + " needs --" + name + " (" + p.help + ", " + describe_range(p) + ")");
    }
  }
  return v;
}

void Command::reject_others(const std::vector<ParamSpec>& table, const std::string& owner,
                            const std::vector<std::pair<std::string, const std::vector<ParamSpec>*>>& others) const {
  for (const auto& [key, spec] : table_specs_) {
    const std::string name = cli_name(key);
    if (!has(name) || find_param(table, key)) continue;
    std::string users;  // who takes this option
    for (const auto& [other, t] : others)
      if (find_param(*t, key)) users += (users.empty() ? "" : ", ") + other;
    if (users.empty()) continue;  // another kind of table's option (an attack's, for a defence)
    std::string takes;
    for (const ParamSpec& q : table) takes += " --" + cli_name(q.key);
    throw Error("--" + name + " does not apply to " + owner + " (it is for " + users + ")" +
                (takes.empty() ? "" : "; " + owner + " takes:" + takes));
  }
}

void Command::check_unknown() const {
  const std::vector<std::string> rest = app_->remaining();
  if (rest.empty()) return;
  std::string list;
  for (const CLI::Option* o : app_->get_options())
    if (!o->get_lnames().empty() && o->get_lnames()[0] != "help") list += " --" + o->get_lnames()[0];
  for (const std::string& r : rest)
    if (r.rfind("--", 0) == 0)
      throw Error("unknown option " + r.substr(0, r.find('=')) + "; this command takes:" + list);
  throw Error("unexpected argument '" + rest[0] + "' (options look like --name value)");
}

std::string model_path(const std::string& s) {
  ADVX_REQUIRE(!s.empty(), "--model is required: a shipped model (see assets/models) or a .safetensors file");
  if (file_exists(s) || s.find(".safetensors") != std::string::npos) return s;
  // A shipped model by its name, as the playground names it: "cnn", "sequence/api_lstm",
  // "ensemble/regular_0"; a sequence model also by its bare name ("api_lstm").
  for (const std::string& dir : {std::string("assets/models"), std::string(ADVX_SOURCE_DIR) + "/assets/models"})
    for (const char* sub : {"", "sequence/"}) {
      std::string p = dir + "/" + sub + s + ".safetensors";
      if (file_exists(p)) return p;
    }
  if (s.find('/') != std::string::npos) return s;  // a path: the loader says what is wrong with it
  throw Error("model '" + s + "' is neither a file nor a shipped model in assets/models/ (" + ADVX_SOURCE_DIR +
              "/assets/models)");
}

std::string model_label(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

Tables attack_tables() {
  Tables t;
  for (const AttackSpec& a : attacks()) t.emplace_back(a.name, &a.params);
  return t;
}

Tables defence_tables() {
  Tables t;
  for (const DefenceSpec& d : defences()) t.emplace_back(d.name, &d.params);
  return t;
}

void attack_options(Command& c) {
  attack_only_options(c);
  std::string dlist = "none";
  for (const DefenceSpec& d : defences()) dlist += ", " + d.name;
  std::string dhelp = "a defence in front of the model: " + dlist;
  for (const DefenceSpec& d : defences()) dhelp += "\n  " + d.name + ": " + d.summary;
  c.option("defence", dhelp, "NAME");
  c.table_options(defence_tables());
  c.flag("adaptive", "also attack the defended model itself (through BPDA where a step is not differentiable)");
  c.flag("no-bpda", "with --adaptive: follow the defence's true gradient instead (zero for a threshold: masking)");
}

void attack_only_options(Command& c) {
  std::string list = "none";
  for (const AttackSpec& a : attacks()) list += ", " + a.name;
  std::string help = "the attack: " + list + " (default none: clean only)";
  for (const AttackSpec& a : attacks()) help += "\n  " + a.name + ": " + a.summary + " (" + a.citation + ")";
  c.option("attack", help, "NAME");
  c.table_options(attack_tables());
  c.option("target", "targeted attack towards this class (default: untargeted)", "T");
  c.option("seed", "seed of every random choice of the attack (default 0)", "S");
}

AttackChoice attack_choice(const Command& c) {
  AttackChoice a;
  const std::string name = c.str("attack", "none");
  if (name != "none") {
    a.spec = find_attack(name);
    ADVX_REQUIRE(
        a.spec, find_seq_attack(name)
                    ? "--attack " + name + " is a sequence attack: give a sequence model and --dataset sms or malbehavd"
                    : "unknown --attack '" + name + "'; use none, " + attack_names());
  }
  const std::string owner = a.spec ? "--attack " + a.spec->name : "a run without --attack";
  c.reject_others(a.spec ? a.spec->params : std::vector<ParamSpec>{}, owner, attack_tables());
  if (!a.spec) {
    ADVX_REQUIRE(!c.has("target") && !c.has("seed"), "--target and --seed need an --attack (" + attack_names() + ")");
    return a;
  }
  a.params = c.params(a.spec->params, owner);
  a.seed = static_cast<std::uint64_t>(c.integer("seed", 0, 0, 2147483647));
  return a;
}

DefenceChoice defence_choice(const Command& c) {
  DefenceChoice d;
  const std::string name = c.str("defence", "none");
  if (name != "none") {
    d.spec = find_defence(name);
    ADVX_REQUIRE(d.spec, "unknown --defence '" + name + "'; use none, " + defence_names());
  }
  const std::string owner = d.spec ? "--defence " + d.spec->name : "a run without --defence";
  c.reject_others(d.spec ? d.spec->params : std::vector<ParamSpec>{}, owner, defence_tables());
  d.adaptive = c.has("adaptive");
  d.bpda = !c.has("no-bpda");
  ADVX_REQUIRE(!d.adaptive || d.spec, "--adaptive attacks a defended model: give --defence (" + defence_names() + ")");
  ADVX_REQUIRE(d.bpda || d.adaptive, "--no-bpda changes the adaptive attacker: give --adaptive too");
  if (d.spec) d.params = c.params(d.spec->params, owner);
  return d;
}

std::string describe(const std::vector<ParamSpec>& table, const ParamValues& v) {
  std::string out;
  for (const ParamSpec& p : table)
    if (v.has(p.key)) out += (out.empty() ? "" : " ") + p.key + "=" + format_value(p, v.number(p.key));
  return out;
}

}  // namespace advx::cli
