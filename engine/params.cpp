#include "engine/params.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/error.h"

namespace advx {

namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

ParamSpec float_param(std::string key, double min, double max, double def, std::string help) {
  ParamSpec s;
  s.key = std::move(key), s.type = ParamType::Float, s.min = min, s.max = max, s.def = def, s.help = std::move(help);
  return s;
}

ParamSpec int_param(std::string key, int min, int max, int def, std::string help) {
  ParamSpec s;
  s.key = std::move(key), s.type = ParamType::Int, s.min = min, s.max = max, s.def = def, s.help = std::move(help);
  return s;
}

ParamSpec bool_param(std::string key, bool def, std::string help) {
  ParamSpec s;
  s.key = std::move(key), s.type = ParamType::Bool, s.min = 0, s.max = 1, s.def = def ? 1 : 0;
  s.help = std::move(help);
  return s;
}

ParamSpec choice_param(std::string key, std::vector<std::string> choices, int def, std::string help) {
  ParamSpec s;
  s.key = std::move(key), s.type = ParamType::Choice, s.choices = std::move(choices);
  s.min = 0, s.max = static_cast<double>(s.choices.size()) - 1, s.def = def, s.help = std::move(help);
  return s;
}

double ParamValues::number(const std::string& key) const {
  auto it = values_.find(key);
  ADVX_REQUIRE(it != values_.end(), "internal: parameter '" + key + "' has no value (its table and its user disagree)");
  return it->second;
}

ParamValues defaults(const std::vector<ParamSpec>& table) {
  ParamValues v;
  for (const ParamSpec& s : table) v.set(s.key, s.def);
  return v;
}

const ParamSpec* find_param(const std::vector<ParamSpec>& table, const std::string& key) {
  for (const ParamSpec& s : table)
    if (s.key == key) return &s;
  return nullptr;
}

std::string describe_range(const ParamSpec& s) {
  switch (s.type) {
    case ParamType::Float:
      return "a number in [" + num(s.min) + ", " + num(s.max) + "]";
    case ParamType::Int:
      return "an integer in [" + num(s.min) + ", " + num(s.max) + "]";
    case ParamType::Bool:
      return "0 or 1";
    case ParamType::Choice: {
      std::string out = "one of ";
      for (std::size_t i = 0; i < s.choices.size(); ++i) out += (i ? ", " : "") + s.choices[i];
      return out;
    }
  }
  return "?";
}

std::string check_value(const ParamSpec& s, double v, const std::string& name) {
  if (!std::isfinite(v)) return name + " must be " + describe_range(s) + ", got " + num(v);
  if ((s.type == ParamType::Int || s.type == ParamType::Choice || s.type == ParamType::Bool) && v != std::floor(v))
    return name + " must be " + describe_range(s) + ", got " + num(v);
  if (v < s.min || v > s.max) {
    if (s.type == ParamType::Choice || s.type == ParamType::Bool)
      return name + " must be " + describe_range(s) + ", got " + num(v);
    return name + " must be >= " + num(s.min) + " and <= " + num(s.max) + ", got " + num(v);
  }
  return "";
}

double parse_value(const ParamSpec& s, const std::string& text, const std::string& name) {
  double v = 0.0;
  if (s.type == ParamType::Bool) {
    if (text == "1" || text == "true" || text == "on" || text == "yes") return 1.0;
    if (text == "0" || text == "false" || text == "off" || text == "no") return 0.0;
    throw Error(name + " must be 0 or 1, got '" + text + "'");
  }
  if (s.type == ParamType::Choice) {
    for (std::size_t i = 0; i < s.choices.size(); ++i)
      if (s.choices[i] == text) return static_cast<double>(i);
    throw Error(name + " must be " + describe_range(s) + ", got '" + text + "'");
  }
  // Plain decimal numbers only: no hex, inf or nan (strtod would take them).
  bool ok = !text.empty() && text.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (ok) {
    char* end = nullptr;
    v = std::strtod(text.c_str(), &end);
    ok = end == text.c_str() + text.size() && std::isfinite(v);
  }
  if (!ok)
    throw Error(name + " must be " + std::string(s.type == ParamType::Int ? "an integer" : "a number") + " in [" +
                num(s.min) + ", " + num(s.max) + "], got '" + text + "'");
  const std::string why = check_value(s, v, name);
  if (!why.empty()) throw Error(why);
  return v;
}

std::string format_value(const ParamSpec& s, double v) {
  switch (s.type) {
    case ParamType::Bool:
      return v != 0.0 ? "1" : "0";
    case ParamType::Choice: {
      const auto i = static_cast<std::size_t>(v);
      return i < s.choices.size() ? s.choices[i] : "?";
    }
    case ParamType::Int:
      return num(std::round(v));
    case ParamType::Float: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g", v);
      return buf;
    }
  }
  return "?";
}

void check_values(const std::vector<ParamSpec>& table, const ParamValues& v, const std::string& prefix) {
  for (const auto& [key, value] : v.all()) {
    const ParamSpec* s = find_param(table, key);
    ADVX_REQUIRE(s, "unknown parameter '" + prefix + key + "'");
    const std::string why = check_value(*s, value, prefix + key);
    ADVX_REQUIRE(why.empty(), why);
  }
}

std::string cli_name(const std::string& key) {
  std::string out = key;
  for (char& c : out)
    if (c == '_') c = '-';
  return out;
}

}  // namespace advx
