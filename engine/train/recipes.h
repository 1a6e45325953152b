// Training recipes by name, for the playground's "train robustly" view: natural training and the
// three published adversarial-training recipes of engine/train/train.h, each a TrainConfig built
// from one small parameter table (budget, epochs, training images, evaluation images, seed), so a
// front end offers them without deciding anything about training itself.
//
// Every recipe is evaluated the same way after each epoch, natural training included (so the view
// shows what adversarial training buys): clean accuracy and PGD-10 accuracy (step eps / 4, random
// start, seed 0) at the recipe's eps on the first `train_eval` test images.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/params.h"
#include "engine/train/train.h"

namespace advx {

struct TrainRecipe {
  std::string name;      // "fgsm_rs"
  std::string title;     // "FGSM with random start"
  std::string citation;  // the paper
  std::string summary;   // one line: what the model learns from
  std::function<TrainConfig(const ParamValues& params)> config;
};

// The parameters every recipe takes: train_eps, train_epochs, train_images, train_eval, train_seed.
const std::vector<ParamSpec>& recipe_params();
const std::vector<TrainRecipe>& train_recipes();
const TrainRecipe* find_recipe(const std::string& name);
const TrainRecipe& get_recipe(const std::string& name);  // throws listing the known names

}  // namespace advx
