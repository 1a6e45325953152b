// SHA-256 (FIPS 180-4), used to verify dataset files before use.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace advx {

std::string sha256_hex(const std::uint8_t* data, std::size_t n);
inline std::string sha256_hex(const std::vector<std::uint8_t>& v) {
  return sha256_hex(v.data(), v.size());
}

}  // namespace advx
