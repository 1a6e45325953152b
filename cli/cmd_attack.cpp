#include <cmath>
#include <cstdio>

#include "cli/args.h"
#include "engine/attacks/attack.h"
#include "engine/io/image.h"
#include "engine/io/model_io.h"
#include "engine/loss.h"

namespace advx::cli {

int cmd_attack(const Args& a) {
  a.allow({"model", "image", "attack", "eps", "out", "label", "target", "steps", "step-size", "restarts",
           "random-start", "no-random-start", "early-stop", "seed"});
  Sequential m = load_model(model_path(a.str("model")));
  ADVX_REQUIRE(a.has("image") && a.has("out"), "attack needs --image PNG and --out PNG");
  Tensor img = load_image(a.str("image"), m.input_shape[0]);
  if (img.dim(1) != m.input_shape[1] || img.dim(2) != m.input_shape[2]) {
    std::printf("note: resizing %dx%d image to %dx%d\n", img.dim(2), img.dim(1), m.input_shape[2], m.input_shape[1]);
    img = resize_image(img, m.input_shape[1], m.input_shape[2]);
  }
  Tensor x = img;
  x.shape.insert(x.shape.begin(), 1);
  const Tensor p0 = m.probabilities(x);
  const int pred0 = argmax_rows(p0)[0];
  const int label = a.integer("label", pred0);
  const int target = a.integer("target", -1);
  const std::optional<LinfAttack> cfg = attack_from_args(a);
  ADVX_REQUIRE(cfg.has_value(), "attack needs --attack fgsm|bim|pgd and --eps");
  const AttackResult r = linf_attack(m, x, {label}, target >= 0 ? std::vector<int>{target} : std::vector<int>{}, *cfg);
  const Tensor p1 = m.probabilities(r.adv);
  Tensor out = r.adv;
  out.shape.erase(out.shape.begin());
  save_png(a.str("out"), out);
  float linf = 0.0f;
  for (size_t i = 0; i < x.data.size(); ++i) linf = std::max(linf, std::fabs(r.adv.data[i] - x.data[i]));
  std::printf("clean:       predicted %d (p = %.3f), label %d\n", pred0,
              static_cast<double>(p0.data[static_cast<size_t>(pred0)]), label);
  std::printf("adversarial: predicted %d (p = %.3f), L-inf %.4f, %s\n", r.pred[0],
              static_cast<double>(p1.data[static_cast<size_t>(r.pred[0])]), static_cast<double>(linf),
              r.success[0] ? "attack succeeded" : "attack failed");
  std::printf("wrote %s\n", a.str("out").c_str());
  return 0;
}

}  // namespace advx::cli
