#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace advx {

// The most gunzip inflates: 256 MiB. The largest gzip file advx reads, Fashion-MNIST's training
// images, inflates to 47 MB.
constexpr std::uint32_t kMaxGunzipBytes = 256u << 20;

// Decompresses a gzip file's bytes (RFC 1952) with stb_image's inflater. The trailer's size (at most
// kMaxGunzipBytes, and no more than deflate can produce from the compressed bytes: 1032 per byte) is
// the output buffer, allocated once: a stream that would inflate past it is an error, not a bigger
// buffer. The size and the CRC-32 must both match the trailer. Bytes that do not start with the gzip
// magic are returned unchanged (plain, uncompressed files).
std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& bytes, const std::string& source);

}  // namespace advx
