// advx attacks, advx defences: every registered attack / defence, for images and for sequences, with
// its paper, summary and parameter table (key, range, default, help), read from the engine's
// registries (engine/attacks, engine/defences, engine/seqattacks, engine/seqdefences): nothing here
// names one. --json for scripts.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "engine/params.h"
#include "engine/seqattacks/seq_attack.h"
#include "engine/seqdefences/seq_defence.h"

namespace advx::cli {
namespace {

// One registry entry, whichever registry it comes from.
struct Entry {
  std::string name, domain, title, summary, citation, note;
  const std::vector<ParamSpec>* params;
};

// what: "attacks" or "defences"; option: the eval option that takes one ("attack", "defence").
void print(const std::vector<Entry>& entries, bool json, const char* what, const char* option) {
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const Entry& e : entries) {
      nlohmann::ordered_json j;
      j["name"] = e.name, j["domain"] = e.domain, j["title"] = e.title, j["summary"] = e.summary;
      j["citation"] = e.citation;
      if (!e.note.empty()) j["note"] = e.note;
      j["params"] = nlohmann::ordered_json::array();
      for (const ParamSpec& p : *e.params)
        j["params"].push_back({{"key", p.key},
                               {"option", "--" + cli_name(p.key)},
                               {"range", describe_range(p)},
                               {"default", format_value(p, p.def)},
                               {"required", p.required},
                               {"help", p.help}});
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%zu %s (advx eval --%s NAME; the options below go with it)\n", entries.size(), what, option);
  for (const Entry& e : entries) {
    std::printf("\n%s  [%s]  %s\n  %s\n  %s\n", e.name.c_str(), e.domain.c_str(), e.title.c_str(), e.summary.c_str(),
                e.citation.c_str());
    if (!e.note.empty()) std::printf("  note: %s\n", e.note.c_str());
    for (const ParamSpec& p : *e.params)
      std::printf("    --%-14s %s%s (default %s): %s\n", cli_name(p.key).c_str(), describe_range(p).c_str(),
                  p.required ? ", required" : "", format_value(p, p.def).c_str(), p.help.c_str());
  }
}

}  // namespace

void setup_attacks(Command& c) {
  c.flag("json", "a JSON array instead of text");
}

int run_attacks(const Command& a) {
  std::vector<Entry> list;
  for (const AttackSpec& s : attacks())
    list.push_back({s.name, "images", s.title, s.summary, s.citation, "", &s.params});
  for (const SeqAttackSpec& s : seq_attacks())
    list.push_back({s.name, "sequences", s.title, s.summary, s.citation, "", &s.params});
  print(list, a.has("json"), "attacks", "attack");
  return 0;
}

void setup_defences(Command& c) {
  c.flag("json", "a JSON array instead of text");
}

int run_defences(const Command& a) {
  std::vector<Entry> list;
  for (const DefenceSpec& s : defences())
    list.push_back({s.name, "images", s.title, s.summary, s.citation, s.note, &s.params});
  for (const SeqDefenceSpec& s : seq_defences())
    list.push_back({s.name, "sequences", s.title, s.summary, s.citation, "", &s.params});
  print(list, a.has("json"), "defences", "defence");
  return 0;
}

}  // namespace advx::cli
