#include <map>
#include <memory>

#include "engine/defences/defence.h"
#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/model_io.h"

namespace advx {

#define ADVX_DEFENCE(name) DefenceSpec name##_defence();
#include "engine/defences/list.inc"
#undef ADVX_DEFENCE

const std::vector<DefenceSpec>& defences() {
#define ADVX_DEFENCE(name) name##_defence(),
  static const std::vector<DefenceSpec> all = {
#include "engine/defences/list.inc"
  };
#undef ADVX_DEFENCE
  return all;
}

const DefenceSpec* find_defence(const std::string& name) {
  for (const DefenceSpec& d : defences())
    if (d.name == name) return &d;
  return nullptr;
}

std::string defence_names(const std::string& sep) {
  std::string out;
  for (const DefenceSpec& d : defences()) out += (out.empty() ? "" : sep) + d.name;
  return out;
}

const DefenceSpec& get_defence(const std::string& name) {
  const DefenceSpec* d = find_defence(name);
  ADVX_REQUIRE(d, "unknown defence '" + name + "'; known: " + defence_names());
  return *d;
}

std::unique_ptr<Classifier> build_defence(const DefenceSpec& spec, const DefenceContext& ctx, Classifier& base,
                                          const ParamValues& params, bool bpda) {
  check_values(spec.params, params, "");
  for (const ParamSpec& p : spec.params)
    ADVX_REQUIRE(params.has(p.key), "defence '" + spec.name + "' needs parameter '" + p.key + "' (" + p.help + ")");
  std::unique_ptr<Classifier> d = spec.build(ctx, base, params, bpda);
  // A detector's adaptive attacker (engine/detect/detector.h): its weight is a parameter of every
  // detecting defence (detector_params).
  if (auto* det = dynamic_cast<DetectorDefence*>(d.get()); det && params.has("reject_weight"))
    det->set_attack_weight(static_cast<float>(params.number("reject_weight")));
  return d;
}

namespace {

// Every second image of `d` from `first` (0 or 1).
Dataset every_other(const Dataset& d, int first) {
  ADVX_REQUIRE(d.size() >= 2, "splitting '" + d.name + "' by index parity needs at least 2 images");
  Dataset out = d;
  const int n = (d.size() - first + 1) / 2;
  Shape s = d.images.shape;
  s[0] = n;
  out.images = Tensor(s);
  out.labels.resize(static_cast<std::size_t>(n));
  const std::int64_t per = d.images.sample_size();
  for (int k = 0; k < n; ++k) {
    const int i = first + 2 * k;
    std::copy_n(d.images.ptr() + static_cast<std::int64_t>(i) * per, per,
                out.images.ptr() + static_cast<std::int64_t>(k) * per);
    out.labels[static_cast<std::size_t>(k)] = d.labels[static_cast<std::size_t>(i)];
  }
  return out;
}

}  // namespace

Dataset validation_split(const Dataset& test) {
  return every_other(test, 1);
}
Dataset held_out_split(const Dataset& test) {
  return every_other(test, 0);
}

DefenceContext disk_context(const std::string& data_dir) {
  // Loaded once per context and kept (shared by copies of the context).
  auto models = std::make_shared<std::map<std::string, std::unique_ptr<Sequential>>>();
  auto sets = std::make_shared<std::map<std::string, Dataset>>();
  DefenceContext c;
  c.model = [models](const std::string& name) -> Sequential& {
    auto it = models->find(name);
    if (it == models->end()) {
      std::string path = "assets/models/" + name + ".safetensors";
      if (!file_exists(path)) path = std::string(ADVX_SOURCE_DIR) + "/" + path;
      ADVX_REQUIRE(file_exists(path), "the defence needs the model '" + name + "' (assets/models/" + name +
                                          ".safetensors), which is not there");
      it = models->emplace(name, std::make_unique<Sequential>(load_model(path))).first;
    }
    return *it->second;
  };
  c.data = [sets, data_dir](const std::string& name, const std::string& split) -> const Dataset& {
    const std::string key = name + "/" + split;
    auto it = sets->find(key);
    if (it == sets->end()) {
      const std::string dir = resolve_data_dir(data_dir);
      it = sets->emplace(key, split == "validation" ? validation_split(load_dataset(dir, name, "test"))
                                                    : load_dataset(dir, name, split))
               .first;
    }
    return it->second;
  };
  return c;
}

}  // namespace advx
