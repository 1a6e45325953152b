#include "engine/train/recipes.h"

#include "engine/attacks/attack.h"
#include "engine/error.h"

namespace advx {

const std::vector<ParamSpec>& recipe_params() {
  static const std::vector<ParamSpec> table = {
      float_param("train_eps", 0.0, 0.5, 0.3, "L-inf budget trained against and evaluated at (PGD-10)"),
      int_param("train_epochs", 1, 50, 3, "passes over the training images"),
      int_param("train_images", 100, 60000, 5000, "training images used (the first N)"),
      int_param("train_eval", 0, 1000, 200, "test images for each epoch's clean and PGD-10 accuracy"),
      int_param("train_seed", 0, 1000000, 1, "initialisation, shuffling and the training attack's seed")};
  return table;
}

namespace {

// What every recipe shares: the run's size, seed and per-epoch evaluation.
TrainConfig base_config(const ParamValues& p) {
  check_values(recipe_params(), p, "");
  TrainConfig c;
  c.epochs = p.integer("train_epochs");
  c.limit = p.integer("train_images");
  c.seed = static_cast<std::uint64_t>(p.integer("train_seed"));
  const double eps = p.number("train_eps");
  c.eval.n = p.integer("train_eval");
  c.eval.attack = "pgd";
  c.eval.params = defaults(get_attack("pgd").params);
  c.eval.params.set("eps", eps);
  c.eval.params.set("steps", 10);
  c.eval.params.set("step_size", eps / 4.0);
  return c;
}

// Per-batch adversarials of the registered attack `attack` at the recipe's eps.
void adversarial(TrainConfig& c, const ParamValues& p, const std::string& attack, float clean_weight) {
  c.adv.attack = attack;
  c.adv.params = defaults(get_attack(attack).params);
  c.adv.params.set("eps", p.number("train_eps"));
  c.adv.clean_weight = clean_weight;
}

std::vector<TrainRecipe> make_recipes() {
  std::vector<TrainRecipe> r;
  r.push_back({"natural", "natural training", "", "clean images only (Adam, lr 0.001, batch 64)",
               [](const ParamValues& p) { return base_config(p); }});
  r.push_back({"goodfellow", "FGSM adversarial training",
               "Goodfellow, Shlens, Szegedy 2015, arXiv:1412.6572 (section 6)",
               "loss 0.5 J(x) + 0.5 J(x + eps sign(grad)): clean and FGSM images (Adam, lr 0.001, batch 64)",
               [](const ParamValues& p) {
                 TrainConfig c = base_config(p);
                 adversarial(c, p, "fgsm", 0.5f);
                 return c;
               }});
  r.push_back({"fgsm_rs", "FGSM with random start", "Wong, Rice, Kolter 2020, arXiv:2001.03994",
               "one FGSM step of 1.25 eps from a random start in the eps-ball, adversarials only; Adam, cyclic "
               "learning rate up to 0.005, batch 100 (their MNIST recipe)",
               [](const ParamValues& p) {
                 TrainConfig c = base_config(p);
                 adversarial(c, p, "pgd", 0.0f);
                 c.adv.params.set("steps", 1);
                 c.adv.params.set("step_size", 1.25 * p.number("train_eps"));
                 c.adv.params.set("unclipped_start", 1);
                 c.batch = 100;
                 c.lr = 5e-3f;
                 c.lr_schedule = LrSchedule::Cyclic;
                 return c;
               }});
  r.push_back({"madry", "PGD adversarial training", "Madry, Makelov, Schmidt, Tsipras, Vladu 2018, arXiv:1706.06083",
               "PGD-40 (step 0.01, random start) adversarials only, 40 times the work of natural training; Adam, "
               "lr 0.001, batch 64 (theirs: lr 0.0001 over 100,000 steps; short runs need the larger rate)",
               [](const ParamValues& p) {
                 TrainConfig c = base_config(p);
                 adversarial(c, p, "pgd", 0.0f);
                 c.adv.params.set("steps", 40);
                 c.adv.params.set("step_size", 0.01);
                 return c;
               }});
  for (const TrainRecipe& t : r) check_config(t.config(defaults(recipe_params())));
  return r;
}

}  // namespace

const std::vector<TrainRecipe>& train_recipes() {
  static const std::vector<TrainRecipe> r = make_recipes();
  return r;
}

const TrainRecipe* find_recipe(const std::string& name) {
  for (const TrainRecipe& r : train_recipes())
    if (r.name == name) return &r;
  return nullptr;
}

const TrainRecipe& get_recipe(const std::string& name) {
  if (const TrainRecipe* r = find_recipe(name)) return *r;
  std::string known;
  for (const TrainRecipe& r : train_recipes()) known += (known.empty() ? "" : ", ") + r.name;
  throw Error("unknown training recipe '" + name + "'; use one of " + known);
}

}  // namespace advx
