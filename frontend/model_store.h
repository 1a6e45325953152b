// The shipped models and test samples: listed from a manifest (<assets>/models.json, written at
// build time from the safetensors headers and the sample files) so every model's name,
// architecture, dataset, size and accuracy, and every dataset's shape and class names, are known
// without loading anything. A file is loaded when it is first needed:
//   on disk (native; web files packed into index.data): read right away (request() returns kReady
//       or kError);
//   web, served beside the page (models/NAME.safetensors, samples/NAME.bin.gz): the page fetches
//       it and hands the bytes to deliver(); until then it is kLoading.
// Datasets travel through the page's fetch under the name "data:NAME" (kDataPrefix).
// No ML here: the engine parses and builds the model (advx::load_model_bytes).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/sequences.h"
#include "engine/model.h"
#include "engine/sequence_model.h"
#include "engine/sequence_text.h"
#include "frontend/samples.h"

namespace play {

enum class ModelStatus { kNotLoaded, kLoading, kReady, kError };
const char* status_name(ModelStatus s);  // "not loaded", "loading", "ready", "error"

// What every downloadable file shares: where it is, what the manifest says of it, how far it is.
struct Asset {
  std::string name;  // "cnn"; "cifar10" for a dataset
  std::string file;  // web: URL relative to the page; native: path (relative to the asset dir)
  std::int64_t file_bytes = 0;
  std::string sha256;  // from the manifest; checked on load when known
  ModelStatus status = ModelStatus::kNotLoaded;
  std::int64_t received = 0, total = 0;  // download progress (web)
  std::string error;                     // why it failed to load
};

// A model's domain (the manifest's "domain"): kImages (a Sequential on pixels) or kSequences (a
// SequenceModel on token ids, with its tokenizer and vocabulary).
inline const std::string kImages = "images";
inline const std::string kSequences = "sequences";

struct ModelEntry : Asset {
  std::string arch;
  std::string dataset = "mnist";  // what it was trained on (its test images, class names)
  std::string domain = kImages;
  std::int64_t params = 0;
  float test_acc = -1.0f;                          // fraction; < 0 if not recorded
  std::unique_ptr<advx::Sequential> model;         // images
  std::unique_ptr<advx::SequenceModel> seq_model;  // sequences
  advx::TextCodec codec;                           // sequences: text -> token ids
  std::map<std::string, std::string> metadata;
  // Loaded by a defence or the sequence view that names it ("ensemble/regular_0",
  // "autoencoders/cae", "sequence/sms_lstm"), not a model to pick: the manifest marks the models in
  // sub-folders of assets/models.
  bool companion = false;
  // Listed in the image view's model picker: an image model at the top of assets/models.
  bool image_pick() const { return domain == kImages && !companion && name.find('/') == std::string::npos; }
};

// A sequence dataset whose file is here, read a step at a time (ModelStore::advance; model_store.cpp).
struct SequenceLoad;

struct DatasetEntry : Asset {
  std::string domain = kImages;                            // kSequences: `sequences` once loaded, no image sample
  advx::Shape shape;                                       // [C, H, W]
  std::vector<std::string> classes;                        // names, index = label
  double eps_max = 0.3;                                    // the largest L-inf budget a robustness curve shows
  Samples samples;                                         // once loaded
  std::shared_ptr<const advx::SequenceDataset> sequences;  // sequence datasets, once loaded
  std::shared_ptr<SequenceLoad> reading;                   // sequence datasets: kLoading, the file here
};

inline const std::string kDataPrefix = "data:";

class ModelStore {
 public:
  // Called (web) to start downloading entry.file; the answer comes back through deliver()/fail().
  using Fetcher = std::function<void(const std::string& name, const std::string& url)>;

  // asset_dir: reads <asset_dir>/models.json, or else lists <asset_dir>/models/*.safetensors.
  explicit ModelStore(const std::string& asset_dir);
  void set_fetcher(Fetcher f) { fetcher_ = std::move(f); }

  const std::vector<ModelEntry>& entries() const { return entries_; }
  std::vector<std::string> names() const;       // the models to pick (companions left out)
  int index_of(const std::string& name) const;  // -1 if unknown (companions included)
  const ModelEntry* find(const std::string& name) const;
  const std::string& default_model() const { return default_; }
  const std::string& manifest_error() const { return manifest_error_; }

  // Makes sure the model is loaded or on its way: starts loading it if it is not (and retries after
  // an error if `retry`). Unknown names give kError with error set.
  ModelStatus request(const std::string& name, bool retry = false);
  // The loaded model; throws advx::Error saying why not (unknown, still loading, failed).
  ModelEntry& get(const std::string& name);

  // Datasets: the same, by dataset name ("mnist", "cifar10").
  const std::vector<DatasetEntry>& datasets() const { return datasets_; }
  const DatasetEntry* find_dataset(const std::string& name) const;
  ModelStatus request_dataset(const std::string& name, bool retry = false);
  const Samples& samples(const std::string& name);  // throws like get()
  // A sequence dataset (its splits, texts and vocabulary); throws like get().
  const advx::SequenceDataset& sequences(const std::string& name);

  // A sequence dataset's file is read in steps once it is here (checksums, gunzip, parse, split,
  // vocabulary, encoding: 50-200 ms natively in one go), so the page keeps drawing: it stays kLoading
  // until advance() has stepped it to the end. advance(budget_ms) steps every such read for about
  // budget_ms (the app calls it every frame) and returns true while one is left; finish_read() ends a
  // dataset's read at once (the JS API's calls). An error on the way sets the dataset's error.
  bool advance(double budget_ms);
  void finish_read(const std::string& dataset);
  // 0..1 of a dataset's read once its file is here (-1 if none is under way).
  double read_progress(const std::string& dataset) const;

  // Web callbacks (a model's name, or kDataPrefix + a dataset's). deliver() checks the bytes (size,
  // sha256) and builds the model or the sample (a sequence dataset: starts its read in steps, above);
  // false and the entry's error set if they are not valid.
  bool deliver(const std::string& name, const std::vector<std::uint8_t>& bytes);
  void fail(const std::string& name, const std::string& why);
  void progress(const std::string& name, std::int64_t received, std::int64_t total);

  // A model made in the playground (trained there): ready at once, no file. Throws advx::Error if
  // the name is taken.
  void add(const std::string& name, std::unique_ptr<advx::Sequential> model, const std::string& dataset,
           float test_acc);

  // Bumps whenever an entry's status changes (the app re-runs what waited for a model).
  int version() const { return version_; }

 private:
  ModelEntry* lookup(const std::string& name);
  DatasetEntry* lookup_dataset(const std::string& name);
  Asset* lookup_any(const std::string& name);  // a model, or kDataPrefix + dataset
  ModelStatus request_asset(Asset& a, const std::string& fetch_name, bool retry);
  bool step_read(DatasetEntry& d, double budget_ms);  // true once d's read has ended (ready or failed)
  std::string dir_;
  std::string default_;
  std::string manifest_error_;
  std::vector<ModelEntry> entries_;
  std::vector<DatasetEntry> datasets_;
  Fetcher fetcher_;
  int version_ = 0;
};

}  // namespace play
