// One exception type for every user-facing failure. Messages say what is wrong and how to fix it.
#pragma once
#include <stdexcept>
#include <string>

namespace advx {

struct Error : std::runtime_error {
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws Error(msg) when `ok` is false.
inline void require(bool ok, const std::string& msg) {
  if (!ok) throw Error(msg);
}

}  // namespace advx
