#include "engine/io/idx.h"

#include <cstdint>
#include <cstring>

#include "engine/error.h"

namespace advx {

IdxArray idx_decode(const std::vector<std::uint8_t>& b, const std::string& source) {
  const std::string where = "IDX file '" + source + "'";
  ADVX_REQUIRE(b.size() >= 4 && b[0] == 0 && b[1] == 0,
               where + " does not start with the IDX magic (00 00 type ndims)");
  IdxArray a;
  a.type = b[2];
  const int nd = b[3];
  ADVX_REQUIRE(a.type == 0x08 || a.type == 0x0D, where + " has element type 0x" + std::to_string(a.type) +
                                                     "; advx reads 0x08 (ubyte) and 0x0D (float32)");
  ADVX_REQUIRE(nd >= 1 && nd <= 4 && b.size() >= 4 + 4 * static_cast<size_t>(nd), where + ": bad number of dimensions");
  // The element count in saturating 64-bit arithmetic: four dimensions of 2^29 must not wrap to 0
  // (and pass as an empty array) or to a huge count that passes the size check once multiplied by 4.
  auto mul = [](std::uint64_t x, std::uint64_t y) {
    std::uint64_t r = 0;
    return __builtin_mul_overflow(x, y, &r) ? UINT64_MAX : r;
  };
  std::uint64_t count = 1;
  for (int d = 0; d < nd; ++d) {
    const std::uint8_t* p = b.data() + 4 + 4 * d;
    const std::uint32_t v =
        (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
    ADVX_REQUIRE(v < (1u << 30), where + ": dimension " + std::to_string(d) + " is " + std::to_string(v) +
                                     ", too large (over 2^30): corrupt or not an IDX file");
    a.dims.push_back(static_cast<int>(v));
    count = mul(count, v);
  }
  const std::size_t off = 4 + 4 * static_cast<size_t>(nd);
  const std::uint64_t need = mul(count, a.type == 0x08 ? 1 : 4), have = b.size() - off;
  ADVX_REQUIRE(have == need, where + " should hold " +
                                 (need == UINT64_MAX ? std::string("over 2^64") : std::to_string(need)) +
                                 " data bytes for dims " + shape_str(a.dims) + " but has " + std::to_string(have) +
                                 ": truncated or corrupt");
  if (a.type == 0x08) {
    a.u8.assign(b.begin() + static_cast<std::ptrdiff_t>(off), b.end());
  } else {
    a.f32.resize(static_cast<size_t>(count));
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint8_t* p = b.data() + off + 4 * i;
      const std::uint32_t u =
          (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
      std::memcpy(&a.f32[i], &u, 4);
    }
  }
  return a;
}

std::vector<std::uint8_t> idx_encode_f32(const Tensor& t) {
  ADVX_REQUIRE(t.rank() >= 1 && t.rank() <= 4, "IDX holds 1 to 4 dimensions, got " + shape_str(t.shape));
  std::vector<std::uint8_t> out = {0, 0, 0x0D, static_cast<std::uint8_t>(t.rank())};
  auto put = [&out](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
  };
  for (int d : t.shape) put(static_cast<std::uint32_t>(d));
  for (float f : t.data) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    put(u);
  }
  return out;
}

}  // namespace advx
