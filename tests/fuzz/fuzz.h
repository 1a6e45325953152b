// Shared by the libFuzzer harnesses (tests/fuzz/README.md). A harness feeds arbitrary bytes to one
// decoder of outside data; the only acceptable failure is an advx::Error (a clear message). Anything
// else is a finding: another exception escaping (std::length_error, nlohmann's type_error, ...)
// aborts the process, and ASan/UBSan/LSan and libFuzzer's own limits (-rss_limit_mb,
// -malloc_limit_mb, -timeout) report crashes, undefined behaviour, leaks, bombs and hangs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/error.h"

namespace advx::fuzz {

// Runs f(); an advx::Error is the decoder refusing the input, which is fine. Returns true if f
// returned normally.
template <class F>
bool refused_or_ok(F&& f) {
  try {
    f();
    return true;
  } catch (const advx::Error&) {
    return false;
  }
}

inline std::vector<std::uint8_t> bytes_of(const std::uint8_t* data, std::size_t size) {
  return std::vector<std::uint8_t>(data, data + size);
}

}  // namespace advx::fuzz
