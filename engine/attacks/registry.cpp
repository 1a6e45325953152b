#include <algorithm>

#include "engine/attacks/attack.h"
#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/loss.h"

namespace advx {

#define ADVX_ATTACK(name) AttackSpec name##_attack();
#include "engine/attacks/list.inc"
#undef ADVX_ATTACK

const char* norm_name(Norm n) {
  switch (n) {
    case Norm::Linf:
      return "linf";
    case Norm::L2:
      return "l2";
    case Norm::L0:
      return "l0";
    case Norm::Patch:
      return "patch";
  }
  return "?";
}

const std::vector<AttackSpec>& attacks() {
#define ADVX_ATTACK(name) name##_attack(),
  static const std::vector<AttackSpec> all = {
#include "engine/attacks/list.inc"
  };
#undef ADVX_ATTACK
  return all;
}

const AttackSpec* find_attack(const std::string& name) {
  for (const AttackSpec& a : attacks())
    if (a.name == name) return &a;
  return nullptr;
}

std::string attack_names(const std::string& sep) {
  std::string out;
  for (const AttackSpec& a : attacks()) out += (out.empty() ? "" : sep) + a.name;
  return out;
}

const AttackSpec& get_attack(const std::string& name) {
  const AttackSpec* a = find_attack(name);
  ADVX_REQUIRE(a, "unknown attack '" + name + "'; known: " + attack_names());
  return *a;
}

std::unique_ptr<AttackRun> start_attack(const AttackSpec& spec, const AttackInput& in) {
  check_values(spec.params, in.params, "");
  for (const ParamSpec& p : spec.params)
    ADVX_REQUIRE(in.params.has(p.key), "attack '" + spec.name + "' needs parameter '" + p.key + "' (" + p.help + ")");
  check_input(in.model, in.x, true);
  const auto n = static_cast<size_t>(in.x.dim(0));
  check_labels(in.model, in.goal.labels, n, "labels");
  if (in.goal.targeted()) check_labels(in.model, in.goal.targets, n, "targets");
  ADVX_REQUIRE(in.goal.reject >= -1 && in.goal.reject < in.model.num_classes(),
               "reject class " + std::to_string(in.goal.reject) + " is out of range: classes are 0.." +
                   std::to_string(in.model.num_classes() - 1) + " (-1: none)");
  // A detecting model is attacked together with its detector (Carlini & Wagner 2017): see detector.h.
  if (auto* d = dynamic_cast<DetectorDefence*>(&in.model); d && in.goal.reject < 0)
    return start_through_detector(spec, in, *d);
  return spec.start(in);
}

AttackResult run_attack(const AttackSpec& spec, const AttackInput& in) {
  std::unique_ptr<AttackRun> run = start_attack(spec, in);
  while (!run->step()) {
  }
  return run->result();
}

ParamSpec linf_budget_param() {
  ParamSpec s = float_param("eps", 0.0, 1.0, 0.1, "L-inf budget on the [0, 1] pixel scale (e.g. 0.3 for MNIST)");
  s.required = true;
  s.ui_max = 0.5;
  return s;
}

void evaluate_result(Classifier& model, const Goal& goal, AttackResult& r) {
  r.logits = model.logits(r.adv);
  r.queries += r.adv.dim(0);
  r.pred = argmax_rows(r.logits);
  r.success.assign(r.pred.size(), 0);
  for (size_t i = 0; i < r.pred.size(); ++i) r.success[i] = goal.succeeded(i, r.pred[i]);
}

namespace {

class OneShotRun : public AttackRun {
 public:
  explicit OneShotRun(std::function<AttackResult()> work) : work_(std::move(work)) {}
  bool step() override {
    if (!done_) {
      r_ = work_();
      done_ = true;
      work_ = nullptr;  // drops what the work captured
    }
    return true;
  }
  bool done() const override { return done_; }
  double progress() const override { return done_ ? 1.0 : 0.0; }
  const AttackResult& result() const override { return r_; }

 private:
  std::function<AttackResult()> work_;
  AttackResult r_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<AttackRun> one_shot(std::function<AttackResult()> work) {
  return std::make_unique<OneShotRun>(std::move(work));
}

}  // namespace advx
