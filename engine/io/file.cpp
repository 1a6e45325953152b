#include "engine/io/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "engine/error.h"

namespace advx {

std::vector<std::uint8_t> read_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw Error("'" + path + "' is a folder, not a file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  // Read in chunks: pipes and /proc files report no size up front.
  std::vector<std::uint8_t> bytes;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    bytes.insert(bytes.end(), reinterpret_cast<std::uint8_t*>(buf), reinterpret_cast<std::uint8_t*>(buf) + f.gcount());
    if (f.eof()) break;
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
    throw Error("writing '" + shown + "' failed: " + std::strerror(!wrote ? err_write : !flushed ? err_flush : errno) +
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
