#include <cstdio>
#include <map>
#include <memory>
#include <utility>

#include "engine/defences/defence.h"
#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/features.h"
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

namespace {

// DefenceSpec::build as a build of one step.
class OneStepBuild : public DefenceBuild {
 public:
  explicit OneStepBuild(std::function<std::unique_ptr<Classifier>()> build) : build_(std::move(build)) {}
  bool step() override {
    if (!result_) result_ = build_();
    return true;
  }
  std::unique_ptr<Classifier> result() override {
    ADVX_REQUIRE(result_, "the defence's build has not finished (or its result was taken)");
    return std::move(result_);
  }

 private:
  std::function<std::unique_ptr<Classifier>()> build_;
  std::unique_ptr<Classifier> result_;
};

// A build whose result, a detector, gets the adaptive attacker's weight.
class WithAttackWeight : public DefenceBuild {
 public:
  WithAttackWeight(std::unique_ptr<DefenceBuild> inner, float w) : inner_(std::move(inner)), w_(w) {}
  bool step() override { return inner_->step(); }
  std::string progress() const override { return inner_->progress(); }
  double fraction() const override { return inner_->fraction(); }
  std::unique_ptr<Classifier> result() override {
    std::unique_ptr<Classifier> d = inner_->result();
    if (auto* det = dynamic_cast<DetectorDefence*>(d.get())) det->set_attack_weight(w_);
    return d;
  }

 private:
  std::unique_ptr<DefenceBuild> inner_;
  float w_;
};

}  // namespace

std::unique_ptr<DefenceBuild> start_defence(const DefenceSpec& spec, const DefenceContext& ctx, Classifier& base,
                                            const ParamValues& params, bool bpda) {
  check_values(spec.params, params, "");
  for (const ParamSpec& p : spec.params)
    ADVX_REQUIRE(params.has(p.key), "defence '" + spec.name + "' needs parameter '" + p.key + "' (" + p.help + ")");
  std::unique_ptr<DefenceBuild> b = spec.start ? spec.start(ctx, base, params, bpda)
                                               : std::make_unique<OneStepBuild>([&spec, ctx, &base, params, bpda] {
                                                   return spec.build(ctx, base, params, bpda);
                                                 });
  // A detector's adaptive attacker (engine/detect/detector.h): its weight is a parameter of every
  // detecting defence (detector_params).
  if (params.has("reject_weight"))
    return std::make_unique<WithAttackWeight>(std::move(b), static_cast<float>(params.number("reject_weight")));
  return b;
}

std::unique_ptr<Classifier> build_defence(const DefenceSpec& spec, const DefenceContext& ctx, Classifier& base,
                                          const ParamValues& params, bool bpda) {
  std::unique_ptr<DefenceBuild> b = start_defence(spec, ctx, base, params, bpda);
  while (!b->step()) {
  }
  return b->result();
}

StagedBuild::StagedBuild(std::vector<Stage> stages, std::function<std::unique_ptr<Classifier>()> finish)
    : staged_(std::move(stages), std::move(finish)) {}

bool StagedBuild::step() {
  return staged_.step();
}

std::string StagedBuild::progress() const {
  return staged_.progress();
}

double StagedBuild::fraction() const {
  return staged_.fraction();
}

std::unique_ptr<Classifier> StagedBuild::result() {
  ADVX_REQUIRE(staged_.done() && staged_.result(), "the defence's build has not finished (or its result was taken)");
  return std::move(staged_.result());
}

std::shared_ptr<FeatureWork> shared_features(const DefenceContext& ctx, Sequential& model, const Dataset& data,
                                             const std::string& data_name, int count) {
  char addr[64];
  std::snprintf(addr, sizeof addr, "%p/%p", static_cast<const void*>(&model), static_cast<const void*>(&data));
  const std::string key = "features/" + model.arch + "/" + data_name + "/" + std::to_string(count) + "@" + addr;
  if (ctx.kept) {
    auto it = ctx.kept->find(key);
    if (it != ctx.kept->end())
      if (auto w = std::dynamic_pointer_cast<FeatureWork>(it->second)) return w;
  }
  auto w = std::make_shared<FeatureWork>(model, data, count);
  if (ctx.kept) (*ctx.kept)[key] = w;
  return w;
}

namespace {

// Every second image of `d` from `first` (0 or 1).
Dataset every_other(const Dataset& d, int first) {
  ADVX_REQUIRE(d.size() >= 2, "splitting '" + d.name + "' by index parity needs at least 2 images");
  Dataset out;  // not a copy of d: its images would be copied only to be replaced (9-20 ms for MNIST's test split)
  out.name = d.name;
  out.num_classes = d.num_classes;
  out.class_names = d.class_names;
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
