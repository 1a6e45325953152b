// The playground's model manifest (frontend/model_store.cpp, linked from advx_app, not edited here):
// the bytes become <tmp>/models.json and a ModelStore lists what it names. Its JSON errors end up in
// manifest_error(); nothing else may escape.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "frontend/model_store.h"
#include "tests/fuzz/fuzz.h"

namespace {

char dir_buf[] = "/tmp/advx-fuzz-manifest-XXXXXX";  // a plain array: still valid in the atexit handler

void remove_folder() {
  std::remove((std::string(dir_buf) + "/models.json").c_str());
  ::rmdir(dir_buf);
}

const std::string& folder() {
  static const std::string dir = [] {
    if (!mkdtemp(dir_buf)) __builtin_trap();
    // libFuzzer ends with exit(): the folder goes with the process, not left in /tmp.
    std::atexit(remove_folder);
    return std::string(dir_buf);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = folder() + "/models.json";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  advx::fuzz::refused_or_ok([&] {
    play::ModelStore store(folder());
    for (const std::string& n : store.names()) store.find(n);
    for (const play::DatasetEntry& d : store.datasets()) store.find_dataset(d.name);
    store.default_model();
  });
  return 0;
}
