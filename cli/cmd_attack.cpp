// advx attack: one image in, its adversarial out (PNG), with the predictions before and after.
#include <cstdio>
#include <map>
#include <utility>

#include "cli/command.h"
#include "engine/io/image.h"
#include "engine/io/model_io.h"
#include "engine/loss.h"
#include "engine/norms.h"

namespace advx::cli {

void setup_attack(Command& c) {
  c.option("model", "a shipped model (cnn, small, ...) or a .safetensors file", "NAME|FILE");
  c.option("image", "the input image (PNG; resized to the model's input if needed)", "PNG");
  c.option("out", "where to write the adversarial image (PNG)", "PNG");
  c.option("label", "the true class (default: the model's prediction on the image)", "Y");
  attack_options(c);
}

int run_attack(const Command& a) {
  const std::string path = model_path(a.str("model"));
  ADVX_REQUIRE(a.has("image") && a.has("out"), "attack needs --image PNG and --out PNG");
  const AttackChoice atk = attack_choice(a);
  ADVX_REQUIRE(atk.spec, "attack needs --attack (" + attack_names() + ") and its budget (e.g. --eps)");
  const DefenceChoice def = defence_choice(a);
  std::map<std::string, std::string> meta;
  Sequential m = load_model(path, &meta);
  const int channels = m.input_shape()[0];
  const int target = a.integer("target", -1, 0, m.num_classes() - 1);
  const int given_label = a.integer("label", -1, 0, m.num_classes() - 1);
  Tensor img = load_image(a.str("image"), channels);
  const int h = m.input_shape()[1], w = m.input_shape()[2];
  if (img.dim(1) != h || img.dim(2) != w) {
    std::printf("note: resizing %dx%d image to %dx%d\n", img.dim(2), img.dim(1), w, h);
    img = resize_image(img, h, w);
  }
  Tensor x = img;
  x.shape.insert(x.shape.begin(), 1);
  // The attacked classifier: the model, or the defended model when --defence is given (the adaptive
  // attacker with --adaptive; else the adversarial is crafted on the bare model: oblivious).
  std::unique_ptr<Classifier> defended;
  if (def.spec) {
    DefenceContext ctx = disk_context("");
    if (meta.count("advx.dataset")) ctx.dataset = meta["advx.dataset"];
    defended = build_defence(*def.spec, ctx, m, def.params, def.bpda);
  }
  Classifier& scored = defended ? *defended : static_cast<Classifier&>(m);
  Classifier& source = def.adaptive ? scored : static_cast<Classifier&>(m);
  const Tensor p0 = scored.probabilities(x);
  const int pred0 = argmax_rows(p0)[0];
  const int label = given_label >= 0 ? given_label : pred0;
  Goal goal{{label}, target >= 0 ? std::vector<int>{target} : std::vector<int>{}};
  const AttackResult r =
      run_attack(*atk.spec, AttackInput{source, cross_entropy_objective(), x, goal, atk.params, atk.seed});
  const Tensor p1 = scored.probabilities(r.adv);
  const int pred1 = argmax_rows(p1)[0];
  Tensor out = r.adv;
  out.shape.erase(out.shape.begin());
  save_png(a.str("out"), out);
  const Norms nm = perturbation_norms(r.adv, x, 0);
  if (defended)
    std::printf("defence:     %s (%s attacker)\n", scored.name().c_str(), def.adaptive ? "adaptive" : "oblivious");
  std::printf("clean:       predicted %d (p = %.3f), label %d\n", pred0,
              static_cast<double>(p0.data[static_cast<size_t>(pred0)]), label);
  std::printf("adversarial: predicted %d (p = %.3f), L-inf %.4f, L2 %.3f, L0 %lld px, %s\n", pred1,
              static_cast<double>(p1.data[static_cast<size_t>(pred1)]), nm.linf, nm.l2, static_cast<long long>(nm.l0),
              attack_succeeded(pred1, label, target) ? "attack succeeded" : "attack failed");
  // What the defended model says besides its prediction (a detector's score against its threshold).
  if (auto* rep = dynamic_cast<Reporter*>(defended.get()))
    for (const auto& [what, input] : {std::pair<const char*, const Tensor*>{"clean", &x}, {"adversarial", &r.adv}})
      for (const DefenceReport::Score& sc : rep->report(*input).scores)
        std::printf("%-12s %s %.4g vs threshold %.4g: %s\n", (std::string(what) + ":").c_str(), sc.name.c_str(),
                    sc.value, sc.threshold, sc.flagged ? "flagged" : "passes");
  std::printf("wrote %s\n", a.str("out").c_str());
  return 0;
}

}  // namespace advx::cli
