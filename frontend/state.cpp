#include "frontend/state.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/attacks/attack.h"
#include "engine/defences/defence.h"
#include "engine/error.h"
#include "engine/eval/sequence_eval.h"
#include "engine/seqattacks/seq_attack.h"
#include "engine/seqdefences/seq_defence.h"

namespace play {

const std::vector<std::string>& panel_names() {
  static const std::vector<std::string> names = {"input",      "prediction", "model",  "attack", "defence",
                                                 "robustness", "train",      "timing", "help",   "sequence",
                                                 "seqattack",  "seqdefence", "patch"};
  return names;
}

const std::vector<advx::ParamSpec>& all_params() {
  static const std::vector<advx::ParamSpec> all = [] {
    std::vector<advx::ParamSpec> out;
    auto add = [&](const std::vector<advx::ParamSpec>& table) {
      for (const advx::ParamSpec& p : table)
        if (!advx::find_param(out, p.key)) out.push_back(p);
    };
    for (const advx::AttackSpec& a : advx::attacks()) add(a.params);
    for (const advx::DefenceSpec& d : advx::defences()) add(d.params);
    return out;
  }();
  return all;
}

const std::vector<advx::ParamSpec>& seq_all_params() {
  static const std::vector<advx::ParamSpec> all = [] {
    std::vector<advx::ParamSpec> out;
    auto add = [&](const std::vector<advx::ParamSpec>& table) {
      for (const advx::ParamSpec& p : table)
        if (!advx::find_param(out, p.key)) out.push_back(p);
    };
    for (const advx::SeqAttackSpec& a : advx::seq_attacks()) add(a.params);
    for (const advx::SeqDefenceSpec& d : advx::seq_defences()) add(d.params);
    return out;
  }();
  return all;
}

const std::string& default_seq_dataset() {
  static const std::string name = [] {
    const advx::SequenceTask* t = advx::find_sequence_task("sms");
    return t ? t->alias : advx::sequence_tasks().front().alias;
  }();
  return name;
}

ViewState::ViewState()
    : attack(advx::attacks().front().name),
      params(advx::defaults(all_params())),
      seq_dataset(default_seq_dataset()),
      seq_params(advx::defaults(seq_all_params())) {}

namespace {

bool parse_float(const std::string& v, float& out) {
  if (v.empty() || v.find_first_not_of("0123456789+-.eE") != std::string::npos) return false;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !std::isfinite(d)) return false;
  out = static_cast<float>(d);
  return true;
}

bool parse_int(const std::string& v, long long& out) {
  if (v.empty() || v.find_first_not_of("0123456789+-") != std::string::npos) return false;
  char* end = nullptr;
  const long long i = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || end != v.c_str() + v.size()) return false;
  out = i;
  return true;
}

bool parse_bool(const std::string& v, bool& out) {
  if (v == "1" || v == "true" || v == "on") return out = true, true;
  if (v == "0" || v == "false" || v == "off") return out = false, true;
  return false;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The parameters the query shows: the attack's, then the defence's.
std::vector<const advx::ParamSpec*> shown_params(const ViewState& s) {
  std::vector<const advx::ParamSpec*> out;
  if (const advx::AttackSpec* a = advx::find_attack(s.attack))
    for (const advx::ParamSpec& p : a->params) out.push_back(&p);
  if (const advx::DefenceSpec* d = advx::find_defence(s.defence))
    for (const advx::ParamSpec& p : d->params) out.push_back(&p);
  return out;
}

// The sequence view's: the sequence attack's (when set), then the sequence defence's.
std::vector<const advx::ParamSpec*> seq_shown_params(const ViewState& s) {
  std::vector<const advx::ParamSpec*> out;
  if (const advx::SeqAttackSpec* a = advx::find_seq_attack(s.seq_attack))
    for (const advx::ParamSpec& p : a->params) out.push_back(&p);
  if (const advx::SeqDefenceSpec* d = advx::find_seq_defence(s.seq_defence))
    for (const advx::ParamSpec& p : d->params) out.push_back(&p);
  return out;
}

std::string encode_seq_query(const ViewState& s) {
  std::ostringstream q;
  q << "view=seq&dataset=" << s.seq_dataset;
  if (!s.seq_model.empty()) q << "&model=" << url_encode(s.seq_model);
  if (s.seq_test >= 0)
    q << "&test=" << s.seq_test;
  else
    q << "&text=" << url_encode(s.seq_text);
  const advx::SeqAttackSpec* a = advx::find_seq_attack(s.seq_attack);
  const std::vector<const advx::ParamSpec*> shown = seq_shown_params(s);
  if (a) {
    q << "&attack=" << a->name;
    for (const advx::ParamSpec& p : a->params)
      q << "&" << p.key << "=" << advx::format_value(p, s.seq_params.number(p.key));
  }
  q << "&seed=" << s.seed;
  if (const advx::SeqDefenceSpec* d = advx::find_seq_defence(s.seq_defence)) {
    q << "&defence=" << d->name;
    for (const advx::ParamSpec& p : d->params)
      if (!a || !advx::find_param(a->params, p.key))
        q << "&" << p.key << "=" << advx::format_value(p, s.seq_params.number(p.key));
    if (s.adaptive) q << "&adaptive=1";
  }
  if (!s.hide.empty()) {
    q << "&hide=";
    bool first = true;
    for (const std::string& h : s.hide) q << (first ? "" : ",") << h, first = false;
  }
  return q.str();
}

}  // namespace

std::string url_encode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || c == '/') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string base64url_encode(const std::vector<std::uint8_t>& b) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < b.size(); i += 3) {
    const unsigned v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == b.size()) {
    const unsigned v = b[i] << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
  } else if (i + 2 == b.size()) {
    const unsigned v = (b[i] << 16) | (b[i + 1] << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
  }
  return out;
}

bool base64url_decode(const std::string& text, std::vector<std::uint8_t>& out) {
  out.clear();
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    int v = -1;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-' || c == '+')
      v = 62;
    else if (c == '_' || c == '/')
      v = 63;
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

std::string encode_query(const ViewState& s) {
  if (s.seq()) return encode_seq_query(s);
  std::ostringstream q;
  q << "model=" << s.model << "&attack=" << s.attack;
  const std::vector<const advx::ParamSpec*> shown = shown_params(s);
  const advx::AttackSpec* a = advx::find_attack(s.attack);
  for (const advx::ParamSpec* p : shown)
    if (a && advx::find_param(a->params, p->key))
      q << "&" << p->key << "=" << advx::format_value(*p, s.params.number(p->key));
  q << "&target=" << s.target << "&seed=" << s.seed;
  if (s.defence != "none") {
    q << "&defence=" << s.defence;
    for (const advx::ParamSpec* p : shown)
      if (!a || !advx::find_param(a->params, p->key))
        q << "&" << p->key << "=" << advx::format_value(*p, s.params.number(p->key));
    if (s.adaptive) q << "&adaptive=1";
    if (!s.bpda) q << "&bpda=0";
  }
  if (!s.preprocess) q << "&preprocess=0";
  if (!s.patch.empty())
    q << "&patch=" << s.patch << "&patch_size=" << s.patch_size << "&patch_x=" << s.patch_x << "&patch_y=" << s.patch_y
      << "&patch_angle=" << s.patch_angle << "&patch_target=" << s.patch_target;
  if (s.test_index >= 0)
    q << "&test=" << s.test_index;
  else if (!s.image.empty())
    q << "&img=" << s.image;
  if (!s.hide.empty()) {
    q << "&hide=";
    bool first = true;
    for (const std::string& h : s.hide) q << (first ? "" : ",") << h, first = false;
  }
  return q.str();
}

std::vector<std::pair<std::string, std::string>> query_pairs(const std::string& q) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t pos = 0; pos < q.size();) {
    size_t amp = q.find('&', pos);
    if (amp == std::string::npos) amp = q.size();
    const std::string item = q.substr(pos, amp - pos);
    pos = amp + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    pairs.emplace_back(url_decode(item.substr(0, eq)), eq == std::string::npos ? "" : url_decode(item.substr(eq + 1)));
  }
  return pairs;
}

ViewState apply_query(const ViewState& base, const std::string& query, std::string* errors) {
  ViewState s = base;
  std::string q = query;
  if (!q.empty() && (q[0] == '#' || q[0] == '?')) q.erase(0, 1);
  auto bad = [&](const std::string& key, const std::string& value, const std::string& why) {
    if (errors) *errors += "'" + key + "=" + value + "': " + why + "\n";
  };
  const std::vector<std::pair<std::string, std::string>> pairs = query_pairs(q);
  // `view` first: it says what model, attack, defence, test and the parameter keys mean.
  for (const auto& [key, value] : pairs)
    if (key == "view") {
      if (value == "image" || value == "seq")
        s.view = value;
      else
        bad(key, value, "view is image or seq");
    }
  const bool seq = s.seq();
  for (const auto& [key, value] : pairs) {
    float f = 0.0f;
    long long i = 0;
    bool b = false;
    if (key == "view") {
      // done above
    } else if (key == "dataset") {
      if (const advx::SequenceTask* t = advx::find_sequence_task(value)) {
        s.seq_dataset = t->alias;
      } else {
        std::string known;
        for (const advx::SequenceTask& t2 : advx::sequence_tasks()) known += (known.empty() ? "" : ", ") + t2.alias;
        bad(key, value, "dataset is a sequence dataset: " + known + " (image datasets follow the model)");
      }
    } else if (key == "text") {
      if (value.size() <= kMaxSeqText)
        s.seq_text = value, s.seq_test = -1;
      else
        bad(key, value.substr(0, 16) + "...",
            "text is at most " + std::to_string(kMaxSeqText) + " bytes, got " + std::to_string(value.size()));
    } else if (key == "model") {
      (seq ? s.seq_model : s.model) = value;
    } else if (key == "attack") {
      if (!seq && advx::find_attack(value))
        s.attack = value;
      else if (seq && advx::find_seq_attack(value))
        s.seq_attack = value;
      else
        bad(key, value,
            seq ? "attack is one of " + advx::seq_attack_names() + " (view=seq)"
                : "attack is one of " + advx::attack_names());
    } else if (key == "defence") {
      if (value == "none" || (!seq && advx::find_defence(value)))
        (seq ? s.seq_defence : s.defence) = value;
      else if (seq && advx::find_seq_defence(value))
        s.seq_defence = value;
      else
        bad(key, value,
            seq ? "defence is none or one of " + advx::seq_defence_names() + " (view=seq)"
                : "defence is none or one of " + advx::defence_names());
    } else if (const advx::ParamSpec* p = advx::find_param(seq ? seq_all_params() : all_params(), key)) {
      try {
        (seq ? s.seq_params : s.params).set(key, advx::parse_value(*p, value, key));
      } catch (const advx::Error& e) {
        bad(key, value, e.what());
      }
    } else if (seq && advx::find_param(all_params(), key)) {
      bad(key, value,
          "'" + key +
              "' is a parameter of the image view; view=seq takes the sequence attacks' and "
              "defences' parameters");
    } else if (key == "target") {
      if (seq && value != "-1" && value != "none" && !value.empty())
        bad(key, value, "the sequence attacks are untargeted: they move a sequence out of its class");
      else if (value == "none" || value.empty())
        s.target = -1;
      else if (parse_int(value, i) && i >= -1 && i <= 999)
        s.target = static_cast<int>(i);
      else
        bad(key, value, "target is -1 (untargeted) or a class of the model");
    } else if (key == "seed") {
      if (parse_int(value, i) && i >= 0 && i <= 2147483647)
        s.seed = static_cast<std::uint64_t>(i);
      else
        bad(key, value, "seed is an integer in [0, 2147483647]");
    } else if (key == "adaptive" || key == "bpda" || key == "preprocess") {
      if (parse_bool(value, b))
        (key == "adaptive" ? s.adaptive : key == "bpda" ? s.bpda : s.preprocess) = b;
      else
        bad(key, value, key + " is 0 or 1");
    } else if (key == "test") {
      if (parse_int(value, i) && i >= -1 && i < 1000000) {
        if (seq) {
          s.seq_test = static_cast<int>(i);
          if (i >= 0) s.seq_text.clear();
        } else {
          s.test_index = static_cast<int>(i);
          if (i >= 0) s.image.clear();
        }
      } else {
        bad(key, value,
            seq ? "test is the index of a test sample of the dataset" : "test is the index of a test image");
      }
    } else if (key == "img") {
      std::vector<std::uint8_t> bytes;
      if (base64url_decode(value, bytes))
        s.image = value, s.test_index = -1;
      else
        bad(key, value.substr(0, 16), "img is a base64url PNG");
    } else if (key == "patch") {
      std::vector<std::uint8_t> bytes;
      if (value.empty() || value == "none")
        s.patch.clear();
      else if (base64url_decode(value, bytes))
        s.patch = value;
      else
        bad(key, value.substr(0, 16), "patch is a base64url PNG (or none)");
    } else if (key == "patch_size") {
      if (parse_float(value, f) && f >= 0.01f && f <= 0.5f)
        s.patch_size = f;
      else
        bad(key, value, "patch_size is a share of the image area in [0.01, 0.5] (0.1 = 10%)");
    } else if (key == "patch_x" || key == "patch_y") {
      if (parse_float(value, f) && f >= -1.0f && f <= 4096.0f)
        (key == "patch_x" ? s.patch_x : s.patch_y) = f;
      else
        bad(key, value, key + " is the patch centre in image pixels (-1: the image's centre)");
    } else if (key == "patch_angle") {
      if (parse_float(value, f) && f >= -180.0f && f <= 180.0f)
        s.patch_angle = f;
      else
        bad(key, value, "patch_angle is in [-180, 180] degrees");
    } else if (key == "patch_target") {
      if (parse_int(value, i) && i >= 0 && i <= 999)
        s.patch_target = static_cast<int>(i);
      else
        bad(key, value, "patch_target is a class of the model");
    } else if (key == "brush") {
      if (parse_float(value, f) && f >= 0.5f && f <= 20.0f)
        s.brush = f;
      else
        bad(key, value, "brush is a radius in [0.5, 20] canvas pixels");
    } else if (key == "hide") {
      s.hide.clear();
      size_t p0 = 0;
      while (p0 <= value.size()) {
        size_t c = value.find(',', p0);
        if (c == std::string::npos) c = value.size();
        const std::string name = value.substr(p0, c - p0);
        p0 = c + 1;
        if (name.empty()) continue;
        const auto& names = panel_names();
        if (std::find(names.begin(), names.end(), name) != names.end())
          s.hide.insert(name);
        else
          bad(key, name, "unknown panel");
      }
    } else {
      bad(key, value, "unknown key");
    }
  }
  return s;
}

namespace {

void put_param(nlohmann::ordered_json& j, const advx::ParamSpec& p, double v) {
  if (p.type == advx::ParamType::Bool)
    j[p.key] = v != 0.0;
  else if (p.type == advx::ParamType::Choice)
    j[p.key] = advx::format_value(p, v);
  else if (p.type == advx::ParamType::Int)
    j[p.key] = static_cast<long long>(v);
  else
    j[p.key] = v;
}

}  // namespace

std::string state_json(const ViewState& s) {
  nlohmann::ordered_json j;
  j["view"] = s.view;
  if (s.seq()) {
    j["dataset"] = s.seq_dataset;
    j["model"] = s.seq_model;
    j["test"] = s.seq_test;
    j["text"] = s.seq_text;
    j["attack"] = s.seq_attack;
    for (const advx::ParamSpec* p : seq_shown_params(s)) put_param(j, *p, s.seq_params.number(p->key));
    j["seed"] = s.seed;
    j["defence"] = s.seq_defence;
    j["adaptive"] = s.adaptive;
    j["hide"] = std::vector<std::string>(s.hide.begin(), s.hide.end());
    return j.dump();
  }
  j["model"] = s.model;
  j["attack"] = s.attack;
  for (const advx::ParamSpec* p : shown_params(s)) put_param(j, *p, s.params.number(p->key));
  j["target"] = s.target;
  j["seed"] = s.seed;
  j["defence"] = s.defence;
  j["adaptive"] = s.adaptive;
  j["bpda"] = s.bpda;
  j["test"] = s.test_index;
  j["img"] = s.image;
  j["preprocess"] = s.preprocess;
  j["brush"] = s.brush;
  j["patch"] = s.patch;
  j["patch_size"] = s.patch_size;
  j["patch_x"] = s.patch_x, j["patch_y"] = s.patch_y, j["patch_angle"] = s.patch_angle;
  j["patch_target"] = s.patch_target;
  j["hide"] = std::vector<std::string>(s.hide.begin(), s.hide.end());
  return j.dump();
}

}  // namespace play
