// The playground's library (frontend/ without ImGui): the URL state generated from the tables, the
// App on the shipped models (defence, adaptive attacker, robustness curves) and the JS API's C
// functions, natively.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/attacks/attack.h"
#include "engine/defences/defence.h"
#include "engine/io/image.h"
#include "engine/train/recipes.h"
#include "frontend/app.h"
#include "frontend/state.h"

using namespace play;
namespace fs = std::filesystem;

extern "C" {
int advx_classify(const float* px, int n, float* out);
int advx_attack(const float* px, int n, const int* labels, const char* opts, float* out);
int advx_fgsm(const float* px, int label, float eps, int target, int steps, float* out);
int advx_set_state(const char* query);
const char* advx_text();
const char* advx_last_error();
const char* advx_view_json();
const char* advx_state_json();
const char* advx_registry_json();
}
namespace play {
void api_attach(App* app);
}

namespace {

// The asset folder the build stages (frontend/CMakeLists.txt: models, manifest, test samples).
std::string asset_dir() {
  return std::string(ADVX_BINARY_DIR) + "/assets";
}

// One frame, then frames until a long attack run (computed a slice per frame) has finished.
void settle(App& app) {
  app.update(false);
  for (int frames = 0; app.attack_running() && frames < 100000; ++frames) app.update(false);
}

nlohmann::json view() {
  return nlohmann::json::parse(advx_view_json());
}

}  // namespace

TEST_CASE("URL state: every registered parameter round-trips; bad values are reported", "[app]") {
  ViewState s;
  REQUIRE(s.attack == advx::attacks().front().name);
  for (const advx::AttackSpec& a : advx::attacks()) {
    ViewState t = s;
    t.attack = a.name;
    for (const advx::ParamSpec& p : a.params) t.params.set(p.key, p.type == advx::ParamType::Bool ? 1.0 : p.max);
    t.target = 3, t.seed = 17, t.test_index = 42;
    std::string errors;
    const ViewState back = apply_query(ViewState{}, encode_query(t), &errors);
    INFO(encode_query(t));
    REQUIRE(errors.empty());
    REQUIRE(back.attack == a.name);
    for (const advx::ParamSpec& p : a.params) REQUIRE(back.params.number(p.key) == Approx(t.params.number(p.key)));
    REQUIRE(back.target == 3);
    REQUIRE(back.seed == 17);
    REQUIRE(back.test_index == 42);
  }
  for (const advx::DefenceSpec& d : advx::defences()) {
    ViewState t = s;
    t.defence = d.name, t.adaptive = true, t.bpda = false;
    for (const advx::ParamSpec& p : d.params) t.params.set(p.key, p.min);
    const ViewState back = apply_query(ViewState{}, encode_query(t));
    REQUIRE(back.defence == d.name);
    REQUIRE(back.adaptive);
    REQUIRE(!back.bpda);
    for (const advx::ParamSpec& p : d.params) REQUIRE(back.params.number(p.key) == Approx(p.min));
  }
  std::string errors;
  const ViewState bad = apply_query(s, "attack=nope&eps=2&steps=0x3&target=abc&defence=zzz&foo=1", &errors);
  REQUIRE(bad.attack == s.attack);
  REQUIRE(bad.params == s.params);
  for (const char* key : {"'attack=nope'", "'eps=2'", "'steps=0x3'", "'target=abc'", "'defence=zzz'", "'foo=1'"})
    REQUIRE_THAT(errors, Catch::Contains(key));
  const nlohmann::json j = nlohmann::json::parse(state_json(apply_query(s, "attack=pgd&defence=threshold")));
  REQUIRE(j["attack"] == "pgd");
  REQUIRE(j.contains("steps"));
  REQUIRE(j.contains("threshold"));
  REQUIRE(j["defence"] == "threshold");
}

TEST_CASE("App: defence and adaptive attacker on a shipped model, live", "[app][shipped]") {
  App app(asset_dir());
  REQUIRE(app.samples().size() == 1000);
  REQUIRE(app.dataset() == "mnist");
  REQUIRE(app.apply_query("model=small&test=0&attack=pgd&eps=0.3&steps=20"));
  settle(app);
  REQUIRE(app.clean.top == 7);
  REQUIRE(!app.defence.on);
  REQUIRE(app.attack.valid);
  REQUIRE(app.attack.success);  // PGD at 0.3 fools the bare model
  REQUIRE(app.attack.norms.linf <= 0.3 + 1e-6);
  // The threshold on: the defended prediction appears in the same update (no frame in between).
  REQUIRE(app.apply_query("defence=threshold&threshold=0.5"));
  settle(app);
  REQUIRE(app.defence.on);
  REQUIRE(app.defence.clean.top == 7);
  REQUIRE(app.defence.gradient == advx::GradientKind::StraightThrough);
  REQUIRE(app.defence.seen.size() == 784);
  for (float v : app.defence.seen.data) REQUIRE((v == 0.0f || v == 1.0f));
  REQUIRE(app.attack.crafted_on == "small");  // oblivious: crafted on the bare model
  REQUIRE(app.attack.defended.top >= 0);
  REQUIRE(app.apply_query("adaptive=1"));
  settle(app);
  REQUIRE(app.attack.crafted_on == "threshold(0.5) > small");
  REQUIRE(app.apply_query("bpda=0"));
  settle(app);
  REQUIRE(app.defence.gradient == advx::GradientKind::Zero);
  // Through the true gradient (zero) PGD never moves past its random start: the defended model
  // still reads a 7.
  REQUIRE(app.attack.defended.top == 7);
  REQUIRE(!app.attack.success);
  REQUIRE(app.hash().find("defence=threshold&threshold=0.5&adaptive=1&bpda=0") != std::string::npos);
  // A target the model does not have is refused, the state kept, and the call says so.
  app.error.clear();
  REQUIRE(!app.apply_query("target=12"));
  REQUIRE(app.state.target == -1);
  REQUIRE_THAT(app.error, Catch::Contains("target 12 is not a class"));
  // So is a test image past the shipped sample (setState({test: 1000}) must not return normally).
  REQUIRE(!app.apply_query("test=1000"));
  REQUIRE(app.state.test_index == 0);
  REQUIRE_THAT(app.error, Catch::Contains("outside [0, 1000)"));
}

TEST_CASE("App: every image defence builds from the staged files and shows its report", "[app][shipped]") {
  App app(asset_dir());
  // Companion models (sub-folders of assets/models) load for defences but are not models to pick.
  const std::vector<std::string> names = app.models.names();
  REQUIRE(std::find(names.begin(), names.end(), "cnn") != names.end());
  REQUIRE(app.models.find("ensemble/regular_0") != nullptr);
  REQUIRE(app.models.find("ensemble/regular_0")->companion);
  for (const std::string& n : names) REQUIRE(n.find('/') == std::string::npos);
  REQUIRE(!app.apply_query("model=autoencoders/dae"));
  REQUIRE_THAT(app.error, Catch::Contains("unknown model"));
  const advx::DefenceContext disk = advx::disk_context("");
  for (const advx::DefenceSpec& d : advx::defences()) {
    DYNAMIC_SECTION(d.name) {
      app.error.clear();
      REQUIRE(app.apply_query("model=small&test=0&attack=fgsm&eps=0.1&defence=" + d.name));
      settle(app);
      INFO(app.error);
      REQUIRE(app.error.empty());
      REQUIRE(app.defence.waiting.empty());
      REQUIRE(app.defence.on);
      REQUIRE(app.defence.clean.top == 7);
      REQUIRE(app.attack.valid);
      // The playground's data are the CLI's: the same validation images set the same thresholds.
      advx::ParamValues v;
      for (const advx::ParamSpec& p : d.params) v.set(p.key, app.state.params.number(p.key));
      std::unique_ptr<advx::Classifier> cli = advx::build_defence(d, disk, app.model(), v, true);
      advx::DefenceReport want;
      if (auto* r = dynamic_cast<advx::Reporter*>(cli.get())) want = r->report(app.input);
      const advx::DefenceReport& got = app.defence.report;
      REQUIRE(got.scores.size() == want.scores.size());
      for (size_t i = 0; i < got.scores.size(); ++i) {
        REQUIRE(got.scores[i].threshold == Approx(want.scores[i].threshold).epsilon(1e-6));
        REQUIRE(got.scores[i].value == Approx(want.scores[i].value).epsilon(1e-5));
      }
      REQUIRE(got.votes.size() == want.votes.size());
      REQUIRE(got.neighbours.size() == want.neighbours.size());
      for (size_t i = 0; i < got.neighbours.size(); ++i) {
        REQUIRE(got.neighbours[i].index == want.neighbours[i].index);
        REQUIRE(app.training_image(got.neighbours[i].index).size() == 784);
      }
      if (d.name == "ensemble") REQUIRE(got.votes.size() == 3);
      if (d.name == "knn") REQUIRE(got.neighbours.size() == static_cast<size_t>(app.state.params.number("neighbours")));
      if (d.name == "squeeze_detect" || d.name == "kde") REQUIRE(!got.scores.empty());
    }
  }
  SECTION("going back to a defence built a moment ago reuses it (no rebuild, no recalibration)") {
    REQUIRE(app.apply_query("model=small&test=0&attack=fgsm&eps=0.1&defence=squeeze_detect"));
    settle(app);
    const advx::Classifier* first = app.defended();
    REQUIRE(first != nullptr);
    REQUIRE(app.apply_query("defence=threshold"));
    settle(app);
    REQUIRE(app.defended() != first);
    REQUIRE(app.apply_query("defence=squeeze_detect"));
    settle(app);
    REQUIRE(app.defended() == first);
    REQUIRE(app.defence.on);
  }
}

TEST_CASE("App: train robustly, a few batches per frame, then attack the trained model", "[app][shipped]") {
  App app(asset_dir());
  REQUIRE(app.apply_query("model=small&test=0&attack=fgsm&eps=0.1"));
  settle(app);
  app.training.arch = "small";
  app.training.recipe = "goodfellow";
  app.training.params = advx::defaults(advx::recipe_params());
  app.training.params.set("train_eps", 0.1);
  app.training.params.set("train_images", 1200);
  app.training.params.set("train_epochs", 2);
  app.training.params.set("train_eval", 100);
  app.start_training();
  REQUIRE(app.training.error.empty());
  int frames = 0;
  while ((app.training.running() || !app.training.waiting.empty()) && frames < 100000) {
    app.update(false);
    ++frames;
  }
  INFO(app.training.error);
  REQUIRE(app.training.error.empty());
  REQUIRE(app.training.trainer);
  REQUIRE(app.training.trainer->done());
  REQUIRE(frames > 2);  // spread over frames (1200 images / batch 64 = 19 batches an epoch, evaluation steps)
  const std::vector<advx::EpochStats>& h = app.training.trainer->history();
  REQUIRE(h.size() == 2);
  for (const advx::EpochStats& e : h) {
    REQUIRE(e.eval_n == 100);
    REQUIRE(e.clean_acc > 0.5);  // 1200 images already teach `small` most digits
    REQUIRE(e.robust_acc <= e.clean_acc);
  }
  app.adopt_trained();
  REQUIRE(app.training.error.empty());
  REQUIRE(app.training.adopted == "trained-1-small-goodfellow");
  REQUIRE(app.state.model == "trained-1-small-goodfellow");
  settle(app);
  REQUIRE(app.clean.top >= 0);
  REQUIRE(app.attack.valid);
  // Bad settings are refused before any work, with the reason.
  app.training.params.set("train_images", 5);
  app.start_training();
  REQUIRE_THAT(app.training.error, Catch::Contains("train_images"));
  REQUIRE(!app.training.model);
}

TEST_CASE("App: a CIFAR-10 model brings its own test images, class names and RGB input", "[app][shipped]") {
  App app(asset_dir());
  REQUIRE(app.apply_query("model=small&test=3"));
  settle(app);
  REQUIRE(app.drawable());
  REQUIRE(app.apply_query("model=cifar_lenet&attack=fgsm&eps=0.03"));
  settle(app);
  REQUIRE(app.dataset() == "cifar10");
  REQUIRE(!app.drawable());
  REQUIRE(app.input.shape == advx::Shape{1, 3, 32, 32});
  REQUIRE(app.samples().size() == 1000);
  REQUIRE(app.class_names().at(3) == "cat");
  REQUIRE(app.state.test_index == 3);  // the same index, in the new dataset
  REQUIRE(app.true_label == app.samples().label(3));
  REQUIRE(app.clean.top >= 0);
  REQUIRE(app.clean.probs.size() == 10);
  REQUIRE(app.attack.valid);
  REQUIRE(app.attack.norms.linf <= 0.03 + 1e-6);
  // The input travels in the URL as an RGB PNG and comes back exactly.
  app.set_exact_input(app.attack.adv);
  const std::string hash = app.hash();
  REQUIRE(hash.find("img=") != std::string::npos);
  App other(asset_dir());
  REQUIRE(other.apply_query(hash));
  other.update(false);
  REQUIRE(other.input.shape == advx::Shape{1, 3, 32, 32});
  for (size_t i = 0; i < other.input.data.size(); ++i) REQUIRE(other.input.data[i] == app.input.data[i]);
  // Back to MNIST: a digit again.
  REQUIRE(app.apply_query("model=small&test=0"));
  settle(app);
  REQUIRE(app.input.shape == advx::Shape{1, 1, 28, 28});
  REQUIRE(app.clean.top == 7);
}

TEST_CASE("App: large scans of real test digits import and read correctly (area-averaged downscale)",
          "[app][shipped]") {
  // Each of the first 20 MNIST test digits rendered at 1400x1400 (bilinear, x50) as dark ink on white
  // paper, then imported as a PNG the way the playground's import does it: decode, invert (light
  // border), resize to the canvas, MNIST preprocessing.
  App app(asset_dir());
  REQUIRE(app.apply_query("model=cnn&test=0"));
  app.update(false);
  const int up = 50, big = 28 * up, n = 20;
  int right = 0;
  for (int i = 0; i < n; ++i) {
    advx::Tensor digit = app.samples().image(i);  // [1, 1, 28, 28]
    digit.shape = {1, 28, 28};
    advx::Tensor paper = advx::resize_image(digit, big, big);
    for (float& v : paper.data) v = 1.0f - v;
    REQUIRE(app.import_png(advx::encode_png(paper), "scan.png"));
    app.update(false);
    INFO("digit " << i << " label " << app.samples().label(i) << " read as " << app.clean.top);
    right += app.clean.top == app.samples().label(i) ? 1 : 0;
  }
  INFO(right << " of " << n << " right");
  REQUIRE(right >= 19);
  // A 4000x4000 drawing of a 7 with 30-pixel strokes, dark on white: point sampling kept 4 pixels
  // of it and cnn read a 3.
  const int page = 4000, stroke = 30;
  advx::Tensor seven({1, page, page}, 1.0f);
  for (int y = 600; y < 3400; ++y)
    for (int x = 0; x < page; ++x) {
      const double cx = 3100 - 1600 * (y - 600) / 2800.0;
      if ((y < 600 + stroke && x >= 900 && x < 3100) || std::abs(x - cx) < stroke / 2.0)
        seven.data[static_cast<size_t>(y) * page + x] = 0.0f;
    }
  const std::vector<std::uint8_t> png = advx::encode_png(seven);
  REQUIRE(app.import_png(png, "seven.png"));
  app.update(false);
  REQUIRE(app.clean.top == 7);
}

TEST_CASE("App: robustness curves (bare, oblivious, adaptive) through the engine's Evaluation", "[app][shipped]") {
  App app(asset_dir());
  REQUIRE(app.apply_query("model=softmax&test=1&attack=fgsm&eps=0.1&defence=threshold"));
  app.robust.count = 20;
  for (int i = 0; i < 2000 && !app.robust.done(); ++i) app.update(true);
  REQUIRE(app.robust.done());
  REQUIRE(app.robust.curves.size() == 3);
  REQUIRE(app.robust.grid.size() == 13);
  for (const auto& c : app.robust.curves)
    for (float a : c.acc) REQUIRE((a >= 0.0f && a <= 1.0f));
  // At budget 0 the oblivious and adaptive curves are the defended model's clean accuracy; the bare
  // curve falls to (nearly) nothing at 0.3 for softmax regression under FGSM.
  REQUIRE(app.robust.curves[1].acc[0] == app.robust.curves[2].acc[0]);
  REQUIRE(app.robust.curves[0].acc.back() <= 0.1f);
  // The same numbers as an Evaluation run directly.
  advx::EvalConfig cfg;
  advx::ParamValues p;
  p.set("eps", app.robust.grid[6]);
  cfg.attack = advx::registered_attack(advx::get_attack("fgsm"), p, 0);
  const advx::EvalResult r = advx::evaluate(app.model(), app.samples().head(20), cfg);
  REQUIRE(app.robust.curves[0].acc[6] == Approx(r.adv_acc));
  // Removing the defence leaves one curve.
  REQUIRE(app.apply_query("defence=none"));
  app.update(true);
  REQUIRE(app.robust.curves.size() == 1);
}

TEST_CASE("JS API natively: batched classify and attack, options from the tables, clear errors", "[app][shipped]") {
  App app(asset_dir());
  api_attach(&app);
  REQUIRE(app.apply_query("model=small&test=0"));
  settle(app);
  const int n = 3;
  std::vector<float> px(static_cast<size_t>(n) * 784);
  for (int i = 0; i < n; ++i) {
    const advx::Tensor x = app.samples().image(i);
    std::copy(x.data.begin(), x.data.end(), px.begin() + i * 784);
  }
  std::vector<float> probs(static_cast<size_t>(n) * 10), one(10);
  REQUIRE(advx_classify(px.data(), n, probs.data()) == 10);
  for (int i = 0; i < n; ++i) {
    REQUIRE(advx_classify(px.data() + i * 784, 1, one.data()) == 10);
    for (int k = 0; k < 10; ++k)
      REQUIRE(probs[static_cast<size_t>(i * 10 + k)] == Approx(one[static_cast<size_t>(k)]).margin(1e-6));
  }
  std::vector<int> labels = {7, 2, 1};
  std::vector<float> adv(px.size());
  REQUIRE(advx_attack(px.data(), n, labels.data(), "attack=pgd&eps=0.3&steps=20&seed=1", adv.data()) == 0);
  const nlohmann::json r = nlohmann::json::parse(advx_text());
  REQUIRE(r["attack"] == "pgd");
  REQUIRE(r["pred"].size() == 3);
  for (int i = 0; i < n; ++i) {
    REQUIRE(r["linf"][static_cast<size_t>(i)].get<double>() <= 0.3 + 1e-6);
    REQUIRE(r["success"][static_cast<size_t>(i)].get<bool>());
  }
  REQUIRE(r["gradientCalls"].get<int>() > 0);
  // Noise at the same eps: the prediction mostly stays (the gradient's direction matters).
  REQUIRE(advx_attack(px.data(), n, labels.data(), "attack=noise&eps=0.3", adv.data()) == 0);
  REQUIRE(nlohmann::json::parse(advx_text())["gradientCalls"] == 0);
  // advx.fgsm equals the registry's FGSM / BIM.
  std::vector<float> f(784), g(784);
  REQUIRE(advx_fgsm(px.data(), 7, 0.2f, -1, 1, f.data()) == 0);
  REQUIRE(advx_attack(px.data(), 1, labels.data(), "attack=fgsm&eps=0.2&target=-1", g.data()) == 0);
  REQUIRE(f == g);
  // Errors name what is wrong.
  REQUIRE(advx_attack(px.data(), n, labels.data(), "attack=nope", adv.data()) == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("attack is one of"));
  REQUIRE(advx_attack(px.data(), n, labels.data(), "eps=-1", adv.data()) == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("eps must be"));
  REQUIRE(advx_attack(px.data(), n, labels.data(), "test=4", adv.data()) == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("'test' is not an attack option"));
  labels[1] = 10;
  REQUIRE(advx_attack(px.data(), n, labels.data(), "attack=fgsm", adv.data()) == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("out of range"));
  REQUIRE(advx_fgsm(px.data(), 7, std::nanf(""), -1, 1, f.data()) == -1);
  REQUIRE(advx_fgsm(px.data(), 7, -0.5f, -1, 1, f.data()) == -1);
  px[3] = 2.0f;
  REQUIRE(advx_classify(px.data(), n, probs.data()) == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("[0, 1]"));
  // setState with a defence: the view has the defended prediction right away.
  REQUIRE(advx_set_state("test=1000") == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("outside [0, 1000)"));
  REQUIRE(advx_set_state("defence=threshold&threshold=0.4") == 0);
  const nlohmann::json v = view();
  REQUIRE(v["defence"]["name"] == "threshold");
  REQUIRE(v["defence"]["pred"] == 7);
  const nlohmann::json reg = nlohmann::json::parse(advx_registry_json());
  REQUIRE(reg["attacks"].size() == advx::attacks().size());
  api_attach(nullptr);
}

TEST_CASE("App: a long attack (one-pixel DE) runs a slice per frame, can pause and step, shows its population",
          "[app][shipped]") {
  App app(asset_dir());
  api_attach(&app);
  REQUIRE(app.apply_query("model=small&test=0&attack=pixel&pixels=3&pop=40&gens=30&seed=5"));
  app.update(false);  // the first frame starts the run and does a slice of it
  REQUIRE(app.clean.top == 7);
  REQUIRE(app.attack_running());
  REQUIRE(app.pending());
  REQUIRE(!app.attack.valid);
  // A slice may end inside a generation (a generation is split into chunks of rows the model
  // evaluates in a few ms): the population shows once the first one is evaluated.
  for (int k = 0; k < 50 && app.attack.snapshot.candidates.empty(); ++k) app.update(false);
  const int it0 = app.attack.snapshot.iteration;
  REQUIRE(app.attack.snapshot.candidates.size() == 40);  // the population, each with its 3 pixels
  for (const std::vector<int>& c : app.attack.snapshot.candidates) {
    REQUIRE(c.size() == 3);
    for (int pos : c) REQUIRE((pos >= 0 && pos < 784));
  }
  REQUIRE(app.attack.snapshot.best >= 0);
  // Paused: frames do nothing; a step does one generation.
  app.pause_attack(true);
  for (int k = 0; k < 5; ++k) app.update(false);
  REQUIRE(app.attack.snapshot.iteration == it0);
  app.step_attack();
  REQUIRE(app.attack.snapshot.iteration == it0 + 1);
  REQUIRE(app.attack.snapshot.best_history.size() == static_cast<size_t>(it0 + 2));
  REQUIRE(view()["run"]["paused"] == true);
  app.pause_attack(false);
  settle(app);
  REQUIRE(!app.attack_running());
  REQUIRE(app.attack.valid);
  REQUIRE(app.attack.norms.l0 <= 3);
  REQUIRE(app.attack.queries > 0);
  REQUIRE(app.attack.queries <= 40 * 31);
  REQUIRE(view()["run"].is_null());
  // Export as PNG (the attack panel's button, the P key): it decodes to the adversarial exactly
  // (the input and the DE's pixel values are k/255), so the few changed pixels survive the file.
  const advx::Tensor png = advx::decode_image(app.adversarial_png(), 1, "exported adversarial");
  REQUIRE(png.shape == advx::Shape{1, 28, 28});
  for (size_t i = 0; i < png.data.size(); ++i) REQUIRE(png.data[i] == Approx(app.attack.adv.data[i]).margin(1e-6));
  // The same settings and seed replay the same run: the same adversarial.
  const advx::Tensor first = app.attack.adv;
  REQUIRE(app.apply_query("seed=6"));
  settle(app);
  REQUIRE(app.apply_query("seed=5"));
  settle(app);
  REQUIRE(app.attack.adv.data == first.data);
  // A change of the input while a run is going restarts it on the new input.
  REQUIRE(app.apply_query("gens=150"));
  app.update(false);
  REQUIRE(app.attack_running());
  REQUIRE(app.apply_query("test=1"));
  settle(app);
  REQUIRE(app.attack.valid);
  REQUIRE(app.clean.top == 2);
  api_attach(nullptr);
}
