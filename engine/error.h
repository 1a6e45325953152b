// One exception type for every user-facing failure. Messages say what is wrong and how to fix it.
#pragma once
#include <stdexcept>
#include <string>

namespace advx {

struct Error : std::runtime_error {
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace advx

// Throws advx::Error(msg) when `ok` is false; `msg` is evaluated only then. Checks sit in per-pixel
// and per-weight loops (finite inputs, finite weights), where building every message eagerly cost
// more than the forward pass (measured: 60% of a single-image FGSM call in the browser).
#define ADVX_REQUIRE(ok, ...)                    \
  do {                                           \
    if (!(ok)) throw ::advx::Error(__VA_ARGS__); \
  } while (false)
