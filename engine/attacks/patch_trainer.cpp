#include "engine/attacks/patch_trainer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/error.h"
#include "engine/loss.h"

namespace advx {

double PatchLoss::evaluate(Classifier& model, const Objective& objective, const PatchApplier& applier,
                           const Tensor& patch, const Tensor& x, const Goal& goal, Tensor* grad) {
  applier.forward(patch, x, y_);
  const Tensor& z = model.logits(y_);
  objective.evaluate(z, goal, v_, grad ? &dlogits_ : nullptr);
  pred_ = argmax_rows(z);
  const auto b = static_cast<double>(v_.size());
  double sum = 0.0;
  for (float v : v_) sum += v;
  if (grad) {
    // L = -(1/B) sum v_i: dL/dz = -(1/B) dv/dz, then through the model and the patch operator.
    dlogits_.mat() *= static_cast<float>(-1.0 / b);
    model.input_gradient(dlogits_, dy_);
    grad->resize({0});  // backward() starts a fresh sum
    applier.backward(dy_, nullptr, grad);
  }
  return -sum / b;
}

PatchTrainer::PatchTrainer(Classifier& model, const Objective& objective, const Tensor& images, std::vector<int> labels,
                           int target, PatchTrainConfig cfg, std::vector<int> pool, const Tensor* init)
    : model_(model),
      objective_(objective),
      images_(images),
      labels_(std::move(labels)),
      pool_(std::move(pool)),
      target_(target),
      cfg_(cfg),
      rng_(cfg.seed),
      adam_(cfg.lr) {
  check_eot(cfg_.eot);
  ADVX_REQUIRE(cfg_.batch >= 1 && cfg_.batch <= 4096,
               "patch training: batch must be in 1..4096, got " + std::to_string(cfg_.batch));
  ADVX_REQUIRE(std::isfinite(cfg_.lr) && cfg_.lr > 0.0f && cfg_.lr <= 1.0f,
               "patch training: the learning rate must be in (0, 1], got " + std::to_string(cfg_.lr));
  ADVX_REQUIRE(images_.rank() == 4, "patch training needs images [N, C, H, W], got " + shape_str(images_.shape));
  check_input(model_, images_, true);
  check_labels(model_, labels_, static_cast<size_t>(images_.dim(0)), "labels");
  ADVX_REQUIRE(target_ < model_.num_classes(), "patch training: target class " + std::to_string(target_) +
                                                   " is out of range: classes are 0.." +
                                                   std::to_string(model_.num_classes() - 1));
  if (pool_.empty())
    for (int i = 0; i < images_.dim(0); ++i)
      if (labels_[static_cast<size_t>(i)] != target_) pool_.push_back(i);
  ADVX_REQUIRE(!pool_.empty(), "patch training: no image to train on (every image is of the target class)");
  for (int i : pool_)
    ADVX_REQUIRE(i >= 0 && i < images_.dim(0), "patch training: pool index " + std::to_string(i) + " out of range");
  const int c = images_.dim(1), h = images_.dim(2), w = images_.dim(3), s = patch_resolution(cfg_.eot.area, h, w);
  if (init) {
    ADVX_REQUIRE(init->shape == Shape({c, s, s}),
                 "the starting patch must be " + shape_str({c, s, s}) + " (channels of the images, " +
                     std::to_string(s) + " = sqrt(area * H * W) pixels square), got " + shape_str(init->shape));
    for (float v : init->data)
      ADVX_REQUIRE(v >= 0.0f && v <= 1.0f, "the starting patch has a pixel outside [0, 1] (or NaN)");
    patch_ = *init;
  } else {
    patch_ = Tensor({c, s, s});
    for (float& v : patch_.data) v = rng_.uniform();
  }
  grad_ = Tensor({c, s, s});
}

void PatchTrainer::step() {
  const int b = cfg_.batch, h = images_.dim(2), w = images_.dim(3);
  const std::int64_t per = images_.sample_size();
  Shape shape = images_.shape;
  shape[0] = b;
  xb_.resize(shape);
  goal_.labels.resize(static_cast<size_t>(b));
  goal_.targets.assign(target_ >= 0 ? static_cast<size_t>(b) : 0, target_);
  where_.resize(static_cast<size_t>(b));
  for (int k = 0; k < b; ++k) {
    const int i = pool_[static_cast<size_t>(rng_.below(pool_.size()))];
    std::copy_n(images_.ptr() + i * per, per, xb_.ptr() + k * per);
    goal_.labels[static_cast<size_t>(k)] = labels_[static_cast<size_t>(i)];
    where_[static_cast<size_t>(k)] = sample_placement(rng_, cfg_.eot, h, w);
  }
  applier_.place(where_, images_.dim(1), h, w, patch_.dim(1));
  PatchStepStats st;
  st.loss = loss_.evaluate(model_, objective_, applier_, patch_, xb_, goal_, &grad_);
  gradient_calls_ += b;
  int ok = 0;
  for (int k = 0; k < b; ++k)
    ok += attack_succeeded(loss_.pred()[static_cast<size_t>(k)], goal_.labels[static_cast<size_t>(k)],
                           goal_.target(static_cast<size_t>(k)));
  st.success = static_cast<double>(ok) / b;
  history_.push_back(st);
  // Adam descends L; then back into the pixel range.
  adam_.step({Param{"patch", &patch_, &grad_}});
  for (float& v : patch_.data) v = std::clamp(v, 0.0f, 1.0f);
}

Crafter patch_crafter(const Tensor& patch, const PatchEot& eot, std::uint64_t seed) {
  check_eot(eot);
  ADVX_REQUIRE(patch.rank() == 3 && patch.dim(1) == patch.dim(2),
               "a patch must be [C, S, S] (square), got " + shape_str(patch.shape));
  // The Rng and the applier live in the lambda: every copy of the crafter (each Evaluation takes
  // one) starts the same placement sequence, so two models are scored on the same placements.
  return [patch, eot, rng = Rng(seed), applier = PatchApplier(), where = std::vector<PatchPlacement>()](
             Classifier& source, const Tensor& x, const Goal& goal) mutable {
    ADVX_REQUIRE(x.rank() == 4 && x.dim(1) == patch.dim(0), "the patch has " + std::to_string(patch.dim(0)) +
                                                                " channel(s) but the images are " + shape_str(x.shape));
    const int h = x.dim(2), w = x.dim(3);
    where.resize(static_cast<size_t>(x.dim(0)));
    for (PatchPlacement& p : where) p = sample_placement(rng, eot, h, w);
    applier.place(where, x.dim(1), h, w, patch.dim(1));
    AttackResult r;
    applier.forward(patch, x, r.adv);
    evaluate_result(source, goal, r);
    return one_shot([r = std::move(r)] { return r; });  // placing a patch is one unit of work
  };
}

}  // namespace advx
