#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace advx {

// The most read_file reads by default: 256 MiB. The largest file advx needs, the CIFAR-10 training
// archive, is 52 MB; the cap turns a wrong path (/dev/zero, a disk image, a pipe that never ends)
// into an error instead of all the machine's memory.
constexpr std::size_t kMaxReadBytes = std::size_t{256} << 20;

// Whole file as bytes, read in chunks (pipes and /proc files report no size up front); advx::Error
// naming the path if it cannot be read, is a folder, or holds more than max_bytes.
std::vector<std::uint8_t> read_file(const std::string& path, std::size_t max_bytes = kMaxReadBytes);
// Writes the bytes so that a failure never leaves a half-written file in place of a good one: a
// regular file is written to a temporary file beside it, flushed and closed (each checked), then
// renamed over `path`. Devices and pipes (/dev/stdout, /dev/full) are written directly, and a failed
// write or close is an error there too.
void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes);
bool file_exists(const std::string& path);
// Throws advx::Error if `path` could not be written (missing folder, no permission), without
// changing anything: for commands that would otherwise find out only after hours of work.
void check_writable(const std::string& path);

}  // namespace advx
