#include "engine/io/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/file.h"

namespace advx {
namespace {

// safetensors stores little-endian; every target advx builds for (x86-64, wasm32) is little-endian.
static_assert(sizeof(float) == 4, "float must be IEEE-754 binary32");

// The largest JSON header read: 4 MiB, 100 times advx's largest (sms_lstm's, 43 KB with its
// vocabulary). The format allows 100 MB, but the parsed JSON takes up to 32 bytes per header byte
// (measured, nlohmann 3.11.2, "[[[[..."): 128 MB at this cap, 3.2 GB at the format's.
constexpr std::uint64_t kMaxHeaderBytes = 4u << 20;

}  // namespace

std::vector<std::uint8_t> safetensors_encode(const TensorFile& f) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!f.metadata.empty()) h["__metadata__"] = f.metadata;
  std::uint64_t offset = 0;
  for (const auto& kv : f.tensors) {
    const Tensor& t = kv.second;
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.size()) * 4;
    h[kv.first] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header = h.dump();
  while (header.size() % 8 != 0) header += ' ';  // the spec recommends 8-byte alignment of the data
  std::vector<std::uint8_t> out(8 + header.size() + static_cast<size_t>(offset));
  const std::uint64_t hlen = header.size();
  for (int b = 0; b < 8; ++b) out[static_cast<size_t>(b)] = static_cast<std::uint8_t>(hlen >> (8 * b));
  std::memcpy(out.data() + 8, header.data(), header.size());
  std::uint8_t* p = out.data() + 8 + header.size();
  for (const auto& kv : f.tensors) {
    // An empty tensor (shape [0]) has no storage: memcpy from its null pointer is undefined even
    // for 0 bytes (found by tests/fuzz/fuzz_safetensors on its seed three.safetensors).
    if (kv.second.size() > 0) std::memcpy(p, kv.second.ptr(), static_cast<size_t>(kv.second.size()) * 4);
    p += kv.second.size() * 4;
  }
  return out;
}

TensorFile safetensors_decode(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  const std::string where = "weights file '" + source + "'";
  ADVX_REQUIRE(bytes.size() >= 8, where + " is " + std::to_string(bytes.size()) +
                                      " bytes long: too short to be safetensors (truncated or not a weights file)");
  std::uint64_t hlen = 0;
  for (int b = 0; b < 8; ++b) hlen |= static_cast<std::uint64_t>(bytes[static_cast<size_t>(b)]) << (8 * b);
  ADVX_REQUIRE(hlen >= 2 && hlen <= bytes.size() - 8, where + " has a header length of " + std::to_string(hlen) +
                                                          " bytes but the file is " + std::to_string(bytes.size()) +
                                                          " bytes: truncated or not a safetensors file");
  ADVX_REQUIRE(hlen <= kMaxHeaderBytes, where + " has a " + std::to_string(hlen) + "-byte header, more than the " +
                                            std::to_string(kMaxHeaderBytes) +
                                            " advx reads: not a model advx wrote (advx's headers are under 64 KB)");
  const std::string header(reinterpret_cast<const char*>(bytes.data()) + 8, static_cast<size_t>(hlen));
  // nlohmann-json (Debian's nlohmann-json3-dev) parses strictly by RFC 8259: no hex, no inf or nan,
  // no leading zeros; numbers too large for a double are errors. Duplicate keys keep the last.
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + " header: invalid JSON (" + e.what() + ")");
  }
  ADVX_REQUIRE(j.is_object(), where + ": header is not a JSON object");
  const std::uint64_t data_len = bytes.size() - 8 - hlen;
  const std::uint8_t* data = bytes.data() + 8 + hlen;

  TensorFile out;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& kv : j.items()) {
    const std::string& name = kv.key();
    const nlohmann::json& e = kv.value();
    if (name == "__metadata__") {
      ADVX_REQUIRE(e.is_object(), where + ": __metadata__ must be an object of strings");
      for (const auto& m : e.items()) {
        ADVX_REQUIRE(m.value().is_string(), where + ": metadata value of '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string t = where + ", tensor '" + name + "'";
    ADVX_REQUIRE(e.is_object(), t + ": entry is not an object");
    const auto dtype = e.find("dtype"), shape = e.find("shape"), offs = e.find("data_offsets");
    ADVX_REQUIRE(dtype != e.end() && dtype->is_string() && shape != e.end() && shape->is_array() && offs != e.end() &&
                     offs->is_array() && offs->size() == 2,
                 t + ": needs dtype, shape and data_offsets [begin, end]");
    ADVX_REQUIRE(dtype->get<std::string>() == "F32",
                 t + " has dtype " + dtype->get<std::string>() +
                     "; advx reads float32 (F32) only: convert with tensor.float() before saving");
    Shape s;
    std::uint64_t count = 1;
    for (const nlohmann::json& d : *shape) {
      // Unsigned integers only: 1e3, -1 and 2.5 are not shape entries.
      ADVX_REQUIRE(d.is_number_unsigned() && d.get<std::uint64_t>() < 1000000000ULL,
                   t + ": shape entries must be non-negative integers");
      s.push_back(static_cast<int>(d.get<std::uint64_t>()));
      count *= d.get<std::uint64_t>();
      ADVX_REQUIRE(count < (1ULL << 32), t + ": tensor too large");
    }
    for (const nlohmann::json& o : *offs)
      ADVX_REQUIRE(o.is_number_unsigned(), t + ": bad data_offsets (non-negative integers expected)");
    const auto begin = (*offs)[0].get<std::uint64_t>(), end = (*offs)[1].get<std::uint64_t>();
    ADVX_REQUIRE(begin <= end && end <= data_len,
                 t + " claims bytes [" + std::to_string(begin) + ", " + std::to_string(end) + ") but only " +
                     std::to_string(data_len) + " data bytes follow the header: the file is truncated or corrupt");
    ADVX_REQUIRE(end - begin == count * 4, t + ": shape " + shape_str(s) + " needs " + std::to_string(count * 4) +
                                               " bytes but data_offsets give " + std::to_string(end - begin));
    ranges.emplace_back(begin, end);
    Tensor tensor;
    tensor.shape = s;
    tensor.data.resize(static_cast<size_t>(count));
    if (count) std::memcpy(tensor.data.data(), data + begin, static_cast<size_t>(count * 4));
    for (float v : tensor.data)
      ADVX_REQUIRE(std::isfinite(v), t + " contains NaN or Inf: the weights are corrupt (or training diverged)");
    out.tensors[name] = std::move(tensor);
  }
  // The spec requires the tensors to tile the data buffer exactly: no holes, no overlaps.
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t pos = 0;
  for (const auto& r : ranges) {
    ADVX_REQUIRE(r.first == pos,
                 where + ": tensor data overlaps or leaves a gap at byte " + std::to_string(pos) + " (corrupt file)");
    pos = r.second;
  }
  ADVX_REQUIRE(pos == data_len, where + " has " + std::to_string(data_len - pos) +
                                    " bytes after the last tensor (corrupt file or wrong header)");
  return out;
}

void safetensors_save(const TensorFile& f, const std::string& path) {
  write_file(path, safetensors_encode(f));
}

TensorFile safetensors_load(const std::string& path) {
  return safetensors_decode(read_file(path), path);
}

}  // namespace advx
