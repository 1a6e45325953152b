// The shipped models: listed from a manifest (<assets>/models.json, written at build time from the
// safetensors headers) so every model's name, architecture, size and accuracy are known without
// loading it. A model's weights are loaded when it is first needed:
//   native: read from disk right away (request() returns kReady or kError);
//   web:    the page fetches the file (models/NAME.safetensors next to index.html) and hands the
//           bytes to deliver(); until then the model is kLoading.
// No ML here: the engine parses and builds the model (advx::load_model_bytes).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"

namespace play {

enum class ModelStatus { kNotLoaded, kLoading, kReady, kError };
const char* status_name(ModelStatus s);  // "not loaded", "loading", "ready", "error"

struct ModelEntry {
  std::string name;  // file stem: "cnn"
  std::string file;  // web: URL relative to the page; native: path (relative to the asset dir)
  std::int64_t file_bytes = 0;
  std::string sha256;  // from the manifest; checked on load when known
  std::string arch;
  std::int64_t params = 0;
  float test_acc = -1.0f;  // fraction; < 0 if not recorded
  // Loading state:
  ModelStatus status = ModelStatus::kNotLoaded;
  std::int64_t received = 0, total = 0;  // download progress (web)
  std::string error;                     // why it failed to load
  std::unique_ptr<advx::Sequential> model;
  std::map<std::string, std::string> metadata;
};

class ModelStore {
 public:
  // Called (web) to start downloading entry.file; the answer comes back through deliver()/fail().
  using Fetcher = std::function<void(const std::string& name, const std::string& url)>;

  // asset_dir: reads <asset_dir>/models.json, or else lists <asset_dir>/models/*.safetensors.
  explicit ModelStore(const std::string& asset_dir);
  void set_fetcher(Fetcher f) { fetcher_ = std::move(f); }

  const std::vector<ModelEntry>& entries() const { return entries_; }
  std::vector<std::string> names() const;
  int index_of(const std::string& name) const;  // -1 if unknown
  const ModelEntry* find(const std::string& name) const;
  const std::string& default_model() const { return default_; }
  const std::string& manifest_error() const { return manifest_error_; }

  // Makes sure the model is loaded or on its way: starts loading it if it is not (and retries after
  // an error if `retry`). Unknown names give kError with error set.
  ModelStatus request(const std::string& name, bool retry = false);
  // The loaded model; throws advx::Error saying why not (unknown, still loading, failed).
  ModelEntry& get(const std::string& name);

  // Web callbacks. deliver() checks the bytes (size, sha256) and builds the model; false and the
  // entry's error set if they are not a valid model.
  bool deliver(const std::string& name, const std::vector<std::uint8_t>& bytes);
  void fail(const std::string& name, const std::string& why);
  void progress(const std::string& name, std::int64_t received, std::int64_t total);

  // Bumps whenever an entry's status changes (the app re-runs what waited for a model).
  int version() const { return version_; }

 private:
  ModelEntry* lookup(const std::string& name);
  void load_from_disk(ModelEntry& e);
  std::string dir_;
  std::string default_;
  std::string manifest_error_;
  std::vector<ModelEntry> entries_;
  Fetcher fetcher_;
  int version_ = 0;
};

}  // namespace play
