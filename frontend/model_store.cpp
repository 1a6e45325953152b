#include "frontend/model_store.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <new>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/gzip.h"
#include "engine/io/model_io.h"
#include "engine/io/sha256.h"
#include "frontend/time_slice.h"

namespace play {

namespace fs = std::filesystem;

namespace {
void check_sha256(const std::string& file, const std::string& got, const std::string& manifest) {
  if (got != manifest) throw advx::Error(file + " is corrupt: its SHA-256 differs from the manifest's");
}
}  // namespace

// A sequence dataset's file, gzipped, read in steps: the manifest's sha256 of the file 256 KB a step,
// the gunzip (one step), then the engine's load in steps (advx::SequenceDatasetLoad: it checks the
// dataset's own sha256, parses, splits, builds the vocabulary and encodes).
struct SequenceLoad {
  std::vector<std::uint8_t> gz;
  std::string expected_sha;  // the manifest's, of gz; empty: not checked
  advx::Sha256 sha;
  std::size_t hashed = 0;
  std::unique_ptr<advx::SequenceDatasetLoad> load;
  std::string name, file;
  double last_ms = 0.0;  // the last step's time (step_within)

  bool step() {
    if (!load && hashed < gz.size() && !expected_sha.empty()) {
      const std::size_t n = std::min<std::size_t>(256 * 1024, gz.size() - hashed);
      sha.update(gz.data() + hashed, n);
      hashed += n;
      return false;
    }
    if (!load) {
      if (!expected_sha.empty()) check_sha256(file, sha.hex(), expected_sha);
      load = std::make_unique<advx::SequenceDatasetLoad>(name, advx::gunzip(gz, file), file);
      gz.clear();
      gz.shrink_to_fit();
      return false;
    }
    return load->step();
  }
  double progress() const {
    if (load) return 0.1 + 0.9 * load->progress();
    return gz.empty() ? 0.0 : 0.1 * static_cast<double>(hashed) / static_cast<double>(gz.size());
  }
};

const char* status_name(ModelStatus s) {
  switch (s) {
    case ModelStatus::kNotLoaded:
      return "not loaded";
    case ModelStatus::kLoading:
      return "loading";
    case ModelStatus::kReady:
      return "ready";
    case ModelStatus::kError:
      return "error";
  }
  return "?";
}

namespace {

std::string str_of(const nlohmann::json& j, const char* key) {
  const auto v = j.find(key);
  return v != j.end() && v->is_string() ? v->get<std::string>() : std::string();
}

double num_of(const nlohmann::json& j, const char* key, double fallback) {
  const auto v = j.find(key);
  return v != j.end() && v->is_number() ? v->get<double>() : fallback;
}

std::string mb(std::int64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(b) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

ModelStore::ModelStore(const std::string& asset_dir) : dir_(asset_dir) {
  const std::string manifest = asset_dir + "/models.json";
  if (advx::file_exists(manifest)) {
    try {
      const std::vector<std::uint8_t> bytes = advx::read_file(manifest);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(bytes.begin(), bytes.end());
      } catch (const nlohmann::json::exception& e) {
        throw advx::Error(manifest + ": invalid JSON (" + e.what() + ")");
      }
      ADVX_REQUIRE(j.is_object(), manifest + ": not a JSON object");
      default_ = str_of(j, "default");
      const auto models = j.find("models");
      ADVX_REQUIRE(models != j.end() && models->is_array(), manifest + ": no \"models\" array");
      for (const nlohmann::json& m : *models) {
        if (!m.is_object()) continue;
        ModelEntry e;
        e.name = str_of(m, "name");
        e.file = str_of(m, "file");
        e.sha256 = str_of(m, "sha256");
        e.arch = str_of(m, "arch");
        e.file_bytes = static_cast<std::int64_t>(num_of(m, "bytes", 0));
        e.params = static_cast<std::int64_t>(num_of(m, "params", 0));
        e.test_acc = static_cast<float>(num_of(m, "test_acc", -1.0));
        if (const std::string d = str_of(m, "dataset"); !d.empty()) e.dataset = d;
        if (const auto c = m.find("companion"); c != m.end() && c->is_boolean()) e.companion = c->get<bool>();
        if (str_of(m, "domain") == kSequences) e.domain = kSequences;
        if (!e.name.empty() && !e.file.empty()) entries_.push_back(std::move(e));
      }
      if (const auto ds = j.find("datasets"); ds != j.end() && ds->is_object()) {
        for (const auto& [name, d] : ds->items()) {
          if (!d.is_object()) continue;
          DatasetEntry e;
          e.name = name;
          e.file = str_of(d, "file");
          e.sha256 = str_of(d, "sha256");
          e.file_bytes = static_cast<std::int64_t>(num_of(d, "bytes", 0));
          if (const auto sh = d.find("shape"); sh != d.end() && sh->is_array())
            for (const auto& v : *sh)
              if (v.is_number_unsigned()) e.shape.push_back(static_cast<int>(v.get<std::uint64_t>()));
          if (const auto cl = d.find("classes"); cl != d.end() && cl->is_array())
            for (const auto& v : *cl)
              if (v.is_string()) e.classes.push_back(v.get<std::string>());
          e.eps_max = num_of(d, "eps_max", 0.3);
          if (str_of(d, "domain") == kSequences) e.domain = kSequences;
          if (!e.file.empty()) datasets_.push_back(std::move(e));
        }
      }
    } catch (const advx::Error& err) {
      manifest_error_ = err.what();
      entries_.clear();
      datasets_.clear();
    }
    return;
  }
  // No manifest (e.g. advx-play --assets <repo>/assets): list the folder; details appear on load.
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(asset_dir + "/models", ec)) {
    if (!f.is_regular_file() || f.path().extension() != ".safetensors") continue;
    ModelEntry e;
    e.name = f.path().stem().string();
    e.file = "models/" + f.path().filename().string();
    e.file_bytes = static_cast<std::int64_t>(f.file_size(ec));
    entries_.push_back(std::move(e));
  }
  const std::vector<std::string> order = {"softmax", "fc500", "small", "cnn", "cifar_lenet"};
  auto rank = [&](const std::string& n) {
    auto it = std::find(order.begin(), order.end(), n);
    return it == order.end() ? order.size() : static_cast<size_t>(it - order.begin());
  };
  std::sort(entries_.begin(), entries_.end(), [&](const ModelEntry& a, const ModelEntry& b) {
    return rank(a.name) != rank(b.name) ? rank(a.name) < rank(b.name) : a.name < b.name;
  });
  if (index_of("cnn") >= 0) default_ = "cnn";
}

std::vector<std::string> ModelStore::names() const {
  std::vector<std::string> n;
  for (const ModelEntry& e : entries_)
    if (!e.companion) n.push_back(e.name);
  return n;
}

int ModelStore::index_of(const std::string& name) const {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].name == name) return static_cast<int>(i);
  return -1;
}

const ModelEntry* ModelStore::find(const std::string& name) const {
  const int i = index_of(name);
  return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)];
}

ModelEntry* ModelStore::lookup(const std::string& name) {
  const int i = index_of(name);
  return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)];
}

ModelStatus ModelStore::request(const std::string& name, bool retry) {
  ModelEntry* e = lookup(name);
  return e ? request_asset(*e, e->name, retry) : ModelStatus::kError;
}

ModelStatus ModelStore::request_dataset(const std::string& name, bool retry) {
  DatasetEntry* d = lookup_dataset(name);
  return d ? request_asset(*d, kDataPrefix + d->name, retry) : ModelStatus::kError;
}

ModelStatus ModelStore::request_asset(Asset& a, const std::string& fetch_name, bool retry) {
  if (a.status == ModelStatus::kError && retry) {
    a.status = ModelStatus::kNotLoaded;
    a.error.clear();
  }
  if (a.status != ModelStatus::kNotLoaded) return a.status;
  a.received = 0;
  a.total = a.file_bytes;
  ++version_;
  // On disk (natively always; on the web when packed into index.data): read it now. Else fetch it.
  const std::string path = fs::path(a.file).is_absolute() ? a.file : dir_ + "/" + a.file;
  if (!fetcher_ || advx::file_exists(path)) {
    try {
      deliver(fetch_name, advx::read_file(path));
    } catch (const advx::Error& err) {
      fail(fetch_name, err.what());
    }
  } else {
    a.status = ModelStatus::kLoading;
    fetcher_(fetch_name, a.file);
  }
  return a.status;
}

ModelEntry& ModelStore::get(const std::string& name) {
  ModelEntry* e = lookup(name);
  if (!e) {
    std::string known;
    for (const ModelEntry& m : entries_) known += (known.empty() ? "" : ", ") + m.name;
    throw advx::Error("unknown model '" + name + "'; available: " + (known.empty() ? "none" : known));
  }
  switch (e->status) {
    case ModelStatus::kReady:
      return *e;
    case ModelStatus::kError:
      throw advx::Error("model '" + name + "' failed to load: " + e->error);
    case ModelStatus::kLoading:
      throw advx::Error("model '" + name + "' is still loading (" + mb(e->received) + " of " + mb(e->total) +
                        "); await advx.loadModel('" + name + "')");
    case ModelStatus::kNotLoaded:
      break;
  }
  throw advx::Error("model '" + name + "' is not loaded; await advx.loadModel('" + name + "')");
}

const DatasetEntry* ModelStore::find_dataset(const std::string& name) const {
  for (const DatasetEntry& d : datasets_)
    if (d.name == name) return &d;
  return nullptr;
}

DatasetEntry* ModelStore::lookup_dataset(const std::string& name) {
  for (DatasetEntry& d : datasets_)
    if (d.name == name) return &d;
  return nullptr;
}

Asset* ModelStore::lookup_any(const std::string& name) {
  if (name.rfind(kDataPrefix, 0) == 0) return lookup_dataset(name.substr(kDataPrefix.size()));
  return lookup(name);
}

const advx::SequenceDataset& ModelStore::sequences(const std::string& name) {
  DatasetEntry* d = lookup_dataset(name);
  ADVX_REQUIRE(d && d->domain == kSequences, "the sequence dataset '" + name + "' is not shipped with this build");
  switch (d->status) {
    case ModelStatus::kReady:
      return *d->sequences;
    case ModelStatus::kError:
      throw advx::Error("the " + name + " dataset failed to load: " + d->error);
    case ModelStatus::kLoading:
      if (d->reading)
        throw advx::Error("the " + name + " dataset is still being read (" +
                          std::to_string(static_cast<int>(100.0 * d->reading->progress())) + "%)");
      throw advx::Error("the " + name + " dataset is still loading (" + mb(d->received) + " of " + mb(d->total) + ")");
    case ModelStatus::kNotLoaded:
      break;
  }
  throw advx::Error("the " + name + " dataset is not loaded yet");
}

const Samples& ModelStore::samples(const std::string& name) {
  DatasetEntry* d = lookup_dataset(name);
  // "mnist" is a test sample; "mnist/train" a whole split (frontend/CMakeLists.txt).
  const bool split = name.find('/') != std::string::npos;
  const std::string what = split ? "the " + name + " images" : "the " + name + " test sample";
  const std::string are = split ? " are" : " is";
  ADVX_REQUIRE(d, "this build of the playground does not ship " + what);
  switch (d->status) {
    case ModelStatus::kReady:
      return d->samples;
    case ModelStatus::kError:
      throw advx::Error(what + " failed to load: " + d->error);
    case ModelStatus::kLoading:
      throw advx::Error(what + are + " still loading (" + mb(d->received) + " of " + mb(d->total) + ")");
    case ModelStatus::kNotLoaded:
      break;
  }
  throw advx::Error(what + are + " not loaded yet");
}

namespace {

void check_size(const Asset& a, std::size_t n) {
  if (a.file_bytes > 0 && static_cast<std::int64_t>(n) != a.file_bytes)
    throw advx::Error(a.file + " has " + std::to_string(n) + " bytes, the manifest says " +
                      std::to_string(a.file_bytes) + " (truncated or stale file?)");
}

void check_bytes(const Asset& a, const std::vector<std::uint8_t>& bytes) {
  check_size(a, bytes.size());
  if (!a.sha256.empty()) check_sha256(a.file, advx::sha256_hex(bytes), a.sha256);
}

}  // namespace

bool ModelStore::step_read(DatasetEntry& d, double budget_ms) {
  SequenceLoad& r = *d.reading;
  try {
    if (!step_within(r, budget_ms, r.last_ms)) return false;
    d.sequences = std::make_shared<const advx::SequenceDataset>(r.load->take());
    d.reading.reset();
    d.status = ModelStatus::kReady;
    d.error.clear();
    ++version_;
  } catch (const advx::Error& err) {
    d.reading.reset();
    fail(kDataPrefix + d.name, err.what());
  } catch (const std::bad_alloc&) {
    d.reading.reset();
    fail(kDataPrefix + d.name,
         "out of memory while reading the " + d.name + " dataset (close other tabs or reload the page)");
  }
  return true;
}

bool ModelStore::advance(double budget_ms) {
  bool left = false;
  for (DatasetEntry& d : datasets_)
    if (d.reading) left = !step_read(d, budget_ms) || left;
  return left;
}

void ModelStore::finish_read(const std::string& dataset) {
  DatasetEntry* d = lookup_dataset(dataset);
  if (d && d->reading) step_read(*d, std::numeric_limits<double>::infinity());
}

double ModelStore::read_progress(const std::string& dataset) const {
  const DatasetEntry* d = find_dataset(dataset);
  return d && d->reading ? d->reading->progress() : -1.0;
}

bool ModelStore::deliver(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  if (name.rfind(kDataPrefix, 0) == 0) {
    DatasetEntry* d = lookup_dataset(name.substr(kDataPrefix.size()));
    if (!d) return false;
    try {
      if (d->domain == kSequences) {   // the dataset file, gzipped: read in steps (advance())
        check_size(*d, bytes.size());  // the checksum comes in steps
        auto r = std::make_shared<SequenceLoad>();
        r->gz = bytes;
        r->expected_sha = d->sha256;
        r->name = d->name;
        r->file = d->file;
        d->reading = std::move(r);
        d->sequences.reset();
      } else {
        check_bytes(*d, bytes);
        d->samples = decode_samples(bytes, d->name, d->shape, d->classes, d->file);
      }
      d->file_bytes = static_cast<std::int64_t>(bytes.size());
      d->received = d->total = d->file_bytes;
      d->status = d->reading ? ModelStatus::kLoading : ModelStatus::kReady;  // a sequence dataset: read in steps
      d->error.clear();
      ++version_;
      return true;
    } catch (const advx::Error& err) {
      fail(name, err.what());
      return false;
    } catch (const std::bad_alloc&) {
      fail(name, "out of memory while reading the " + d->name + " images (close other tabs or reload the page)");
      return false;
    }
  }
  ModelEntry* e = lookup(name);
  if (!e) return false;
  try {
    check_bytes(*e, bytes);
    if (e->domain == kSequences) {
      auto model = std::make_unique<advx::SequenceModel>(advx::load_sequence_model_bytes(bytes, e->file, &e->metadata));
      e->codec = advx::TextCodec(e->metadata, e->name);
      e->arch = model->arch();
      e->params = model->num_params();
      e->dataset = e->codec.dataset();
      e->file_bytes = static_cast<std::int64_t>(bytes.size());
      e->received = e->total = e->file_bytes;
      e->seq_model = std::move(model);
      e->status = ModelStatus::kReady;
      e->error.clear();
      ++version_;
      return true;
    }
    auto model = std::make_unique<advx::Sequential>(advx::load_model_bytes(bytes, e->file, &e->metadata));
    e->arch = model->arch;
    e->params = model->num_params();
    if (auto d = e->metadata.find("advx.dataset"); d != e->metadata.end() && !d->second.empty()) e->dataset = d->second;
    auto acc = e->metadata.find("advx.test_acc");
    if (acc != e->metadata.end() && e->test_acc < 0) {
      char* end = nullptr;
      const double v = std::strtod(acc->second.c_str(), &end);
      if (end != acc->second.c_str()) e->test_acc = static_cast<float>(v > 1.0 ? v / 100.0 : v);
    }
    e->file_bytes = static_cast<std::int64_t>(bytes.size());
    e->received = e->total = e->file_bytes;
    e->model = std::move(model);
    e->status = ModelStatus::kReady;
    e->error.clear();
    ++version_;
    return true;
  } catch (const advx::Error& err) {
    fail(name, err.what());
    return false;
  } catch (const std::bad_alloc&) {
    fail(name, "out of memory while building the model from " + std::to_string(bytes.size()) +
                   " bytes (close other tabs or reload the page)");
    return false;
  }
}

void ModelStore::add(const std::string& name, std::unique_ptr<advx::Sequential> model, const std::string& dataset,
                     float test_acc) {
  ADVX_REQUIRE(model, "no model to add");
  ADVX_REQUIRE(!name.empty() && !lookup(name), "a model named '" + name + "' is already there");
  ModelEntry e;
  e.name = name;
  e.arch = model->arch;
  e.params = model->num_params();
  e.dataset = dataset;
  e.test_acc = test_acc;
  e.model = std::move(model);
  e.status = ModelStatus::kReady;
  entries_.push_back(std::move(e));
  ++version_;
}

void ModelStore::fail(const std::string& name, const std::string& why) {
  if (ModelEntry* m = lookup(name)) m->model.reset(), m->seq_model.reset();
  if (name.rfind(kDataPrefix, 0) == 0)
    if (DatasetEntry* d = lookup_dataset(name.substr(kDataPrefix.size())))
      d->samples = Samples{}, d->sequences.reset(), d->reading.reset();
  Asset* e = lookup_any(name);
  if (!e) return;
  e->status = ModelStatus::kError;
  e->error = why;
  ++version_;
}

void ModelStore::progress(const std::string& name, std::int64_t received, std::int64_t total) {
  Asset* e = lookup_any(name);
  if (!e || e->status != ModelStatus::kLoading) return;
  e->received = received;
  if (total > 0) e->total = total;
}

}  // namespace play
