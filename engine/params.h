// Parameter tables: every attack and defence declares its parameters once (key, type, range,
// default, one-line help), and from that one table come the CLI flags and --help, the URL state
// keys, the playground's controls and the JS API's options (in the spirit of TensorFlow
// Playground's State.PROPS). Values are checked here, with one message format for every front end.
//
// Keys are lower case with '_' ("step_size"); the CLI spells them with '-' ("--step-size"), the URL
// and the JS API as they are.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace advx {

enum class ParamType { Float, Int, Bool, Choice };

struct ParamSpec {
  std::string key;
  ParamType type = ParamType::Float;
  double min = 0.0, max = 1.0;       // inclusive (Float, Int)
  double def = 0.0;                  // default (Bool: 0 or 1; Choice: index into choices)
  std::string help;                  // one line
  std::vector<std::string> choices;  // Choice only
  bool required = false;             // the CLI asks for it explicitly (a budget is never implied); UIs use def
  bool advanced = false;             // the playground shows it under "more"
  double ui_max = std::numeric_limits<double>::quiet_NaN();  // slider end, when narrower than max
};

// Builders for the tables (keep the tables short and readable).
ParamSpec float_param(std::string key, double min, double max, double def, std::string help);
ParamSpec int_param(std::string key, int min, int max, int def, std::string help);
ParamSpec bool_param(std::string key, bool def, std::string help);
ParamSpec choice_param(std::string key, std::vector<std::string> choices, int def, std::string help);

// Values by key. Every value is a double (Bool 0/1, Choice an index).
class ParamValues {
 public:
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  void set(const std::string& key, double v) { values_[key] = v; }
  void erase(const std::string& key) { values_.erase(key); }
  // Throws advx::Error if the key is missing (a table and its user disagree: a bug, said plainly).
  double number(const std::string& key) const;
  int integer(const std::string& key) const { return static_cast<int>(number(key)); }
  bool flag(const std::string& key) const { return number(key) != 0.0; }
  const std::map<std::string, double>& all() const { return values_; }
  bool operator==(const ParamValues& o) const { return values_ == o.values_; }
  bool operator!=(const ParamValues& o) const { return !(*this == o); }

 private:
  std::map<std::string, double> values_;
};

// The table's defaults.
ParamValues defaults(const std::vector<ParamSpec>& table);
// The spec of `key` in `table`, or nullptr.
const ParamSpec* find_param(const std::vector<ParamSpec>& table, const std::string& key);

// "a number in [0, 1]", "an integer in [1, 1000]", "0 or 1", "one of ce, margin".
std::string describe_range(const ParamSpec& s);
// Checks v against s: "" if valid, else why not, e.g. "eps must be >= 0 and <= 1, got -0.1".
// `name` is how the front end spells the key ("--eps", "eps", "opts.eps").
std::string check_value(const ParamSpec& s, double v, const std::string& name);
// Parses text ("0.3", "40", "1"/"true"/"on", a choice's name) and checks it; throws advx::Error
// with the same messages ("--eps must be a number in [0, 1], got 'abc'").
double parse_value(const ParamSpec& s, const std::string& text, const std::string& name);
// The value as the URL and the CLI write it ("0.3", "40", "1", "margin").
std::string format_value(const ParamSpec& s, double v);
// Throws advx::Error if any value of `v` is invalid for its spec in `table`, or a key is unknown.
void check_values(const std::vector<ParamSpec>& table, const ParamValues& v, const std::string& prefix);

// CLI spelling of a key: "step_size" -> "step-size".
std::string cli_name(const std::string& key);

}  // namespace advx
