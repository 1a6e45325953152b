// The shipped models (<assets>/models/*.safetensors), loaded on first use and kept.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"

namespace play {

struct ModelEntry {
  std::string name;   // file stem: "cnn"
  std::string path;
  std::int64_t file_bytes = 0;
  // Filled on load:
  std::unique_ptr<advx::Sequential> model;
  std::map<std::string, std::string> metadata;
  std::string arch;
  std::int64_t params = 0;
  float test_acc = -1.0f;  // metadata "advx.test_acc" (fraction or percent as stored), < 0 if absent
  std::string error;       // why it failed to load
};

class ModelStore {
 public:
  explicit ModelStore(const std::string& dir);
  const std::vector<ModelEntry>& entries() const { return entries_; }
  std::vector<std::string> names() const;
  int index_of(const std::string& name) const;  // -1 if unknown
  // Loads (once) and returns the model; throws advx::Error if unknown or broken.
  ModelEntry& get(const std::string& name);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<ModelEntry> entries_;
};

}  // namespace play
