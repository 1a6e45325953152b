#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace advx {

// Decompresses a gzip file's bytes (RFC 1952) with stb_image's inflater, checking the stored size.
// Bytes that do not start with the gzip magic are returned unchanged (plain, uncompressed files).
std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& bytes, const std::string& source);

}  // namespace advx
