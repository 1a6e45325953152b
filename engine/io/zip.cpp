#include "engine/io/zip.h"

#include <algorithm>
#include <array>

#include "engine/error.h"

namespace advx {
namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr std::size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22;

std::uint32_t le16(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0] | (p[1] << 8));
}
std::uint32_t le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

const std::array<std::uint32_t, 256>& crc_table() {
  static const std::array<std::uint32_t, 256> t = [] {
    std::array<std::uint32_t, 256> a{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      a[i] = c;
    }
    return a;
  }();
  return t;
}

}  // namespace

std::uint32_t crc32(const std::uint8_t* data, std::size_t n) {
  const std::array<std::uint32_t, 256>& t = crc_table();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = t[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::vector<ZipMember> zip_stored_members(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  const std::string where = "zip archive '" + source + "'";
  const std::uint8_t* b = bytes.data();
  const std::size_t size = bytes.size();
  // Positions are computed in 64 bits (no wrap-around on 32-bit WebAssembly) and used only once
  // checked against the file's size.
  auto at = [b](std::uint64_t pos) { return b + static_cast<std::size_t>(pos); };
  ADVX_REQUIRE(size >= kEndSize,
               where + " is " + std::to_string(size) + " bytes, too short for a zip file (truncated or not a zip)");

  // End of central directory: the last 22 bytes plus a comment of up to 65535 bytes. The comment
  // must run exactly to the end of the file, which also rejects a signature found inside data.
  std::size_t end = size;  // position of the EOCD record once found
  const std::size_t lowest = size >= kEndSize + 0xFFFF ? size - kEndSize - 0xFFFF : 0;
  for (std::size_t p = size - kEndSize + 1; p-- > lowest;)
    if (le32(b + p) == kEndSig && p + kEndSize + le16(b + p + 20) == size) {
      end = p;
      break;
    }
  ADVX_REQUIRE(end != size, where +
                                " has no end-of-central-directory record: the file is truncated or not a zip; "
                                "copy it again");
  const std::uint8_t* e = b + end;
  const std::uint32_t disk = le16(e + 4), cd_disk = le16(e + 6), n_here = le16(e + 8), n_total = le16(e + 10);
  const std::uint64_t cd_size = le32(e + 12), cd_offset = le32(e + 16);
  ADVX_REQUIRE(n_total != 0xFFFF && cd_size != 0xFFFFFFFFu && cd_offset != 0xFFFFFFFFu,
               where + " is a ZIP64 archive, which is not supported (the archives advx reads are under 4 GiB)");
  ADVX_REQUIRE(disk == 0 && cd_disk == 0 && n_here == n_total,
               where + " spans several disks (a split archive), which is not supported");
  ADVX_REQUIRE(cd_offset + cd_size <= end, where + ": the central directory (offset " + std::to_string(cd_offset) +
                                               ", " + std::to_string(cd_size) + " bytes) runs past its end record at " +
                                               std::to_string(end) + ": truncated or corrupt");

  std::vector<ZipMember> members;
  members.reserve(n_total);
  std::uint64_t p = cd_offset;
  for (std::uint32_t i = 0; i < n_total; ++i) {
    const std::string entry = where + ", central directory entry " + std::to_string(i);
    ADVX_REQUIRE(p + kCentralSize <= cd_offset + cd_size && le32(at(p)) == kCentralSig,
                 entry + " is cut short or has a bad signature: the archive is corrupt");
    const std::uint8_t* c = at(p);
    const std::uint32_t flags = le16(c + 8), method = le16(c + 10), crc = le32(c + 16);
    const std::uint64_t csize = le32(c + 20), usize = le32(c + 24), name_len = le16(c + 28), extra_len = le16(c + 30),
                        comment_len = le16(c + 32), local = le32(c + 42);
    ADVX_REQUIRE(p + kCentralSize + name_len + extra_len + comment_len <= cd_offset + cd_size,
                 entry + " runs past the central directory: the archive is corrupt");
    ZipMember m;
    m.name.assign(reinterpret_cast<const char*>(c + kCentralSize), static_cast<std::size_t>(name_len));
    const std::string what = where + ", member '" + m.name + "'";
    ADVX_REQUIRE((flags & 0x41) == 0, what + " is encrypted, which is not supported");
    ADVX_REQUIRE(method == 0, what + " is compressed (method " + std::to_string(method) +
                                  "); only stored members (method 0) are supported: write the archive with "
                                  "zipfile.ZIP_STORED or `zip -0`");
    ADVX_REQUIRE(csize == usize, what + " is stored but its compressed size " + std::to_string(csize) +
                                     " differs from its size " + std::to_string(usize) + ": the archive is corrupt");

    // The local header must agree with the central directory.
    ADVX_REQUIRE(local + kLocalSize <= cd_offset && le32(at(local)) == kLocalSig,
                 what + ": no local header at offset " + std::to_string(local) + ": the archive is corrupt");
    const std::uint8_t* l = at(local);
    const std::uint64_t lname = le16(l + 26), lextra = le16(l + 28);
    const std::uint64_t data = local + kLocalSize + lname + lextra;
    ADVX_REQUIRE(data + csize <= cd_offset,
                 what + ": its data (" + std::to_string(csize) + " bytes at offset " + std::to_string(data) +
                     ") runs into the central directory: the archive is truncated or corrupt");
    ADVX_REQUIRE(lname == name_len &&
                     std::equal(l + kLocalSize, l + kLocalSize + static_cast<std::size_t>(lname), c + kCentralSize),
                 what + ": the local header names another file: the archive is corrupt");
    // Flag bit 3: CRC and sizes follow the data in a descriptor and the local fields are zero.
    const bool descriptor = (flags & 0x08) != 0;
    ADVX_REQUIRE(le16(l + 8) == method &&
                     (descriptor || (le32(l + 14) == crc && le32(l + 18) == csize && le32(l + 22) == usize)),
                 what +
                     ": the local header disagrees with the central directory (method, CRC or size): the "
                     "archive is corrupt");
    m.offset = static_cast<std::size_t>(data);
    m.size = static_cast<std::size_t>(csize);
    m.crc32 = crc;
    const std::uint32_t got = crc32(b + m.offset, m.size);
    ADVX_REQUIRE(got == crc, what + " fails its CRC-32 check (stored " + std::to_string(crc) + ", computed " +
                                 std::to_string(got) + "): the data is corrupt; copy the archive again");
    members.push_back(std::move(m));
    p += kCentralSize + name_len + extra_len + comment_len;
  }
  ADVX_REQUIRE(p == cd_offset + cd_size, where + ": the central directory holds " +
                                             std::to_string(cd_offset + cd_size - p) +
                                             " bytes after its last entry: the archive is corrupt");
  return members;
}

}  // namespace advx
