// SHA-256 (FIPS 180-4), used to verify dataset files before use.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace advx {

// The hash of bytes that arrive in pieces (a file checked a slice per frame): update() with any
// split of the bytes, then hex() once, gives sha256_hex of the whole.
class Sha256 {
 public:
  void update(const std::uint8_t* data, std::size_t n);
  std::string hex();  // ends the hash; update() after it is an error

 private:
  std::uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::uint64_t total_ = 0;  // bytes seen
  std::uint8_t buf_[64] = {};
  std::size_t used_ = 0;  // bytes in buf_
  bool ended_ = false;
};

std::string sha256_hex(const std::uint8_t* data, std::size_t n);
inline std::string sha256_hex(const std::vector<std::uint8_t>& v) {
  return sha256_hex(v.data(), v.size());
}

}  // namespace advx
