#include "engine/io/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>

#include "engine/error.h"

namespace advx {

std::vector<std::uint8_t> read_file(const std::string& path, std::size_t max_bytes) {
  struct stat st {};
  const bool known = ::stat(path.c_str(), &st) == 0;
  if (known && S_ISDIR(st.st_mode)) throw Error("'" + path + "' is a folder, not a file");
  const std::string too_large = "'" + path + "' is larger than " + std::to_string(max_bytes >> 20) +
                                " MiB, more than advx reads from one file: is it the right file?";
  if (known && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_bytes) throw Error(too_large);
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<std::uint8_t> bytes;
  try {
    if (known && S_ISREG(st.st_mode)) bytes.reserve(static_cast<std::size_t>(st.st_size));
    // Read in chunks: pipes and /proc files report no size up front.
    char buf[1 << 16];
    while (f.read(buf, sizeof buf) || f.gcount() > 0) {
      const auto got = static_cast<std::size_t>(f.gcount());
      if (bytes.size() + got > max_bytes) throw Error(too_large);
      bytes.insert(bytes.end(), reinterpret_cast<std::uint8_t*>(buf), reinterpret_cast<std::uint8_t*>(buf) + got);
      if (f.eof()) break;
    }
  } catch (const std::bad_alloc&) {
    throw Error("'" + path + "' does not fit in memory (" + std::to_string(bytes.size() >> 20) +
                " MiB read): is it the right file?");
  }
  if (f.bad()) throw Error("cannot read '" + path + "': " + std::strerror(errno));
  return bytes;
}

namespace {

void write_to(const std::string& target, const std::string& shown, const std::vector<std::uint8_t>& bytes) {
  std::FILE* f = std::fopen(target.c_str(), "wb");
  if (!f) throw Error("cannot write '" + shown + "': " + std::strerror(errno));
  const bool wrote = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const int err_write = errno;
  const bool flushed = std::fflush(f) == 0;
  const int err_flush = errno;
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !flushed || !closed)
    throw Error("writing '" + shown + "' failed: " +
                std::strerror(!wrote     ? err_write
                              : !flushed ? err_flush
                                         : errno) +
                " (disk full?)");
}

}  // namespace

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error("cannot write '" + path + "': it is a folder");
    if (!S_ISREG(st.st_mode)) return write_to(path, path, bytes);  // a device or a pipe
  }
  const std::string tmp = path + ".advx-tmp-" + std::to_string(::getpid());
  try {
    write_to(tmp, path, bytes);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(err));
  }
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void check_writable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error("cannot write '" + path + "': it is a folder");
    if (::access(path.c_str(), W_OK) != 0) throw Error("cannot write '" + path + "': " + std::strerror(errno));
    return;
  }
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (::access(dir.c_str(), W_OK) != 0)
    throw Error("cannot write '" + path + "': folder '" + dir + "': " + std::strerror(errno));
}

}  // namespace advx
