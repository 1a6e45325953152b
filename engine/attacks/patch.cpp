// The adversarial patch as a registered attack (Brown, Mané, Roy, Abadi, Gilmer 2017,
// arXiv:1712.09665): on a batch of images, train a patch by expectation over transformations
// (engine/attacks/patch_trainer.h) for `steps` Adam steps, then paste it on every image at a
// seeded random placement:
//
//     P* = argmax_P  E_{i ~ batch, t ~ T} [ v(model(A(P, x_i, t))) ],     adv_i = A(P*, x_i, t_i)
//
// T: angle uniform in +-rotation degrees, side uniform in nominal * [0.9, 1.1] while training, the
// nominal side sqrt(size * H * W) for the result, position uniform inside the image. Each step draws
// 32 images of the batch (with replacement) with one placement each, so even one image is trained
// against 32 placements a step. The budget: the result changes only pixels whose centre lies in the
// placed square, of area size * H * W (norm Patch; tests/unit/test_registry.cpp bounds the count and
// the extent).
//
// Goals, stated: targeted, one patch per target class present in the batch, trained on the images
// with that target (a universal patch for that class when they are many): success = pred == target.
// Untargeted, one patch for the whole batch that ascends each image's own-label loss (a universal
// "anything but the truth" patch): success = pred != label. The final placement is a fresh draw,
// not the best of several: the result says how the patch does where it happens to land.
#include <algorithm>
#include <memory>

#include "engine/attacks/attack.h"
#include "engine/attacks/patch_trainer.h"
#include "engine/error.h"

namespace advx {
namespace {

constexpr int kEotBatch = 32;
constexpr double kScaleJitter = 0.1;

class PatchRun : public AttackRun, public PatchRunView {
 public:
  explicit PatchRun(const AttackInput& in)
      : m_(in.model), x_(in.x), goal_(in.goal), steps_(in.params.integer("steps")), evaluate_(in.evaluate) {
    ADVX_REQUIRE(x_.rank() == 4, "the patch attack needs images [N, C, H, W], got " + shape_str(x_.shape));
    eot_.area = in.params.number("size");
    eot_.rotation = in.params.number("rotation");
    const int n = x_.dim(0);
    // Groups: one per distinct target, in order of first appearance; one for an untargeted goal.
    std::vector<int> targets;
    sample_trainer_.assign(static_cast<size_t>(n), 0);
    for (int i = 0; i < n; ++i) {
      const int t = goal_.target(static_cast<size_t>(i));
      auto it = std::find(targets.begin(), targets.end(), t);
      if (it == targets.end()) it = targets.insert(targets.end(), t);
      sample_trainer_[static_cast<size_t>(i)] = static_cast<int>(it - targets.begin());
    }
    Rng seeds(in.seed);
    for (size_t g = 0; g < targets.size(); ++g) {
      std::vector<int> pool;
      for (int i = 0; i < n; ++i)
        if (sample_trainer_[static_cast<size_t>(i)] == static_cast<int>(g)) pool.push_back(i);
      PatchTrainConfig cfg;
      cfg.eot = eot_;
      cfg.eot.scale_jitter = kScaleJitter;
      cfg.batch = kEotBatch;
      cfg.lr = static_cast<float>(in.params.number("patch_lr"));
      cfg.seed = seeds.next_u64();
      trainers_.push_back(
          std::make_unique<PatchTrainer>(m_, in.objective, x_, goal_.labels, targets[g], cfg, std::move(pool)));
    }
    place_seed_ = seeds.next_u64();
    r_.pred.assign(static_cast<size_t>(n), -1);
    r_.success.assign(static_cast<size_t>(n), 0);
  }

  bool step() override {
    if (finished_) return true;
    if (g_ < trainers_.size()) {
      PatchTrainer& t = *trainers_[g_];
      t.step();
      r_.gradient_calls += kEotBatch;
      r_.queries += kEotBatch;
      if (t.steps() == steps_) ++g_;
      return false;
    }
    finish();
    return true;
  }
  bool done() const override { return finished_; }
  double progress() const override {
    if (finished_) return 1.0;
    int done = 0;
    for (const auto& t : trainers_) done += t->steps();
    return static_cast<double>(done) / (static_cast<double>(trainers_.size()) * steps_ + 1.0);
  }
  const AttackResult& result() const override { return r_; }

  AttackSnapshot snapshot() const override {
    AttackSnapshot s;
    for (const auto& t : trainers_) s.iteration += t->steps();
    s.iterations = static_cast<int>(trainers_.size()) * steps_;
    s.queries = r_.queries;
    const PatchTrainer& t = trainer(current_trainer());
    for (const PatchStepStats& st : t.history()) s.best_history.push_back(-st.loss);  // the objective's mean value
    if (finished_) {
      s.candidates.push_back(final_.covered(0));
    } else if (t.steps() > 0) {
      s.candidates.push_back(t.applier().covered(0));  // where the patch sat on the last step's first image
    }
    s.best = s.candidates.empty() ? -1 : 0;
    return s;
  }

  int trainer_count() const override { return static_cast<int>(trainers_.size()); }
  const PatchTrainer& trainer(int g) const override {
    ADVX_REQUIRE(g >= 0 && g < trainer_count(), "patch run: no trainer " + std::to_string(g));
    return *trainers_[static_cast<size_t>(g)];
  }
  int current_trainer() const override { return static_cast<int>(std::min(g_, trainers_.size() - 1)); }
  const std::vector<int>& sample_trainer() const override { return sample_trainer_; }
  const std::vector<PatchPlacement>& placements() const override { return placements_; }

 private:
  // Each image gets its group's patch at a fresh placement of the nominal size.
  void finish() {
    const int n = x_.dim(0), h = x_.dim(2), w = x_.dim(3);
    Rng rng(place_seed_);
    placements_.resize(static_cast<size_t>(n));
    for (PatchPlacement& p : placements_) p = sample_placement(rng, eot_, h, w);
    r_.adv = x_;
    const std::int64_t per = x_.sample_size();
    Tensor xg, yg;
    PatchApplier a;
    for (size_t g = 0; g < trainers_.size(); ++g) {
      std::vector<int> idx;
      std::vector<PatchPlacement> where;
      for (int i = 0; i < n; ++i)
        if (sample_trainer_[static_cast<size_t>(i)] == static_cast<int>(g))
          idx.push_back(i), where.push_back(placements_[static_cast<size_t>(i)]);
      Shape s = x_.shape;
      s[0] = static_cast<int>(idx.size());
      xg.resize(s);
      for (size_t k = 0; k < idx.size(); ++k)
        std::copy_n(x_.ptr() + idx[k] * per, per, xg.ptr() + static_cast<std::int64_t>(k) * per);
      a.place(where, x_.dim(1), h, w, trainers_[g]->patch().dim(1));
      a.forward(trainers_[g]->patch(), xg, yg);
      for (size_t k = 0; k < idx.size(); ++k)
        std::copy_n(yg.ptr() + static_cast<std::int64_t>(k) * per, per, r_.adv.ptr() + idx[k] * per);
    }
    // The same placements once more, one per sample, for snapshot() and the playground's outline.
    final_.place(placements_, x_.dim(1), h, w, trainers_[0]->patch().dim(1));
    if (evaluate_) evaluate_result(m_, goal_, r_);
    finished_ = true;
  }

  Classifier& m_;
  const Tensor x_;  // a copy: the caller's images are never written; the trainers read it
  const Goal goal_;
  const int steps_;
  const bool evaluate_;
  PatchEot eot_;
  std::vector<std::unique_ptr<PatchTrainer>> trainers_;
  std::vector<int> sample_trainer_;
  std::vector<PatchPlacement> placements_;
  std::uint64_t place_seed_ = 0;
  size_t g_ = 0;
  bool finished_ = false;
  PatchApplier final_;
  AttackResult r_;
};

}  // namespace

AttackSpec patch_attack() {
  AttackSpec s;
  s.name = "patch", s.title = "adversarial patch", s.key = 'H', s.norm = Norm::Patch, s.budget = "size";
  s.summary =
      "a square patch trained on the batch by expectation over placements (position, scale, rotation), then pasted "
      "at a random place";
  s.citation = "Brown, Mané, Roy, Abadi, Gilmer 2017, arXiv:1712.09665";
  ParamSpec size = float_param("size", 0.01, 0.5, 0.1, "share of the image area the patch covers (0.1 = 10%)");
  size.required = true;
  size.ui_max = 0.25;
  ParamSpec steps = int_param("steps", 1, 1000, 10, "gradient steps (Adam steps on the patch, 32 placements each)");
  ParamSpec rotation = float_param("rotation", 0.0, 45.0, 20.0, "largest rotation of the patch, degrees (+- uniform)");
  rotation.advanced = true;
  // Not "lr": the CLI's `advx train` has its own --lr, and every table's keys become flags there too.
  ParamSpec lr = float_param("patch_lr", 0.001, 1.0, 0.05, "Adam learning rate on the patch's [0, 1] pixels");
  lr.advanced = true;
  lr.ui_max = 0.2;
  s.params = {size, steps, rotation, lr};
  s.start = [](const AttackInput& in) -> std::unique_ptr<AttackRun> { return std::make_unique<PatchRun>(in); };
  return s;
}

}  // namespace advx
