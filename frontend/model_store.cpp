#include "frontend/model_store.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/model_io.h"
#include "engine/io/sha256.h"

namespace play {

namespace fs = std::filesystem;

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
        if (!e.name.empty() && !e.file.empty()) entries_.push_back(std::move(e));
      }
    } catch (const advx::Error& err) {
      manifest_error_ = err.what();
      entries_.clear();
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
  const std::vector<std::string> order = {"softmax", "fc500", "small", "cnn"};
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
  for (const ModelEntry& e : entries_) n.push_back(e.name);
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
  if (!e) return ModelStatus::kError;
  if (e->status == ModelStatus::kError && retry) {
    e->status = ModelStatus::kNotLoaded;
    e->error.clear();
  }
  if (e->status != ModelStatus::kNotLoaded) return e->status;
  e->received = 0;
  e->total = e->file_bytes;
  ++version_;
  if (fetcher_) {
    e->status = ModelStatus::kLoading;
    fetcher_(e->name, e->file);
  } else {
    load_from_disk(*e);
  }
  return e->status;
}

void ModelStore::load_from_disk(ModelEntry& e) {
  const std::string path = fs::path(e.file).is_absolute() ? e.file : dir_ + "/" + e.file;
  try {
    deliver(e.name, advx::read_file(path));
  } catch (const advx::Error& err) {
    fail(e.name, err.what());
  }
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

bool ModelStore::deliver(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  ModelEntry* e = lookup(name);
  if (!e) return false;
  try {
    if (e->file_bytes > 0 && static_cast<std::int64_t>(bytes.size()) != e->file_bytes)
      throw advx::Error(e->file + " has " + std::to_string(bytes.size()) + " bytes, the manifest says " +
                        std::to_string(e->file_bytes) + " (truncated or stale file?)");
    if (!e->sha256.empty() && advx::sha256_hex(bytes) != e->sha256)
      throw advx::Error(e->file + " is corrupt: its SHA-256 differs from the manifest's");
    auto model = std::make_unique<advx::Sequential>(advx::load_model_bytes(bytes, e->file, &e->metadata));
    e->arch = model->arch;
    e->params = model->num_params();
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
  }
}

void ModelStore::fail(const std::string& name, const std::string& why) {
  ModelEntry* e = lookup(name);
  if (!e) return;
  e->model.reset();
  e->status = ModelStatus::kError;
  e->error = why;
  ++version_;
}

void ModelStore::progress(const std::string& name, std::int64_t received, std::int64_t total) {
  ModelEntry* e = lookup(name);
  if (!e || e->status != ModelStatus::kLoading) return;
  e->received = received;
  if (total > 0) e->total = total;
}

}  // namespace play
