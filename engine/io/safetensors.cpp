#include "engine/io/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/json.h"

namespace advx {
namespace {

// safetensors stores little-endian; every target advx builds for (x86-64, wasm32) is little-endian.
static_assert(sizeof(float) == 4, "float must be IEEE-754 binary32");

}  // namespace

std::vector<std::uint8_t> safetensors_encode(const TensorFile& f) {
  std::string header = "{";
  if (!f.metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& kv : f.metadata) {
      header += (first ? "" : ",") + json_quote(kv.first) + ":" + json_quote(kv.second);
      first = false;
    }
    header += "}";
  }
  std::uint64_t offset = 0;
  for (const auto& kv : f.tensors) {
    const Tensor& t = kv.second;
    std::string shape;
    for (size_t i = 0; i < t.shape.size(); ++i) shape += (i ? "," : "") + std::to_string(t.shape[i]);
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.size()) * 4;
    header += (header.size() > 1 ? "," : "") + json_quote(kv.first) + ":{\"dtype\":\"F32\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';  // the spec recommends 8-byte alignment of the data
  std::vector<std::uint8_t> out(8 + header.size() + static_cast<size_t>(offset));
  const std::uint64_t hlen = header.size();
  for (int b = 0; b < 8; ++b) out[static_cast<size_t>(b)] = static_cast<std::uint8_t>(hlen >> (8 * b));
  std::memcpy(out.data() + 8, header.data(), header.size());
  std::uint8_t* p = out.data() + 8 + header.size();
  for (const auto& kv : f.tensors) {
    std::memcpy(p, kv.second.ptr(), static_cast<size_t>(kv.second.size()) * 4);
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
  ADVX_REQUIRE(hlen >= 2 && hlen <= 100'000'000 && hlen <= bytes.size() - 8,
               where + " has a header length of " + std::to_string(hlen) + " bytes but the file is " +
                   std::to_string(bytes.size()) + " bytes: truncated or not a safetensors file");
  const std::string header(reinterpret_cast<const char*>(bytes.data()) + 8, static_cast<size_t>(hlen));
  const Json j = parse_json(header, where + " header");
  ADVX_REQUIRE(j.type == Json::Object, where + ": header is not a JSON object");
  const std::uint64_t data_len = bytes.size() - 8 - hlen;
  const std::uint8_t* data = bytes.data() + 8 + hlen;

  TensorFile out;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& kv : j.obj) {
    const std::string& name = kv.first;
    const Json& e = kv.second;
    if (name == "__metadata__") {
      ADVX_REQUIRE(e.type == Json::Object, where + ": __metadata__ must be an object of strings");
      for (const auto& m : e.obj) {
        ADVX_REQUIRE(m.second.type == Json::String, where + ": metadata value of '" + m.first + "' is not a string");
        out.metadata[m.first] = m.second.str;
      }
      continue;
    }
    const std::string t = where + ", tensor '" + name + "'";
    ADVX_REQUIRE(e.type == Json::Object, t + ": entry is not an object");
    const Json* dtype = e.find("dtype");
    const Json* shape = e.find("shape");
    const Json* offs = e.find("data_offsets");
    ADVX_REQUIRE(dtype && dtype->type == Json::String && shape && shape->type == Json::Array && offs &&
                     offs->type == Json::Array && offs->arr.size() == 2,
                 t + ": needs dtype, shape and data_offsets [begin, end]");
    ADVX_REQUIRE(dtype->str == "F32", t + " has dtype " + dtype->str +
                                          "; advx reads float32 (F32) only: convert with tensor.float() before saving");
    Shape s;
    std::uint64_t count = 1;
    for (const Json& d : shape->arr) {
      ADVX_REQUIRE(d.type == Json::Number && d.num >= 0 && d.num < 1e9 && std::floor(d.num) == d.num,
                   t + ": shape entries must be non-negative integers");
      s.push_back(static_cast<int>(d.num));
      count *= static_cast<std::uint64_t>(d.num);
      ADVX_REQUIRE(count < (1ULL << 32), t + ": tensor too large");
    }
    for (const Json& o : offs->arr)
      ADVX_REQUIRE(o.type == Json::Number && o.num >= 0 && std::floor(o.num) == o.num, t + ": bad data_offsets");
    const auto begin = static_cast<std::uint64_t>(offs->arr[0].num), end = static_cast<std::uint64_t>(offs->arr[1].num);
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
