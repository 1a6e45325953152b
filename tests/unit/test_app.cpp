// The playground's library (frontend/ without ImGui): the URL state generated from the tables, the
// App on the shipped models (defence, adaptive attacker, robustness curves) and the JS API's C
// functions, natively.
#include <omp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

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
int advx_classify_text(const char* text, const char* model);
int advx_seq_attack(const char* text, const char* opts);
int advx_seq_samples(const char* dataset);
const char* advx_models_json();
}
namespace play {
void api_attach(App* app);
}

namespace {

// The asset folder the build stages (frontend/CMakeLists.txt: models, manifest, test samples).
std::string asset_dir() {
  return std::string(ADVX_BINARY_DIR) + "/assets";
}

// One frame, then frames until a defence's first build and a long attack run (each computed a slice
// per frame) have finished.
void settle(App& app) {
  app.update(false);
  for (int frames = 0; (app.attack_running() || app.defence_building()) && frames < 100000; ++frames) {
    const bool building = app.defence_building();
    app.update(false);
    if (building && !app.defence_building()) app.update(false);  // the defended prediction: the next frame
  }
}

nlohmann::json view() {
  return nlohmann::json::parse(advx_view_json());
}

}  // namespace

TEST_CASE("URL state: every registered parameter round-trips, bad values are reported", "[app]") {
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

TEST_CASE("App: k-NN over features builds a slice per frame and ends with the one-call defence", "[app][shipped]") {
  App app(asset_dir());
  REQUIRE(app.apply_query("model=small&test=0&attack=fgsm&eps=0.1&neighbours=3"));
  settle(app);
  REQUIRE(!app.defence.on);
  // The training split loaded first (natively a synchronous read of ~0.3 s; the page downloads it
  // while frames go on): what is timed below is the build.
  app.models.request_dataset("mnist/train");
  REQUIRE(app.models.samples("mnist/train").size() == 60000);
  // One thread while the frames are timed: on a machine shared with builds, a parallel batch waits for
  // whichever thread the scheduler has put aside (2 threads there: 20 ms frames of 2 ms of work).
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  // Switched on: its first build embeds the 60,000 training images a slice per frame, saying how far
  // it is, while the bare model's prediction stays on screen.
  REQUIRE(app.apply_query("defence=knn&space=features"));
  std::vector<double> frame_ms;
  int embedded = -1, frames = 0;
  for (; frames < 100000; ++frames) {
    app.update(false);
    if (!app.defence_building()) break;
    frame_ms.push_back(app.timing.update_ms);
    REQUIRE(app.pending());
    REQUIRE(!app.defence.on);
    REQUIRE(app.clean.top == 7);
    const std::string& w = app.defence.waiting;
    INFO(w);
    if (w.rfind("embedding training images ", 0) == 0) {
      REQUIRE_THAT(w, Catch::EndsWith(" of 60,000"));
      std::string n = w.substr(std::string("embedding training images ").size());
      n = n.substr(0, n.find(' '));
      n.erase(std::remove(n.begin(), n.end(), ','), n.end());
      REQUIRE(std::stoi(n) >= embedded);  // it moves on, frame by frame
      embedded = std::stoi(n);
      REQUIRE(app.defence_waiting() == w);  // the panel's live text
    }
  }
  REQUIRE(embedded > 0);
  REQUIRE(frame_ms.size() >= 10);  // spread over frames (natively ~2 s of work: ~150 frames)
  // Each frame's engine time: the slice's 10 ms budget plus at most a step (a batch of 26 images),
  // within one frame (16 ms); the 90th percentile, since a shared machine may preempt any frame.
  std::vector<double> sorted = frame_ms;
  std::sort(sorted.begin(), sorted.end());
  const double p90 = sorted[sorted.size() * 9 / 10];
  INFO(frame_ms.size() << " frames building, engine ms a frame: median " << sorted[sorted.size() / 2] << ", p90 " << p90
                       << ", max " << sorted.back());
  CHECK(p90 <= 16.0);
  omp_set_num_threads(threads);
  // The frame after: the defended prediction, the neighbours, the attack.
  settle(app);
  REQUIRE(app.error.empty());
  REQUIRE(app.defence.waiting.empty());
  REQUIRE(app.defence.on);
  REQUIRE(app.attack.valid);
  // The one-call build (the CLI's, from the disk's data) on the same model and input: the same votes and
  // neighbours, distances bit for bit.
  const advx::DefenceSpec& spec = advx::get_defence("knn");
  std::unique_ptr<advx::Classifier> cli =
      advx::build_defence(spec, advx::disk_context(""), app.model(), app.defence_values(spec), true);
  const advx::Tensor p = cli->probabilities(app.input);
  REQUIRE(app.defence.clean.probs == std::vector<float>(p.data.begin(), p.data.end()));
  const advx::DefenceReport want = dynamic_cast<advx::Reporter&>(*cli).report(app.input);
  REQUIRE(app.defence.report.neighbours.size() == 3);
  REQUIRE(want.neighbours.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    REQUIRE(app.defence.report.neighbours[i].index == want.neighbours[i].index);
    REQUIRE(app.defence.report.neighbours[i].distance == want.neighbours[i].distance);
  }
  // Another k reuses the embedded features: only the index is built again (its norms, a few ms).
  REQUIRE(app.apply_query("neighbours=1"));
  int frames_k1 = 0;
  for (; frames_k1 < 100 && (frames_k1 == 0 || app.defence_building()); ++frames_k1) app.update(false);
  // 2-3 frames on an idle machine; the slices are timed, so a loaded one (CTest runs two tests at
  // once) may take a few more. A build without the kept features takes about 185.
  REQUIRE(frames_k1 <= 12);
  settle(app);
  REQUIRE(app.defence.on);
  REQUIRE(app.defence.report.neighbours.size() == 1);
  REQUIRE(app.defence.report.neighbours[0].index == want.neighbours[0].index);
  // A call outside the frames (the JS API: classify or attack with the defence) while a build runs
  // finishes it at once, and the next frame shows the defence.
  REQUIRE(app.apply_query("defence=kde"));
  app.update(false);
  app.update(false);
  REQUIRE(app.defence_building());
  REQUIRE(!app.defence.waiting.empty());
  const advx::Tensor pk = app.probabilities(app.input, true);
  REQUIRE(!app.defence_building());
  app.update(false);
  REQUIRE(app.defence.waiting.empty());
  REQUIRE(app.defence.on);
  REQUIRE(app.defence.clean.probs == std::vector<float>(pk.data.begin(), pk.data.end()));
  REQUIRE(!app.defence.report.scores.empty());
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
  // The paper's population and generations, 1 pixel, which does not fool `small` on test image 0:
  // all 40,400 evaluations, several slices even with the exact local evaluation (about 70 ms).
  REQUIRE(app.apply_query("model=small&test=0&attack=pixel&pixels=1&pop=400&gens=100&seed=5"));
  app.update(false);  // the first frame starts the run and does a slice of it
  REQUIRE(app.clean.top == 7);
  REQUIRE(app.attack_running());
  REQUIRE(app.pending());
  REQUIRE(!app.attack.valid);
  // A slice may end inside a generation (a generation is split into chunks of rows the model
  // evaluates in a few ms): the population shows once the first one is evaluated.
  for (int k = 0; k < 50 && app.attack.snapshot.candidates.empty(); ++k) app.update(false);
  const int it0 = app.attack.snapshot.iteration;
  REQUIRE(app.attack.snapshot.candidates.size() == 400);  // the population, each with its pixel
  for (const std::vector<int>& c : app.attack.snapshot.candidates) {
    REQUIRE(c.size() == 1);
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
  REQUIRE(app.attack.norms.l0 <= 1);
  REQUIRE(app.attack.queries > 0);
  REQUIRE(app.attack.queries <= 400 * 101);
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

TEST_CASE("URL state: the sequence view's text, dataset, attacks and defences round-trip, bad values reported",
          "[app]") {
  const ViewState s;
  REQUIRE(s.view == "image");
  REQUIRE(s.seq_dataset == default_seq_dataset());
  // Characters a URL gives a meaning to, a new line, non-ASCII.
  const std::string text =
      "WIN \xC2\xA3"
      "100 & more = 50% off!\nCall 0800 now+ #1 ?";
  for (const advx::SeqAttackSpec& a : advx::seq_attacks()) {
    ViewState t = s;
    t.view = "seq", t.seq_text = text, t.seq_attack = a.name, t.seed = 9;
    for (const advx::ParamSpec& p : a.params) t.seq_params.set(p.key, p.type == advx::ParamType::Bool ? 1.0 : p.max);
    const std::string q = encode_query(t);
    INFO(q);
    REQUIRE(q.rfind("view=seq&", 0) == 0);
    REQUIRE(q.find('\n') == std::string::npos);
    std::string errors;
    const ViewState back = apply_query(ViewState{}, "#" + q, &errors);
    REQUIRE(errors.empty());
    REQUIRE(back.seq());
    REQUIRE(back.seq_text == text);
    REQUIRE(back.seq_test == -1);
    REQUIRE(back.seq_attack == a.name);
    for (const advx::ParamSpec& p : a.params)
      REQUIRE(back.seq_params.number(p.key) == Approx(t.seq_params.number(p.key)));
    REQUIRE(back.seed == 9);
    REQUIRE(back.attack == s.attack);  // the image view's state is its own
    REQUIRE(back.params == s.params);
  }
  for (const advx::SeqDefenceSpec& d : advx::seq_defences()) {
    ViewState t = s;
    t.view = "seq", t.seq_defence = d.name, t.adaptive = true, t.seq_test = 12;
    for (const advx::ParamSpec& p : d.params) t.seq_params.set(p.key, p.min);
    const ViewState back = apply_query(ViewState{}, encode_query(t));
    REQUIRE(back.seq_defence == d.name);
    REQUIRE(back.adaptive);
    REQUIRE(back.seq_test == 12);
    REQUIRE(back.defence == "none");
    for (const advx::ParamSpec& p : d.params) REQUIRE(back.seq_params.number(p.key) == Approx(p.min));
  }
  // Keys mean the view's: the same query in the image view is the image view's attack.
  REQUIRE(apply_query(s, "attack=pgd").attack == "pgd");
  REQUIRE(apply_query(s, "view=seq&dataset=malbehavd").seq_dataset == "malbehavd");
  REQUIRE(apply_query(s, "dataset=malbehavd-v1&view=seq").seq_dataset == "malbehavd");  // view counts wherever it is
  const std::string attack = advx::seq_attacks().front().name;
  const ViewState seq = apply_query(s, "view=seq&attack=" + attack);
  REQUIRE(seq.seq_attack == attack);
  REQUIRE(seq.attack == s.attack);
  REQUIRE(apply_query(seq, "view=image").view == "image");
  std::string errors;
  const ViewState bad =
      apply_query(s,
                  "view=seq&attack=" + advx::attacks().front().name +
                      "&eps=0.1&budget=2&dataset=cifar10&target=3&defence=" + advx::defences().front().name + "&test=x",
                  &errors);
  REQUIRE(bad.seq_attack == s.seq_attack);
  REQUIRE(bad.seq_params == s.seq_params);
  REQUIRE_THAT(errors, Catch::Contains("attack is one of " + advx::seq_attack_names() + " (view=seq)"));
  REQUIRE_THAT(errors, Catch::Contains("'eps=0.1': 'eps' is a parameter of the image view"));
  REQUIRE_THAT(errors, Catch::Contains("'budget=2'"));
  REQUIRE_THAT(errors, Catch::Contains("'dataset=cifar10': dataset is a sequence dataset"));
  REQUIRE_THAT(errors, Catch::Contains("'target=3': the sequence attacks are untargeted"));
  REQUIRE_THAT(errors, Catch::Contains("defence is none or one of " + advx::seq_defence_names()));
  REQUIRE_THAT(errors, Catch::Contains("'test=x'"));
  errors.clear();
  apply_query(s, "view=text", &errors);
  REQUIRE_THAT(errors, Catch::Contains("'view=text': view is image or seq"));
  errors.clear();
  const ViewState longer = apply_query(s, "text=" + std::string(kMaxSeqText + 1, 'a'), &errors);
  REQUIRE_THAT(errors, Catch::Contains("text is at most"));
  REQUIRE(longer.seq_text.empty());
  const nlohmann::json j = nlohmann::json::parse(state_json(apply_query(s, "view=seq&text=hi+there&attack=" + attack)));
  REQUIRE(j["view"] == "seq");
  REQUIRE(j["text"] == "hi there");
  REQUIRE(j["attack"] == attack);
  REQUIRE(j.contains("budget"));
  REQUIRE(url_decode(url_encode(text)) == text);
  // A link made from any query reads back to itself without errors (the fuzzing harness's rule).
  for (const std::string& q :
       std::vector<std::string>{"view=seq&text=%E2%82%AC+%26%3D%25&model=sequence/sms_lstm&hide=seqattack",
                                "view=seq&dataset=malbehavd&test=7&defence=" + advx::seq_defences().back().name,
                                "view=seq&text=&seed=5&adaptive=1", "text=abc&view=image&attack=pgd"}) {
    INFO(q);
    const std::string link = encode_query(apply_query(ViewState{}, q));
    std::string again;
    REQUIRE(encode_query(apply_query(ViewState{}, link, &again)) == link);
    REQUIRE(again.empty());
  }
  REQUIRE(encode_query(apply_query(ViewState{}, "view=seq&model=sequence/sms_lstm")).find("model=sequence/sms_lstm") !=
          std::string::npos);
}

namespace {

// Frames until the sequence view has computed everything (the attack after typing has paused).
void settle_seq(App& app) {
  for (int frames = 0; frames < 1000; ++frames) {
    app.update(false);
    if (!app.pending()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

TEST_CASE("App: a sequence dataset's file is read a slice per frame, then the test sample shows", "[app][shipped]") {
  for (const char* ds : {"malbehavd", "sms"}) {
    INFO(ds);
    App app(asset_dir());
    REQUIRE(app.apply_query(std::string("view=seq&dataset=") + ds + "&test=3"));
    const std::string name = app.seq_task().dataset;
    // The file is here at once natively; its read spreads over frames, each with a bounded share.
    std::vector<double> frame_ms;
    int frames = 0;
    for (; frames < 500 && app.seq_data_status() == ModelStatus::kLoading; ++frames) {
      const double p = app.models.read_progress(name);
      const auto t0 = std::chrono::steady_clock::now();
      app.update(false);
      frame_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (app.seq_data_status() == ModelStatus::kLoading) REQUIRE(app.models.read_progress(name) >= p);
    }
    REQUIRE(app.seq_data_status() == ModelStatus::kReady);
    std::sort(frame_ms.begin(), frame_ms.end());
    const double median = frame_ms[frame_ms.size() / 2];
    std::printf("[app] %s dataset read over %d frames, frame time median %.1f ms, max %.1f ms\n", name.c_str(), frames,
                median, frame_ms.back());
    CHECK(frames >= 3);
    CHECK(median <= 30.0);
    // Then the sample shows (its text and the prediction on it), as with a file read in one go.
    settle_seq(app);
    const advx::SequenceDataset& d = app.models.sequences(name);
    CHECK(app.seq.text == d.test.texts[3]);
    CHECK(app.seq.clean.top >= 0);
    CHECK(app.models.read_progress(name) == -1.0);
  }
  // A JS API call reads the file to the end at once.
  App app(asset_dir());
  REQUIRE(app.apply_query("view=seq&dataset=sms&text=hello"));
  app.models.request_dataset("sms-spam-collection");
  REQUIRE(app.seq_data_status() == ModelStatus::kLoading);
  app.models.finish_read("sms-spam-collection");
  REQUIRE(app.seq_data_status() == ModelStatus::kReady);
  REQUIRE(app.models.sequences("sms-spam-collection").test.size() == 1114);
}

TEST_CASE("App: the sequence view predicts on every key, attacks once typing pauses, defends, reproduces",
          "[app][shipped]") {
  App app(asset_dir());
  // Sequence models are in the manifest, under their folder, but not in the image view's picker.
  const ModelEntry* sms = app.models.find("sequence/sms_lstm");
  REQUIRE(sms);
  REQUIRE(sms->domain == kSequences);
  REQUIRE(sms->dataset == "sms-spam-collection");
  REQUIRE(!sms->image_pick());
  REQUIRE(app.models.find("small")->image_pick());
  REQUIRE(!app.apply_query("model=sequence/sms_lstm"));
  REQUIRE_THAT(app.error, Catch::Contains("is a sequence model"));
  REQUIRE(app.apply_query("view=seq&dataset=sms&text=ok"));
  settle_seq(app);
  REQUIRE(app.seq_model_name() == "sequence/sms_lstm");
  REQUIRE(app.state.seq_attack == app.seq_attack_choices().front()->name);  // resolved for the dataset
  for (const advx::SeqAttackSpec* a : app.seq_attack_choices()) REQUIRE(a->edit == app.seq_task().edit);
  // Typing, key by key: the prediction is there after each key, without a frame in between.
  const std::string message = "See you at lunch. FREE entry: txt WIN to 80086 to claim your cash prize now";
  std::vector<int> preds;
  std::string typed;
  for (char c : message) {
    typed += c;
    app.set_seq_text(typed);
    REQUIRE(app.seq.text == typed);
    REQUIRE(app.seq.clean.top >= 0);
    preds.push_back(app.seq.clean.top);
  }
  INFO("ham at first, spam in the end");
  REQUIRE(preds.front() == 0);
  REQUIRE(preds.back() == 1);
  REQUIRE(!app.seq.attack.valid);  // typing: the attack waits
  REQUIRE(app.pending());
  settle_seq(app);
  const SeqAttackView& a = app.seq.attack;
  REQUIRE(a.valid);
  REQUIRE(a.label == 1);
  REQUIRE(a.edits <= a.budget);
  REQUIRE(a.budget ==
          advx::edit_budget(app.state.seq_params.number("budget"), static_cast<int>(app.seq.input.ids.size())));
  REQUIRE(static_cast<int>(a.edit.edited.size()) == a.edits);
  const ModelEntry& e = app.seq_model_entry(app.seq_model_name());
  for (int i : a.edit.edited) {
    REQUIRE(a.adv[static_cast<size_t>(i)] >= 2);
    REQUIRE(e.codec.token(a.adv[static_cast<size_t>(i)]) == a.edit.tokens[static_cast<size_t>(i)]);
    REQUIRE(a.edit.tokens[static_cast<size_t>(i)] != app.seq.input.tokens[static_cast<size_t>(i)]);
  }
  REQUIRE(e.codec.encode(a.edit.text).ids == a.adv);
  REQUIRE(a.success == (a.pred.top != 1));
  // A link reproduces the text, the prediction and the adversarial.
  App other(asset_dir());
  REQUIRE(other.apply_query(app.hash()));
  settle_seq(other);
  REQUIRE(other.seq.text == app.seq.text);
  REQUIRE(other.seq.clean.probs == app.seq.clean.probs);
  REQUIRE(other.seq.attack.adv == a.adv);
  // A test message: the dataset's own text, its label known.
  REQUIRE(app.apply_query("test=3"));
  settle_seq(app);
  const advx::SequenceDataset* data = app.seq_data();
  REQUIRE(data);
  REQUIRE(app.seq.text == data->test.texts[3]);
  REQUIRE(app.seq.true_label == data->test.labels[3]);
  REQUIRE(app.seq.input.ids == data->test.sequences[3]);
  REQUIRE(!app.apply_query("test=100000"));
  REQUIRE_THAT(app.error, Catch::Contains("outside [0, 1114)"));
  REQUIRE(app.state.seq_test == 3);
  // A detecting defence: its score and threshold follow the text.
  const std::string squeeze = advx::seq_defences().front().name;
  REQUIRE(app.apply_query("defence=" + squeeze));
  settle_seq(app);
  REQUIRE(app.seq.defence.on);
  REQUIRE(app.seq.defence.report.scores.size() == 1);
  const double before = app.seq.defence.report.scores[0].value;
  app.set_seq_text("URGENT! You have won a 1 week FREE membership in our prize jackpot");
  REQUIRE(app.seq.defence.report.scores[0].value != before);  // in the same call, no frame in between
  // Its adaptive attacker: success = the defended model misled AND the detector not flagging it.
  REQUIRE(app.apply_query("adaptive=1"));
  settle_seq(app);
  const SeqAttackView& adaptive = app.seq.attack;
  REQUIRE(adaptive.valid);
  REQUIRE(adaptive.report.scores.size() == 1);
  REQUIRE(adaptive.flagged == adaptive.report.scores[0].flagged);
  REQUIRE(adaptive.success == (adaptive.defended.top != adaptive.label && !adaptive.flagged));
  // The SMS ensemble: sms_lstm's adversarially trained members vote on the message.
  REQUIRE(app.apply_query("defence=seqensemble&members=adversarial"));
  settle_seq(app);
  REQUIRE(app.seq.defence.on);
  REQUIRE(app.seq.defence.report.votes.size() == 3);
  REQUIRE(app.models.request("sequence/sms_lstm_adversarial_0") == ModelStatus::kReady);
  REQUIRE(app.apply_query("members=regular"));
  // Traces: insertion attacks only; the ensemble's members vote.
  REQUIRE(app.apply_query("dataset=malbehavd&test=0&defence=seqensemble"));
  settle_seq(app);
  REQUIRE(app.seq_model_name() == "sequence/api_lstm");
  REQUIRE(advx::find_seq_attack(app.state.seq_attack)->edit == advx::SeqEdit::Insert);
  REQUIRE(app.seq.defence.on);
  REQUIRE(app.seq.defence.report.votes.size() == 3);
  REQUIRE(app.seq.attack.valid);
  REQUIRE(app.seq.attack.report.votes.size() == 3);
  REQUIRE(!app.apply_query("attack=substitute"));
  REQUIRE_THAT(app.error, Catch::Contains("use the attack"));
  REQUIRE(advx::find_seq_attack(app.state.seq_attack)->edit == advx::SeqEdit::Insert);
  REQUIRE(!app.apply_query("model=sequence/sms_lstm"));
  REQUIRE_THAT(app.error, Catch::Contains("a model of sms-spam-collection, not of malbehavd-v1"));
}

TEST_CASE("App: a sequence attack runs a slice per frame and ends where one uninterrupted run ends", "[app][shipped]") {
  App app(asset_dir());
  // Black-box DE with a budget too small to succeed early: all its generations, over several frames.
  REQUIRE(app.apply_query("view=seq&dataset=malbehavd&test=0&attack=seqde&budget=0.01&de_gens=30"));
  int running_frames = 0;
  double progress = 0.0;
  for (int frames = 0; frames < 2000; ++frames) {
    app.update(false);
    if (app.seq.attack_running) {
      ++running_frames;
      REQUIRE(app.seq.attack_progress >= progress);  // it moves on, frame by frame
      progress = app.seq.attack_progress;
      REQUIRE(!app.seq.attack.valid);
    }
    if (!app.pending()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(!app.pending());
  REQUIRE(app.seq.attack.valid);
  REQUIRE(running_frames >= 2);
  const SeqAttackView whole = app.attack_text(app.seq_model_name(), app.seq.input, app.seq.true_label, app.state);
  REQUIRE(whole.adv == app.seq.attack.adv);
  REQUIRE(whole.queries == app.seq.attack.queries);
  // Typing (here: another test sample) drops the live run and starts the new one's.
  REQUIRE(app.apply_query("test=1"));
  app.update(false);
  REQUIRE(app.pending());
  settle_seq(app);
  REQUIRE(app.seq.attack.valid);
  REQUIRE(app.seq.input.ids == app.seq_data()->test.sequences[1]);
}

TEST_CASE("App: a sequence defence's first build runs a slice per frame and ends with the one-call defence",
          "[app][shipped]") {
  App app(asset_dir());
  // One thread while the frames are timed (as for k-NN above: a shared machine's scheduler).
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  for (const auto& [query, k] : std::vector<std::pair<std::string, std::string>>{{"dataset=malbehavd&test=0", ""},
                                                                                 {"dataset=sms&test=3", "&k=2560"}}) {
    INFO(query << k);
    REQUIRE(app.apply_query("view=seq&defence=none&budget=0.01&" + query));
    settle_seq(app);
    REQUIRE(app.seq.clean.top >= 0);
    REQUIRE(app.seq_data());
    const int clean = app.seq.clean.top;
    // Switched on: k-means and the validation scores a slice per frame, saying how far they are,
    // while the bare model's prediction stays on screen.
    const std::string squeeze = advx::seq_defences().front().name;
    REQUIRE(app.apply_query("defence=" + squeeze + k));
    std::vector<double> frame_ms;
    std::vector<std::string> said;
    for (int frames = 0; frames < 100000; ++frames) {
      app.update(false);
      frame_ms.push_back(app.timing.update_ms);  // the frame that finishes the build too
      if (!app.seq_defence_building()) break;
      REQUIRE(app.pending());
      REQUIRE(!app.seq.defence.on);
      REQUIRE(app.seq.defence.building);
      REQUIRE(app.seq.clean.top == clean);
      REQUIRE(!app.seq.defence.waiting.empty());
      if (said.empty() || said.back() != app.seq.defence.waiting) said.push_back(app.seq.defence.waiting);
    }
    REQUIRE(frame_ms.size() >= 3);  // spread over frames (MalbehavD ~0.1 s of work, SMS at k = 2560 ~0.5 s)
    REQUIRE_THAT(said.front(), Catch::StartsWith("clustering "));
    REQUIRE_THAT(said.back(), Catch::StartsWith("setting the threshold on validation sequences "));
    std::vector<double> sorted = frame_ms;
    std::sort(sorted.begin(), sorted.end());
    const double p90 = sorted[sorted.size() * 9 / 10];
    INFO(frame_ms.size() << " frames building, engine ms a frame: median " << sorted[sorted.size() / 2] << ", p90 "
                         << p90 << ", max " << sorted.back());
    CHECK(p90 <= 16.0);
    WARN(query << k << ": " << frame_ms.size() << " frames building, engine ms a frame: median "
               << sorted[sorted.size() / 2] << ", p90 " << p90 << ", max " << sorted.back());
    // The frame after: the defended prediction and its score, as the one-call build (the CLI's) gives them.
    settle_seq(app);
    REQUIRE(app.error.empty());
    REQUIRE(app.seq.defence.on);
    REQUIRE(!app.seq.defence.building);
    REQUIRE(app.seq.defence.waiting.empty());
    const advx::SeqDefenceSpec& spec = *advx::find_seq_defence(squeeze);
    advx::ParamValues values;
    for (const advx::ParamSpec& p : spec.params) values.set(p.key, app.state.seq_params.number(p.key));
    const advx::SequenceDataset& data = *app.seq_data();
    const advx::SequenceSplit validation = advx::sequence_validation_split(data.test);
    advx::SequenceModel& base = *app.seq_model_entry(app.seq_model_name()).seq_model;
    const advx::SeqDefended one = advx::build_seq_defence(spec, {data.train, validation, data.name}, base, values);
    std::vector<float> probs;
    const advx::DefenceReport want = advx::seq_defence_report(one, app.seq.input.ids, &probs);
    REQUIRE(app.seq.defence.pred.probs == probs);
    REQUIRE(app.seq.defence.report.scores.size() == 1);
    REQUIRE(app.seq.defence.report.scores[0].value == want.scores[0].value);
    REQUIRE(app.seq.defence.report.scores[0].threshold == one.threshold);
  }
  omp_set_num_threads(threads);
  // A call outside the frames (the JS API: an attack with the defence) while a build runs finishes it
  // at once, and the next frame shows the defence.
  REQUIRE(app.apply_query("k=100"));
  app.update(false);
  app.update(false);
  REQUIRE(app.seq_defence_building());
  REQUIRE(app.seq.defence.building);
  const SeqAttackView a = app.attack_text(app.seq_model_name(), app.seq.input, app.seq.true_label, app.state);
  REQUIRE(a.valid);
  REQUIRE(!app.seq_defence_building());
  app.update(false);
  REQUIRE(app.seq.defence.waiting.empty());
  REQUIRE(app.seq.defence.on);
  REQUIRE(app.seq.defence.report.scores.size() == 1);
}

TEST_CASE("JS API natively: classifyText and a sequence attack, clear errors", "[app][shipped]") {
  App app(asset_dir());
  api_attach(&app);
  REQUIRE(app.apply_query("view=seq&dataset=sms"));
  settle_seq(app);
  REQUIRE(advx_classify_text("WINNER!! Claim your FREE prize, call 09061701461 now", "") == 0);
  nlohmann::json r = nlohmann::json::parse(advx_text());
  REQUIRE(r["model"] == "sequence/sms_lstm");
  REQUIRE(r["label"] == "spam");
  REQUIRE(r["pred"] == 1);
  REQUIRE(r["probs"].size() == 2);
  REQUIRE(r["tokens"][0] == "winner");
  REQUIRE(r["unknown"].is_array());
  REQUIRE(advx_classify_text("zzqx ok", "sequence/sms_lstm") == 0);
  REQUIRE(nlohmann::json::parse(advx_text())["unknown"] == nlohmann::json::array({0}));
  REQUIRE(advx_seq_attack("WINNER!! Claim your FREE prize, call 09061701461 now",
                          "attack=substitute&budget=0.2&seed=1") == 0);
  r = nlohmann::json::parse(advx_text());
  REQUIRE(r["attack"] == "substitute");
  REQUIRE(r["attacked"] == 1);
  REQUIRE(r["edits"].get<int>() <= r["budget"].get<int>());
  REQUIRE(r["changed"].size() == r["edits"].get<size_t>());
  REQUIRE(r["tokens"].size() == r["original"]["tokens"].size());
  // The malware model through opts.model; its dataset's attack.
  REQUIRE(app.models.request("sequence/api_lstm") == ModelStatus::kReady);
  REQUIRE(advx_seq_attack("NtClose NtOpenKey NtQueryValueKey",
                          "model=sequence/api_lstm&attack=insert&budget=0.5&label=1") == 0);
  r = nlohmann::json::parse(advx_text());
  REQUIRE(r["tokens"].size() == 3 + r["edits"].get<size_t>());
  // Errors.
  REQUIRE(advx_classify_text("x", "sequence/nope") == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("unknown model 'sequence/nope'"));
  REQUIRE(advx_classify_text("x", "small") == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("is an image model"));
  REQUIRE(advx_seq_attack("hello", "attack=insert") == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("attack 'insert' edits by insert"));
  REQUIRE(advx_seq_attack("hello", "attack=fgsm") == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("attack is one of"));
  REQUIRE(advx_seq_attack("hello", "budget=3") == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("budget must be"));
  REQUIRE(advx_seq_attack("hello", "eps=0.1") == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("'eps' is not a sequence attack option"));
  REQUIRE(advx_seq_attack("hello", "label=7") == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("label 7 is not a class"));
  REQUIRE(advx_seq_samples("cifar10") == -1);
  REQUIRE_THAT(advx_last_error(), Catch::Contains("unknown sequence dataset 'cifar10'"));
  REQUIRE(advx_seq_samples("sms") == 2);
  r = nlohmann::json::parse(advx_text());
  REQUIRE(r["texts"].size() == 1114);
  REQUIRE(r["labels"].size() == 1114);
  // The view and the registry carry the sequence view.
  REQUIRE(advx_set_state("text=Hi%20there") == 0);
  const nlohmann::json v = view();
  REQUIRE(v["view"] == "seq");
  REQUIRE(v["seq"]["text"] == "Hi there");
  REQUIRE(v["seq"]["tokens"] == nlohmann::json::array({"hi", "there"}));
  REQUIRE(v["seq"]["pred"] == 0);
  const nlohmann::json reg = nlohmann::json::parse(advx_registry_json());
  REQUIRE(reg["sequenceAttacks"].size() == advx::seq_attacks().size());
  REQUIRE(reg["sequenceDefences"].size() == advx::seq_defences().size());
  bool listed = false;
  for (const auto& m : nlohmann::json::parse(advx_models_json()))
    if (m["name"] == "sequence/sms_lstm") listed = m["domain"] == "sequences" && m["selected"] == true;
  REQUIRE(listed);
  api_attach(nullptr);
}
