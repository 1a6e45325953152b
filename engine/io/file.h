#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace advx {

// Whole file as bytes; advx::Error naming the path if it cannot be read.
std::vector<std::uint8_t> read_file(const std::string& path);
void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes);
bool file_exists(const std::string& path);

}  // namespace advx
