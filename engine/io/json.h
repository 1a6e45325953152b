// A small JSON reader (enough for safetensors headers and URL/CLI state) and a string escaper.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace advx {

struct Json {
  enum Type { Null, Bool, Number, String, Array, Object } type = Null;
  bool b = false;
  double num = 0.0;
  std::string str;
  std::vector<Json> arr;
  std::map<std::string, Json> obj;

  const Json* find(const std::string& key) const;
};

// Throws advx::Error("<source>: invalid JSON at byte N: ...") on malformed input.
Json parse_json(const std::string& text, const std::string& source);
// "text" with quotes, backslashes and control characters escaped.
std::string json_quote(const std::string& s);

}  // namespace advx
