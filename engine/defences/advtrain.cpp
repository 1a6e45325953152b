// Adversarial training as a defence: the adversarially trained model in place of the bare one.
//
// The robust model is trained by the engine (engine/train/trainer.h) with FGSM from a random start
// (Wong, Rice, Kolter 2020, arXiv:2001.03994: eps 0.3, step 1.25 eps, cyclic learning rate up to
// 5e-3, batch 100, 10 epochs, Adam) on the `small` architecture, and shipped as
// assets/models/small_fgsmrs.safetensors (recipe in assets/models/README.md). Training against
// the attack is the defence that holds up under an adaptive white-box attacker (Madry et al. 2018,
// arXiv:1706.06083; Athalye, Carlini, Wagner 2018 left it standing).
//
// Three ways, as every defence: oblivious = crafted on the base (naturally trained) model and
// scored on the robust one, a transfer attack; adaptive = white-box PGD on the robust model itself
// (its gradient is exact: nothing is masked, so bpda changes nothing).
#include <memory>

#include "engine/defences/defence.h"
#include "engine/error.h"
#include "engine/local_eval.h"
#include "engine/model.h"

namespace advx {
namespace {

const std::vector<std::string>& robust_models() {
  static const std::vector<std::string> m = {"small_fgsmrs"};
  return m;
}

// Forwards to a model the context owns (the defence must not own it: the context shares it).
class Swapped : public Classifier {
 public:
  explicit Swapped(Sequential& m) : m_(m) {}
  std::string name() const override { return "advtrain(" + m_.name() + ")"; }
  const Shape& input_shape() const override { return m_.input_shape(); }
  int num_classes() const override { return m_.num_classes(); }
  const Tensor& logits(const Tensor& x) override { return m_.logits(x); }
  void input_gradient(const Tensor& dlogits, Tensor& dx) override { m_.input_gradient(dlogits, dx); }
  std::unique_ptr<LocalEvaluator> local_evaluator(const Tensor& base) override { return m_.local_evaluator(base); }

 private:
  Sequential& m_;
};

std::string model_of(const ParamValues& p) {
  return robust_models()[static_cast<size_t>(p.integer("robust_model"))];
}

}  // namespace

DefenceSpec advtrain_defence() {
  DefenceSpec d;
  d.name = "advtrain";
  d.title = "adversarial training";
  d.summary =
      "the model trained on its own adversarial examples (FGSM from a random start, eps 0.3) replaces the bare one";
  d.citation = "Wong, Rice, Kolter 2020, arXiv:2001.03994; Madry et al. 2018, arXiv:1706.06083";
  d.note =
      "Nothing to see through: the robust model is differentiable and the adaptive attacker uses its exact "
      "gradient. It holds most of its accuracy up to the eps it was trained for (0.3) and costs a little clean "
      "accuracy; beyond that eps it falls.";
  d.params = {choice_param("robust_model", robust_models(), 0,
                           "the adversarially trained model (small_fgsmrs: Wong et al.'s recipe on `small`)")};
  d.models = [](const ParamValues& p) { return std::vector<std::string>{model_of(p)}; };
  d.build = [](const DefenceContext& ctx, Classifier& base, const ParamValues& p, bool) -> std::unique_ptr<Classifier> {
    Sequential& m = ctx.model(model_of(p));
    ADVX_REQUIRE(m.input_shape() == base.input_shape() && m.num_classes() == base.num_classes(),
                 "the robust model '" + model_of(p) + "' reads " + shape_str(m.input_shape()) + " with " +
                     std::to_string(m.num_classes()) + " classes; the base model '" + base.name() + "' reads " +
                     shape_str(base.input_shape()) + ": use an MNIST model as the base");
    return std::make_unique<Swapped>(m);
  };
  return d;
}

}  // namespace advx
