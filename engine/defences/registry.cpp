#include "engine/defences/defence.h"
#include "engine/error.h"

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

std::unique_ptr<Classifier> build_defence(const DefenceSpec& spec, Classifier& base, const ParamValues& params,
                                          bool bpda) {
  check_values(spec.params, params, "");
  for (const ParamSpec& p : spec.params)
    ADVX_REQUIRE(params.has(p.key), "defence '" + spec.name + "' needs parameter '" + p.key + "' (" + p.help + ")");
  return spec.build(base, params, bpda);
}

}  // namespace advx
