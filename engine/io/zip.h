// A strict reader for ZIP archives whose members are STORED (method 0: the bytes are not
// compressed), as Python's zipfile.ZipFile(..., compression=ZIP_STORED) writes them. Used for the
// CIFAR-10 JPEG archives in shared/data (engine/data/cifar10.cpp), whose sha256 is checked first.
//
// Layout read (APPNOTE.TXT 6.3, little-endian), no ZIP64, one disk:
//
//   [local header 30 B + name + extra][member data] ... [central directory entries][EOCD 22 B + comment]
//    sig 0x04034b50, method, crc32,                       sig 0x02014b50: the same    sig 0x06054b50,
//    sizes, name length, extra length                      fields + the local header   entry count, CD
//                                                          offset                     size and offset
//
// The central directory is the authority; every local header must agree with it (signature, name,
// method, CRC, sizes, unless flag bit 3 put them in a data descriptor), every member must lie
// inside the file before the central directory, and every member's CRC-32 is checked.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace advx {

struct ZipMember {
  std::string name;         // path inside the archive, e.g. "test/cat/0000.jpg"
  std::size_t offset = 0;   // first data byte within the archive's bytes
  std::size_t size = 0;     // data bytes (stored: compressed size == uncompressed size)
  std::uint32_t crc32 = 0;  // as recorded in the central directory (and checked)
};

// The members of a ZIP archive in central-directory order, every one checked as described above.
// Throws advx::Error naming `source` and what is wrong (truncated, not a zip, compressed or
// encrypted member, ZIP64, bad CRC, ...). Nothing is copied: read member i at bytes.data() + offset.
std::vector<ZipMember> zip_stored_members(const std::vector<std::uint8_t>& bytes, const std::string& source);

// CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF), as zip and gzip use.
std::uint32_t crc32(const std::uint8_t* data, std::size_t n);

}  // namespace advx
