#include "engine/io/json.h"

#include <cstdio>
#include <cstdlib>

#include "engine/error.h"

namespace advx {
namespace {

struct Parser {
  const std::string& s;
  const std::string& source;
  size_t i = 0;
  int depth = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(source + ": invalid JSON at byte " + std::to_string(i) + ": " + what);
  }
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  std::string string_body() {
    expect('"');
    std::string out;
    while (true) {
      if (i >= s.size()) fail("unterminated string");
      const char c = s[i++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) fail("unterminated escape");
      const char e = s[i++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (i + 4 > s.size()) fail("short \\u escape");
          const unsigned long cp = std::strtoul(s.substr(i, 4).c_str(), nullptr, 16);
          i += 4;
          // UTF-8 encode (basic multilingual plane only; surrogates are passed through as-is).
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }
  Json value() {
    if (++depth > 64) fail("nesting deeper than 64");
    ws();
    if (i >= s.size()) fail("unexpected end");
    Json v;
    const char c = s[i];
    if (c == '{') {
      ++i;
      v.type = Json::Object;
      if (!eat('}')) {
        do {
          ws();
          std::string key = string_body();
          expect(':');
          if (v.obj.count(key)) fail("duplicate key '" + key + "'");
          v.obj[key] = value();
        } while (eat(','));
        expect('}');
      }
    } else if (c == '[') {
      ++i;
      v.type = Json::Array;
      if (!eat(']')) {
        do v.arr.push_back(value());
        while (eat(','));
        expect(']');
      }
    } else if (c == '"') {
      v.type = Json::String;
      v.str = string_body();
    } else if (s.compare(i, 4, "true") == 0) {
      v.type = Json::Bool, v.b = true, i += 4;
    } else if (s.compare(i, 5, "false") == 0) {
      v.type = Json::Bool, i += 5;
    } else if (s.compare(i, 4, "null") == 0) {
      i += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const char* begin = s.c_str() + i;
      char* end = nullptr;
      v.type = Json::Number;
      v.num = std::strtod(begin, &end);
      if (end == begin) fail("bad number");
      i += static_cast<size_t>(end - begin);
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    --depth;
    return v;
  }
};

}  // namespace

const Json* Json::find(const std::string& key) const {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &it->second;
}

Json parse_json(const std::string& text, const std::string& source) {
  Parser p{text, source};
  Json v = p.value();
  p.ws();
  if (p.i != text.size()) p.fail("trailing characters");
  return v;
}

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace advx
