#include "cli/args.h"

#include <cmath>
#include <cstdlib>

#include "engine/error.h"
#include "engine/io/file.h"

namespace advx::cli {

Args::Args(int argc, char** argv, int first, const std::set<std::string>& flags) {
  for (int i = first; i < argc; ++i) {
    std::string k = argv[i];
    ADVX_REQUIRE(k.rfind("--", 0) == 0, "unexpected argument '" + k + "' (options look like --name value)");
    k = k.substr(2);
    if (auto eq = k.find('='); eq != std::string::npos) {
      values_[k.substr(0, eq)] = k.substr(eq + 1);
    } else if (flags.count(k)) {
      values_[k] = "1";
    } else {
      ADVX_REQUIRE(i + 1 < argc, "option --" + k + " needs a value");
      values_[k] = argv[++i];
    }
  }
}

std::string Args::str(const std::string& key, const std::string& def) const {
  auto it = values_.find(key);
  return it == values_.end() ? def : it->second;
}

int Args::integer(const std::string& key, int def) const {
  if (!has(key)) return def;
  const std::string v = str(key);
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  ADVX_REQUIRE(end && *end == 0 && !v.empty() && x >= -2147483647L && x <= 2147483647L,
               "--" + key + " must be an integer, got '" + v + "'");
  return static_cast<int>(x);
}

double Args::number(const std::string& key, double def) const {
  if (!has(key)) return def;
  const std::string v = str(key);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  ADVX_REQUIRE(end && *end == 0 && !v.empty(), "--" + key + " must be a number, got '" + v + "'");
  ADVX_REQUIRE(std::isfinite(x), "--" + key + " must be finite, got '" + v + "'");
  return x;
}

void Args::allow(const std::set<std::string>& known) const {
  for (const auto& kv : values_)
    if (!known.count(kv.first)) {
      std::string list;
      for (const std::string& k : known) list += " --" + k;
      throw Error("unknown option --" + kv.first + "; this command takes:" + list);
    }
}

std::string model_path(const std::string& s) {
  ADVX_REQUIRE(!s.empty(),
               "--model is required: a shipped model (softmax, fc500, cnn, small, cifar_lenet) or a .safetensors file");
  if (file_exists(s) || s.find('/') != std::string::npos || s.find(".safetensors") != std::string::npos) return s;
  for (const std::string& dir : {std::string("assets/models"), std::string(ADVX_SOURCE_DIR) + "/assets/models"}) {
    std::string p = dir + "/" + s + ".safetensors";
    if (file_exists(p)) return p;
  }
  throw Error("model '" + s +
              "' is neither a file nor a shipped model in assets/models/ (softmax, fc500, cnn, small, cifar_lenet)");
}

std::string dataset_arg(const Args& a, const std::map<std::string, std::string>& model_metadata) {
  auto it = model_metadata.find("advx.dataset");
  return a.str("dataset", it != model_metadata.end() && !it->second.empty() ? it->second : "mnist");
}

}  // namespace advx::cli
