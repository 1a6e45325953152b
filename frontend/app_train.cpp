// "Train robustly" (App::training): a run of engine/train/recipes.h's recipes in the playground,
// stepped a few batches per frame through the engine's resumable Trainer.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "engine/error.h"
#include "engine/models.h"
#include "engine/timing.h"
#include "engine/train/recipes.h"
#include "frontend/app.h"

namespace play {

namespace {

using Clock = std::chrono::steady_clock;
using advx::ms_since;

// The training split, as the defences get it ("mnist/train", fetched when first needed).
const char* kTrainSet = "mnist/train";

}  // namespace

void App::start_training() {
  TrainView& t = training;
  stop_training();
  t.error.clear();
  t.adopted.clear();
  t.history.clear();
  t.ms = 0;
  try {
    const advx::TrainRecipe& r = advx::get_recipe(t.recipe);
    for (const advx::ParamSpec& p : advx::recipe_params())
      if (!t.params.has(p.key)) t.params.set(p.key, p.def);
    r.config(t.params);  // checks the values now, not when the images arrive
    const advx::ArchInfo* a = advx::find_architecture(t.arch);
    ADVX_REQUIRE(a && !a->autoencoder && a->input == (advx::Shape{1, 28, 28}),
                 "'" + t.arch + "' is not an MNIST classifier architecture");
    t.model = std::make_unique<advx::Sequential>(
        advx::make_model(t.arch, static_cast<std::uint64_t>(t.params.integer("train_seed"))));
    t.paused = false;
    t.waiting = "starting";  // training_slice() builds the Trainer once the images are there
  } catch (const advx::Error& e) {
    t.model.reset();
    t.error = e.what();
  }
}

void App::stop_training() {
  training.trainer.reset();
  training.waiting.clear();
  training.paused = false;
}

void App::training_slice(double ms) {
  TrainView& t = training;
  if (!t.model || t.paused || (t.trainer && t.trainer->done())) return;
  const auto t0 = Clock::now();
  try {
    if (!t.trainer) {
      const ModelStatus st = models.request_dataset(kTrainSet);
      const DatasetEntry* d = models.find_dataset(kTrainSet);
      ADVX_REQUIRE(d, std::string("this build of the playground ships no ") + kTrainSet + " images to train on");
      if (st == ModelStatus::kLoading) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "loading the %s images (%.1f of %.1f MB)", kTrainSet,
                      static_cast<double>(d->received) / 1048576.0, static_cast<double>(d->total) / 1048576.0);
        t.waiting = buf;
        return;
      }
      const Samples& train = models.samples(kTrainSet);  // throws the load error, if any
      const Samples& test = models.samples("mnist");     // the shipped test sample validates
      advx::TrainConfig cfg = advx::get_recipe(t.recipe).config(t.params);
      // A step trains a few images, so a frame stays short: the batch's update is the same, summed
      // over its parts (TrainConfig::micro_batch). Images per part from the forward/backward passes
      // each costs: 16 for natural training, 1 for PGD-40.
      const advx::ParamValues& a = cfg.adv.params;
      const int passes = cfg.adv.enabled() ? 2 + (a.has("steps") ? a.integer("steps") : 1) *
                                                     (a.has("restarts") ? a.integer("restarts") : 1)
                                           : 1;
      cfg.micro_batch = std::max(1, 16 / passes);
      cfg.eval.batch = 16;
      t.trainer = std::make_unique<advx::Trainer>(*t.model, train.set, cfg, &test.set);
      t.waiting.clear();
    }
    // Steps while the next one (its cost estimated from the last ones) still fits in `ms`; at least one.
    do {
      const auto ts = Clock::now();
      t.trainer->step();
      t.step_ms = t.step_ms <= 0.0 ? ms_since(ts) : 0.8 * t.step_ms + 0.2 * ms_since(ts);
    } while (!t.trainer->done() && ms_since(t0) + t.step_ms < ms);
    t.history = t.trainer->history();
    t.epochs = t.trainer->config().epochs;
  } catch (const advx::Error& e) {
    t.error = e.what();
    t.trainer.reset();
    t.model.reset();
    t.waiting.clear();
  }
  t.ms += ms_since(t0);
  timing.train_ms = t.ms;
}

void App::adopt_trained() {
  TrainView& t = training;
  try {
    ADVX_REQUIRE(t.trainer && t.trainer->done() && t.model, "no finished training run to add");
    const std::vector<advx::EpochStats>& h = t.trainer->history();
    const float acc = h.empty() || h.back().eval_n == 0 ? -1.0f : static_cast<float>(h.back().clean_acc);
    const std::string name = "trained-" + std::to_string(++t.runs) + "-" + t.arch + "-" + t.recipe;
    t.trainer.reset();
    models.add(name, std::move(t.model), "mnist", acc);
    t.adopted = name;
    ViewState s = state;
    s.model = name;
    set_state(s);
  } catch (const advx::Error& e) {
    t.error = e.what();
  }
}

}  // namespace play
