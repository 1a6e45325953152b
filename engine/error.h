// One exception type for every user-facing failure. Messages say what is wrong and how to fix it.
#pragma once
#include <stdexcept>
#include <string>

namespace advx {

struct Error : std::runtime_error {
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws Error(msg) when `ok` is false. Use ADVX_REQUIRE below in engine code: as a function,
// `require` builds its message (string concatenation, std::to_string) even when the check passes.
inline void require(bool ok, const std::string& msg) {
  if (!ok) throw Error(msg);
}

}  // namespace advx

// Throws advx::Error(msg) when `ok` is false; `msg` is evaluated only then. Checks sit in per-pixel
// and per-weight loops (finite inputs, finite weights), where building every message eagerly cost
// more than the forward pass (measured: 60% of a single-image FGSM call in the browser).
#define ADVX_REQUIRE(ok, ...)                    \
  do {                                           \
    if (!(ok)) throw ::advx::Error(__VA_ARGS__); \
  } while (false)

namespace advx {}  // namespace advx
