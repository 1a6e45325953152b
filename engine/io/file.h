#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace advx {

// Whole file as bytes; advx::Error naming the path if it cannot be read.
std::vector<std::uint8_t> read_file(const std::string& path);
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
