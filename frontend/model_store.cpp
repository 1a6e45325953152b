#include "frontend/model_store.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "engine/error.h"
#include "engine/io/model_io.h"

namespace play {

namespace fs = std::filesystem;

ModelStore::ModelStore(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".safetensors") continue;
    ModelEntry m;
    m.name = e.path().stem().string();
    m.path = e.path().string();
    m.file_bytes = static_cast<std::int64_t>(e.file_size(ec));
    entries_.push_back(std::move(m));
  }
  // Shipped order: simplest first.
  const std::vector<std::string> order = {"softmax", "fc500", "small", "cnn"};
  auto rank = [&](const std::string& n) {
    auto it = std::find(order.begin(), order.end(), n);
    return it == order.end() ? order.size() : static_cast<size_t>(it - order.begin());
  };
  std::sort(entries_.begin(), entries_.end(), [&](const ModelEntry& a, const ModelEntry& b) {
    return rank(a.name) != rank(b.name) ? rank(a.name) < rank(b.name) : a.name < b.name;
  });
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

ModelEntry& ModelStore::get(const std::string& name) {
  const int i = index_of(name);
  if (i < 0) {
    std::string known;
    for (const ModelEntry& e : entries_) known += (known.empty() ? "" : ", ") + e.name;
    throw advx::Error("unknown model '" + name + "'; available: " + (known.empty() ? "(none in " + dir_ + ")" : known));
  }
  ModelEntry& e = entries_[static_cast<size_t>(i)];
  if (e.model) return e;
  if (!e.error.empty()) throw advx::Error(e.error);
  try {
    e.model = std::make_unique<advx::Sequential>(advx::load_model(e.path, &e.metadata));
  } catch (const advx::Error& err) {
    e.error = err.what();
    throw;
  }
  e.arch = e.model->arch;
  e.params = e.model->num_params();
  auto acc = e.metadata.find("advx.test_acc");
  if (acc != e.metadata.end()) {
    char* end = nullptr;
    const double v = std::strtod(acc->second.c_str(), &end);
    if (end != acc->second.c_str()) e.test_acc = static_cast<float>(v > 1.0 ? v / 100.0 : v);
  }
  return e;
}

}  // namespace play
