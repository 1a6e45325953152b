// The C functions behind window.advx (web/advx_api.js). They act on the App given here, on the
// model its state names. Also compiled natively (plain C functions) so they can be tested there.
// Attack options arrive in the URL's syntax ("attack=pgd&eps=0.3&target=3") and are parsed by the
// same code as the URL (frontend/state.cpp), from the engine's parameter tables.
#include "frontend/web_api.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/loss.h"
#include "engine/parallel.h"
#include "engine/train/recipes.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define ADVX_API extern "C" EMSCRIPTEN_KEEPALIVE
#else
#define ADVX_API extern "C"
#endif

using play::App;
using play::Prediction;
using json = nlohmann::ordered_json;

namespace {

App* g_app = nullptr;  // set once by main; not owned
std::string g_error;   // message of the last failed call
std::string g_text;    // buffer behind returned strings (valid until the next call)

// The largest batch one call takes (a page scores a test set in chunks of this), and how long one
// attack call may keep the page busy: the run goes step by step (a gradient step, a generation) and
// stops with an error past this (the page stays responsive; split the batch or lower the steps).
constexpr int kMaxBatch = 1000;
constexpr double kMaxCallSeconds = 5.0;

// n images of the state's model's input shape from px; checked finite and in [0, 1].
advx::Tensor pixels_tensor(App& app, const float* px, int n) {
  ADVX_REQUIRE(n >= 1 && n <= kMaxBatch,
               "the number of images must be in 1.." + std::to_string(kMaxBatch) + ", got " + std::to_string(n));
  advx::Shape shape = app.model().input_shape();
  shape.insert(shape.begin(), n);
  advx::Tensor x(shape);
  for (std::int64_t i = 0; i < x.size(); ++i) {
    const float v = px[i];
    ADVX_REQUIRE(std::isfinite(v) && v >= 0.0f && v <= 1.0f,
                 "pixels must be finite values in [0, 1]; value " + std::to_string(i) + " is " + std::to_string(v));
    x.data[static_cast<size_t>(i)] = v;
  }
  return x;
}

// Runs f; on advx::Error stores the message and returns -1.
template <class F>
int guarded(F&& f) {
  g_error.clear();
  if (!g_app) {
    g_error = "advx is not initialised yet (await advx.ready)";
    return -1;
  }
  try {
    return f(*g_app);
  } catch (const advx::Error& e) {
    g_error = e.what();
  } catch (const std::exception& e) {
    g_error = std::string("internal error: ") + e.what();
  }
  return -1;
}

json probs(const Prediction& p) {
  return p.probs;
}

// The options of an attack call, in the URL's syntax, applied on top of the current state. Only
// attack settings are options (the attack, its parameters, target, seed, adaptive); anything else is
// an error that names it.
play::ViewState attack_options(const App& app, const std::string& query) {
  for (const auto& pair : play::query_pairs(query)) {
    const std::string& key = pair.first;
    const bool is_param = std::any_of(advx::attacks().begin(), advx::attacks().end(),
                                      [&](const advx::AttackSpec& a) { return advx::find_param(a.params, key); });
    if (!key.empty() && !is_param && key != "attack" && key != "target" && key != "seed" && key != "adaptive")
      throw advx::Error("'" + key +
                        "' is not an attack option (attack, its parameters, target, seed, adaptive); "
                        "setState changes the rest");
  }
  std::string errors;
  play::ViewState s = play::apply_query(app.state, query, &errors);
  if (!errors.empty()) throw advx::Error("bad attack option " + errors.substr(0, errors.size() - 1));
  return s;
}

// The options of a sequence attack call, in the URL's syntax, applied on top of the current state
// in the sequence view: the attack, its parameters, seed, adaptive, model; `label` is returned apart.
play::ViewState seq_attack_options(const App& app, const std::string& query, int* label) {
  std::string rest;
  for (const auto& [key, value] : play::query_pairs(query)) {
    if (key.empty()) continue;
    if (key == "label") {
      char* end = nullptr;
      const long v = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v < 0 || v > 999)
        throw advx::Error("label must be a class of the model (an integer >= 0), got '" + value + "'");
      *label = static_cast<int>(v);
      continue;
    }
    const bool is_param = advx::find_param(play::seq_all_params(), key) != nullptr;
    if (!is_param && key != "attack" && key != "seed" && key != "adaptive" && key != "model")
      throw advx::Error("'" + key +
                        "' is not a sequence attack option (text, attack, its parameters, seed, adaptive, model, "
                        "label); setState changes the rest");
    rest += (rest.empty() ? "" : "&") + play::url_encode(key) + "=" + play::url_encode(value);
  }
  play::ViewState base = app.state;
  base.view = "seq";
  std::string errors;
  play::ViewState s = play::apply_query(base, rest, &errors);
  if (!errors.empty()) throw advx::Error("bad attack option " + errors.substr(0, errors.size() - 1));
  return s;
}

json prediction_json(const play::Prediction& p, const std::vector<std::string>& classes) {
  json j;
  j["pred"] = p.top;
  j["label"] = p.top >= 0 && p.top < static_cast<int>(classes.size()) ? json(classes[static_cast<size_t>(p.top)])
                                                                      : json(nullptr);
  j["probs"] = p.probs;
  return j;
}

json report_json(const advx::DefenceReport& r) {
  json scores = json::array(), votes = json::array();
  for (const advx::DefenceReport::Score& sc : r.scores)
    scores.push_back({{"name", sc.name}, {"value", sc.value}, {"threshold", sc.threshold}, {"flagged", sc.flagged}});
  for (const advx::DefenceReport::Vote& v : r.votes)
    votes.push_back({{"member", v.member}, {"pred", v.pred}, {"probs", v.probs}});
  return {{"scores", scores}, {"votes", votes}};
}

json seq_attack_json(const play::SeqAttackView& a, const std::vector<std::string>& classes) {
  json j = prediction_json(a.pred, classes);
  j["attack"] = a.attack;
  j["tokens"] = a.edit.tokens;
  j["ids"] = a.adv;
  j["text"] = a.edit.text;
  j["changed"] = a.edit.edited;
  j["attacked"] = a.label;
  j["success"] = a.success;  // misclassified and, against a detector, not flagged
  j["flagged"] = a.flagged;
  j["edits"] = a.edits;
  j["budget"] = a.budget;
  if (a.defended.top >= 0) {
    j["defendedPred"] = a.defended.top, j["defendedProbs"] = a.defended.probs;
    const json r = report_json(a.report);
    j["scores"] = r["scores"], j["votes"] = r["votes"];
  }
  j["craftedOn"] = a.crafted_on;
  j["queries"] = a.queries, j["gradientCalls"] = a.gradient_calls;
  j["ms"] = a.ms;
  return j;
}

json encoded_json(const advx::EncodedText& e) {
  return {{"tokens", e.tokens}, {"ids", e.ids}, {"unknown", e.unknown}, {"dropped", e.dropped}};
}

}  // namespace

namespace play {
void api_attach(App* app) {
  g_app = app;
}
}  // namespace play

// Threads the engine's parallel sections use: 1 in the single-thread page, the pool's size in the
// threaded one (web/README.md, "Threads"); natively OpenMP's.
ADVX_API int advx_threads() {
#if defined(__EMSCRIPTEN_PTHREADS__)
  return advx::engine_pool().size();
#else
  return advx::max_threads();
#endif
}

// Values per image of the state's model's dataset (784 for MNIST, 3072 for CIFAR-10).
ADVX_API int advx_input_size() {
  return guarded([](App& app) { return static_cast<int>(advx::shape_size(app.input_shape())); });
}

// Probabilities of the state's model for n images (n x input size values); writes n x K floats to
// out and returns K.
ADVX_API int advx_classify(const float* px, int n, float* out) {
  return guarded([&](App& app) {
    const advx::Tensor p = app.model().probabilities(pixels_tensor(app, px, n));
    std::copy(p.data.begin(), p.data.end(), out);
    return p.dim(1);
  });
}

// The registered attack `opts` names ("attack=pgd&eps=0.3&steps=40&target=3&seed=1"; keys missing
// from opts keep the playground's current values) on n images with their labels. Writes the n
// adversarials to out; advx_text() then holds {pred, success, linf, l2, l0, queries, gradientCalls}.
ADVX_API int advx_attack(const float* px, int n, const int* labels, const char* opts, float* out) {
  return guarded([&](App& app) {
    const play::ViewState s = attack_options(app, opts);
    const advx::Tensor x = pixels_tensor(app, px, n);
    const std::vector<int> y(labels, labels + n);
    const advx::AttackResult r = app.run_attack(x, y, s, true, kMaxCallSeconds);
    std::copy(r.adv.data.begin(), r.adv.data.end(), out);
    json j;
    j["attack"] = s.attack;
    j["pred"] = r.pred;
    std::vector<bool> success(r.success.begin(), r.success.end());
    j["success"] = success;
    std::vector<double> linf, l2;
    std::vector<std::int64_t> l0;
    for (int i = 0; i < n; ++i) {
      const advx::Norms nm = advx::perturbation_norms(r.adv, x, i);
      linf.push_back(nm.linf), l2.push_back(nm.l2), l0.push_back(nm.l0);
    }
    j["linf"] = linf, j["l2"] = l2, j["l0"] = l0;
    j["queries"] = r.queries;
    j["gradientCalls"] = r.gradient_calls;
    g_text = j.dump();
    return 0;
  });
}

// The classic gradient-sign call behind advx.fgsm: FGSM for steps <= 1, else BIM with `steps`, on
// one image, with the current seed; no evaluation of the result (only the image is returned).
ADVX_API int advx_fgsm(const float* px, int label, float eps, int target, int steps, float* out) {
  return guarded([&](App& app) {
    // A scratch state reused across calls, given only what the run reads (the attack, its
    // parameters, target and seed): copying the whole view state (every attack's and defence's
    // parameters) cost ~20 us of a ~200 us call in WebAssembly.
    static play::ViewState s;
    const advx::AttackSpec& spec = advx::gradient_sign_attack(steps);
    s.attack = spec.name;
    s.adaptive = false;
    s.target = target;
    s.seed = app.state.seed;
    for (const advx::ParamSpec& p : spec.params) s.params.set(p.key, app.state.params.number(p.key));
    s.params.set(spec.budget, eps);
    if (steps > 1) s.params.set("steps", steps);
    const advx::Tensor x = pixels_tensor(app, px, 1);
    advx::Tensor adv =
        eps != 0.0f ? app.run_attack(x, {label}, s, false, kMaxCallSeconds).adv : x;  // NaN, < 0: an error
    std::copy(adv.data.begin(), adv.data.end(), out);
    return 0;
  });
}

ADVX_API const char* advx_text() {
  return g_text.c_str();
}

// Shows these values (the dataset's input size) as the input, used as given.
ADVX_API int advx_set_input(const float* px) {
  return guarded([&](App& app) {
    advx::Shape shape = app.input_shape();
    shape.insert(shape.begin(), 1);
    advx::Tensor x(shape);
    std::copy(px, px + x.size(), x.data.begin());
    app.set_exact_input(x);
    app.update(false);
    return 0;
  });
}

// Applies "key=value&..." (the URL hash syntax). Returns 0, or -1 with advx_last_error() set.
ADVX_API int advx_set_state(const char* query) {
  return guarded([&](App& app) {
    app.error.clear();
    const bool ok = app.apply_query(query);
    app.update(false);
    if (!ok) throw advx::Error(app.error);
    return 0;
  });
}

// "Train robustly" from the page: "arch=small&recipe=fgsm_rs&train_epochs=2&..." (keys not given keep
// the panel's values; recipe parameters from engine/train/recipes.h's table), or "stop=1". Starts a
// run that trains a few batches per frame; view().training follows it. 0, or -1 with the reason.
ADVX_API int advx_train(const char* opts) {
  return guarded([&](App& app) {
    play::TrainView& t = app.training;
    std::string arch = t.arch, recipe = t.recipe;
    advx::ParamValues params = t.params;
    for (const auto& [key, value] : play::query_pairs(opts)) {
      if (key == "stop") {
        app.stop_training();
        return 0;
      }
      if (key == "arch") {
        arch = value;
      } else if (key == "recipe") {
        recipe = advx::get_recipe(value).name;  // throws listing the recipes
      } else if (const advx::ParamSpec* p = advx::find_param(advx::recipe_params(), key)) {
        params.set(key, advx::parse_value(*p, value, "train's " + key));
      } else {
        std::string known = "arch, recipe, stop";
        for (const advx::ParamSpec& spec : advx::recipe_params()) known += ", " + spec.key;
        throw advx::Error("'" + key + "' is not a training option (" + known + ")");
      }
    }
    t.arch = arch, t.recipe = recipe, t.params = params;
    app.start_training();
    if (!t.error.empty()) throw advx::Error(t.error);
    return 0;
  });
}

// The patch workbench from the page. px: n values for the patch's pixels ([C, S, S] of the size in
// opts or the current one; n = 0 keeps them). opts in the URL's syntax: size, x, y, angle, target
// (the state's patch_* keys), fill (random or clear), train (steps to add), pause (0/1), stop, remove.
// 0, or -1 with the reason; view().patch follows it.
ADVX_API int advx_patch(const float* px, int n, const char* opts) {
  return guarded([&](App& app) {
    std::string state_query, fill;
    int train = 0, pause = -1;
    bool stop = false, remove = false;
    for (const auto& [key, plain] : play::query_pairs(opts)) {
      if (key == "size" || key == "x" || key == "y" || key == "angle" || key == "target") {
        state_query += (state_query.empty() ? "patch_" : "&patch_") + key + "=" + play::url_encode(plain);
      } else if (key == "fill") {
        ADVX_REQUIRE(plain == "random" || plain == "clear", "patch fill is 'random' or 'clear', got '" + plain + "'");
        fill = plain;
      } else if (key == "train") {
        char* end = nullptr;
        const long v = std::strtol(plain.c_str(), &end, 10);
        ADVX_REQUIRE(!plain.empty() && *end == '\0' && v >= 1 && v <= 100000,
                     "patch train is a number of steps in 1..100000, got '" + plain + "'");
        train = static_cast<int>(v);
      } else if (key == "pause") {
        ADVX_REQUIRE(plain == "0" || plain == "1" || plain == "true" || plain == "false",
                     "patch pause is true or false, got '" + plain + "'");
        pause = plain == "1" || plain == "true";
      } else if (key == "stop" || key == "remove") {
        (key == "stop" ? stop : remove) = plain != "0" && plain != "false";
      } else {
        throw advx::Error("'" + key +
                          "' is not a patch option (pixels, size, x, y, angle, target, fill, train, pause, stop, "
                          "remove)");
      }
    }
    if (remove) {
      app.remove_patch();
      app.update(false);
      return 0;
    }
    if (!state_query.empty()) {
      std::string errors;
      play::ViewState s = play::apply_query(app.state, state_query, &errors);
      if (!errors.empty()) throw advx::Error("bad patch option " + errors.substr(0, errors.size() - 1));
      app.error.clear();
      if (!app.set_state(s)) throw advx::Error(app.error);
    }
    if (n > 0) {
      advx::Tensor p({n});
      std::copy(px, px + n, p.data.begin());
      app.set_patch_pixels(p);
    } else if (!fill.empty()) {
      app.fill_patch(fill == "random");
    } else if (app.state.patch.empty() && (train > 0 || !state_query.empty())) {
      app.fill_patch(true);  // a patch to place or to train from
    }
    if (stop) app.stop_patch_training();
    if (train > 0) {
      app.train_patch(train);
      if (!app.patch.error.empty()) throw advx::Error(app.patch.error);
    }
    if (pause >= 0) app.pause_patch(pause == 1);
    app.update(false);
    return 0;
  });
}

// The patch as PNG (scale 1: the model's pixels, the format of `advx patch train --out`; scale > 1:
// the printable copy, upscaled by nearest neighbour). Returns the byte count; advx_patch_png_data()
// points at the bytes (valid until the next call).
namespace {
std::vector<std::uint8_t> g_png;  // the last advx_patch_png's bytes
}  // namespace
ADVX_API int advx_patch_png(int scale) {
  return guarded([&](App& app) {
    g_png = app.patch_png(scale);
    return static_cast<int>(g_png.size());
  });
}
ADVX_API const std::uint8_t* advx_patch_png_data() {
  return g_png.data();
}

// Reads a patch PNG the page wrote into the in-memory file system (advx.importPatch, the picker).
ADVX_API int advx_import_patch_file(const char* path, const char* name) {
  return guarded([&](App& app) {
    app.error.clear();
    if (!app.import_patch_png(advx::read_file(path), name)) throw advx::Error(app.error);
    app.update(false);
    return 0;
  });
}

ADVX_API const char* advx_state_json() {
  g_error.clear();
  g_text = g_app ? play::state_json(g_app->state) : "{}";
  if (g_app && g_app->state.seq() && g_app->state.seq_model.empty()) {  // the model shown: the dataset's first
    json j = json::parse(g_text);
    j["model"] = g_app->seq_model_name();
    g_text = j.dump();
  }
  return g_text.c_str();
}

ADVX_API const char* advx_hash() {
  g_text = g_app ? g_app->hash() : "";
  return g_text.c_str();
}

namespace {

json model_json(const play::App& app, const play::ModelEntry& e) {
  json o;
  o["name"] = e.name;
  o["arch"] = e.arch;
  o["domain"] = e.domain;
  o["companion"] = e.companion;  // loaded by a defence or the sequence view, not picked as a model
  o["dataset"] = e.dataset;
  o["params"] = e.params;
  o["bytes"] = e.file_bytes;
  o["test_acc"] = e.test_acc >= 0 ? json(e.test_acc) : json(nullptr);
  o["url"] = e.file;
  o["status"] = play::status_name(e.status);
  o["received"] = e.received;
  o["error"] = e.error.empty() ? json(nullptr) : json(e.error);
  o["default"] = e.name == app.models.default_model();
  o["selected"] = app.state.seq() ? e.name == app.seq_model_name() : e.name == app.state.model;
  return o;
}

json param_table(const std::vector<advx::ParamSpec>& table) {
  json out = json::array();
  for (const advx::ParamSpec& p : table) {
    json j;
    j["key"] = p.key;
    j["type"] = p.type == advx::ParamType::Float  ? "float"
                : p.type == advx::ParamType::Int  ? "int"
                : p.type == advx::ParamType::Bool ? "bool"
                                                  : "choice";
    j["min"] = p.min, j["max"] = p.max, j["default"] = p.def, j["help"] = p.help;
    if (!p.choices.empty()) j["choices"] = p.choices;
    out.push_back(j);
  }
  return out;
}

}  // namespace

// [{"name", "arch", "params", "bytes", "test_acc", "url", "status", "received", "error", "default",
// "selected"}] from the manifest: listing the models loads none of them.
ADVX_API const char* advx_models_json() {
  json list = json::array();
  if (g_app)
    for (const play::ModelEntry& e : g_app->models.entries()) list.push_back(model_json(*g_app, e));
  g_text = list.dump();
  return g_text.c_str();
}

// The registered attacks and defences with their parameter tables (what advx.attack accepts).
ADVX_API const char* advx_registry_json() {
  json j;
  j["attacks"] = json::array();
  for (const advx::AttackSpec& a : advx::attacks())
    j["attacks"].push_back({{"name", a.name},
                            {"title", a.title},
                            {"summary", a.summary},
                            {"citation", a.citation},
                            {"norm", advx::norm_name(a.norm)},
                            {"budget", a.budget},
                            {"gradient", a.gradient},
                            {"params", param_table(a.params)}});
  j["defences"] = json::array();
  for (const advx::DefenceSpec& d : advx::defences())
    j["defences"].push_back({{"name", d.name},
                             {"title", d.title},
                             {"summary", d.summary},
                             {"citation", d.citation},
                             {"note", d.note},
                             {"params", param_table(d.params)}});
  j["sequenceAttacks"] = json::array();
  for (const advx::SeqAttackSpec& a : advx::seq_attacks())
    j["sequenceAttacks"].push_back({{"name", a.name},
                                    {"title", a.title},
                                    {"summary", a.summary},
                                    {"citation", a.citation},
                                    {"edit", advx::seq_edit_name(a.edit)},
                                    {"budget", a.budget},
                                    {"gradient", a.gradient},
                                    {"params", param_table(a.params)}});
  j["sequenceDefences"] = json::array();
  for (const advx::SeqDefenceSpec& d : advx::seq_defences())
    j["sequenceDefences"].push_back({{"name", d.name},
                                     {"title", d.title},
                                     {"summary", d.summary},
                                     {"citation", d.citation},
                                     {"params", param_table(d.params)}});
  j["sequenceDatasets"] = json::array();
  for (const advx::SequenceTask& t : advx::sequence_tasks())
    j["sequenceDatasets"].push_back({{"name", t.alias}, {"dataset", t.dataset}, {"edit", advx::seq_edit_name(t.edit)}});
  g_text = j.dump();
  return g_text.c_str();
}

// One model's entry (as in advx_models_json), or an error if the name is unknown.
ADVX_API const char* advx_model_json(const char* name) {
  g_text.clear();
  const int rc = guarded([&](App& app) {
    const play::ModelEntry* e = app.models.find(name);
    if (!e) throw advx::Error("unknown model '" + std::string(name) + "'");
    g_text = model_json(app, *e).dump();
    return 0;
  });
  return rc < 0 ? "" : g_text.c_str();
}

// Starts loading a model if it is not loaded (retry != 0: also after a failure). Returns its status:
// 0 not loaded, 1 loading, 2 ready, 3 error; -1 if the name is unknown.
ADVX_API int advx_request_model(const char* name, int retry) {
  return guarded([&](App& app) {
    if (app.models.index_of(name) < 0) app.models.get(name);  // throws with the list of models
    return static_cast<int>(app.models.request(name, retry != 0));
  });
}

// The page downloaded a model's file: build the model. 0, or -1 (advx_last_error) if it is not a
// valid model file; the model panel shows the error either way.
ADVX_API int advx_model_data(const char* name, const std::uint8_t* bytes, int size) {
  return guarded([&](App& app) {
    if (!app.models.deliver(name, std::vector<std::uint8_t>(bytes, bytes + size))) {
      const play::ModelEntry* e = app.models.find(name);
      throw advx::Error(e ? e->error : "unknown model '" + std::string(name) + "'");
    }
    return 0;
  });
}

ADVX_API void advx_model_failed(const char* name, const char* why) {
  if (g_app) g_app->models.fail(name, why);
}

ADVX_API void advx_model_progress(const char* name, double received, double total) {
  if (g_app) g_app->models.progress(name, static_cast<std::int64_t>(received), static_cast<std::int64_t>(total));
}

// What the page shows: predictions (bare and defended), the attack's result and norms, the
// robustness curves.
ADVX_API const char* advx_view_json() {
  if (!g_app) {
    g_text = "null";
    return g_text.c_str();
  }
  App& app = *g_app;
  json o;
  o["model"] = app.state.model;
  o["modelStatus"] = play::status_name(app.model_status());
  o["pending"] = app.pending();
  o["pred"] = app.clean.top;
  o["probs"] = probs(app.clean);
  o["label"] = app.true_label;
  o["exact"] = app.exact_input;
  o["dataset"] = app.dataset();
  o["classes"] = app.class_names();
  if (app.defence.on || !app.defence.waiting.empty()) {
    const advx::DefenceReport& r = app.defence.report;
    json scores = json::array(), votes = json::array(), neighbours = json::array();
    for (const advx::DefenceReport::Score& s : r.scores)
      scores.push_back({{"name", s.name}, {"value", s.value}, {"threshold", s.threshold}, {"flagged", s.flagged}});
    for (const advx::DefenceReport::Vote& v : r.votes)
      votes.push_back({{"member", v.member}, {"pred", v.pred}, {"probs", v.probs}});
    for (const advx::DefenceReport::Neighbour& n : r.neighbours)
      neighbours.push_back({{"index", n.index}, {"label", n.label}, {"distance", n.distance}});
    o["defence"] = {{"name", app.state.defence},
                    {"pred", app.defence.clean.top},
                    {"probs", probs(app.defence.clean)},
                    {"gradient", advx::gradient_kind_name(app.defence.gradient)},
                    {"waiting", app.defence.waiting},
                    {"building", app.defence_building()},
                    {"progress", app.defence.progress},
                    {"scores", scores},
                    {"votes", votes},
                    {"neighbours", neighbours},
                    {"ms", app.defence.ms}};
  } else {
    o["defence"] = nullptr;
  }
  const play::AttackView& a = app.attack;
  if (a.valid) {
    json j;
    j["attack"] = app.state.attack;
    j["pred"] = a.pred.top;
    j["probs"] = probs(a.pred);
    if (a.defended.top >= 0) j["defendedPred"] = a.defended.top, j["defendedProbs"] = probs(a.defended);
    j["label"] = a.label;
    j["success"] = a.success;
    j["craftedOn"] = a.crafted_on;
    j["linf"] = a.norms.linf, j["l2"] = a.norms.l2, j["l0"] = a.norms.l0;
    j["queries"] = a.queries, j["gradientCalls"] = a.gradient_calls;
    j["ms"] = a.ms;
    o["attack"] = j;
  } else {
    o["attack"] = nullptr;
  }
  if (a.running) {  // a long run computed a slice per frame (see App::kAttackSliceMs)
    const advx::AttackSnapshot& sn = a.snapshot;
    o["run"] = {{"iteration", sn.iteration},
                {"iterations", sn.iterations},
                {"queries", sn.queries},
                {"progress", a.progress},
                {"paused", a.paused},
                {"best", sn.best_history},
                {"candidates", sn.candidates.size()}};
  } else {
    o["run"] = nullptr;
  }
  const play::RobustnessCurve& r = app.robust;
  json rob;
  rob["done"] = r.done() && !r.key.empty();
  rob["count"] = r.count;
  rob["budget"] = r.budget;
  rob["eps"] = r.grid;
  auto accs = [](const std::vector<float>& acc) {
    json out = json::array();
    for (float v : acc) out.push_back(v < 0 ? json(nullptr) : json(v));
    return out;
  };
  rob["acc"] = r.curves.empty() ? json::array() : accs(r.curves.front().acc);  // the bare model's
  rob["curves"] = json::array();
  for (const play::RobustnessCurve::Curve& c : r.curves)
    rob["curves"].push_back({{"name", c.name}, {"acc", accs(c.acc)}});
  o["robustness"] = rob;
  {  // "train robustly" (TrainView)
    const play::TrainView& t = app.training;
    json tr = {{"arch", t.arch},       {"recipe", t.recipe}, {"running", t.running()}, {"paused", t.paused},
               {"waiting", t.waiting}, {"error", t.error},   {"adopted", t.adopted},   {"ms", t.ms}};
    if (t.trainer) {
      const advx::TrainProgress& p = t.trainer->last();
      tr["done"] = t.trainer->done();
      tr["phase"] = advx::phase_name(t.trainer->phase());
      tr["progress"] = t.trainer->progress();
      tr["epoch"] = p.epoch, tr["epochs"] = t.trainer->config().epochs;
      tr["batch"] = p.batch, tr["batches"] = p.batches;
      tr["loss"] = p.loss, tr["imagesPerSecond"] = p.images_per_s;
      json h = json::array();
      for (const advx::EpochStats& e : t.trainer->history())
        h.push_back({{"epoch", e.epoch},
                     {"loss", e.loss},
                     {"seconds", e.seconds},
                     {"evalN", e.eval_n},
                     {"clean", e.clean_acc},
                     {"robust", e.robust_acc}});
      tr["history"] = h;
    }
    o["training"] = tr;
  }
  if (!app.state.patch.empty()) {  // the patch workbench (PatchView)
    const play::PatchView& p = app.patch;
    json pj;
    pj["size"] = app.state.patch_size;
    pj["side"] = p.pixels.data.empty() ? 0 : p.pixels.dim(1);
    pj["channels"] = p.pixels.data.empty() ? 0 : p.pixels.dim(0);
    pj["pixels"] = p.pixels.data;
    pj["x"] = p.where.cx, pj["y"] = p.where.cy, pj["angle"] = app.state.patch_angle;
    pj["placedSide"] = p.where.side;
    pj["target"] = app.state.patch_target;
    pj["covered"] = p.covered.size();
    pj["running"] = p.running();
    pj["paused"] = p.paused;
    pj["waiting"] = p.waiting;
    pj["error"] = p.error;
    pj["step"] = p.trainer ? p.trainer->steps() : static_cast<int>(p.history.size());
    pj["goal"] = p.goal;
    pj["ms"] = p.ms, pj["stepMs"] = p.step_ms;
    json loss = json::array(), success = json::array();
    for (const advx::PatchStepStats& st : p.history) loss.push_back(st.loss), success.push_back(st.success);
    pj["loss"] = loss, pj["success"] = success;
    pj["heldOut"] = {{"n", std::min(App::kPatchHeldOut, app.samples().size())},
                     {"success", p.success >= 0 ? json(p.success) : json(nullptr)},
                     {"attacked", p.attacked},
                     {"step", p.evaluated_step},
                     {"running", p.eval != nullptr}};
    o["patch"] = pj;
  } else {
    o["patch"] = nullptr;
  }
  o["view"] = app.state.view;
  if (app.state.seq()) {
    const play::SeqView& v = app.seq;
    const std::string name = app.seq_model_name();
    const play::ModelEntry* e = app.models.find(name);
    const std::vector<std::string> classes =
        e && e->status == play::ModelStatus::kReady ? e->codec.classes() : std::vector<std::string>{};
    json q = prediction_json(v.clean, classes);
    q["dataset"] = app.seq_task().alias;
    q["model"] = name;
    q["modelStatus"] = play::status_name(app.seq_model_status());
    q["dataStatus"] = play::status_name(app.seq_data_status());
    q["dataRead"] = app.models.read_progress(app.seq_task().dataset);  // 0..1 while the file is read, else -1
    q["classes"] = classes;
    q["text"] = v.text;
    q["test"] = app.state.seq_test;
    q["trueLabel"] = v.true_label;
    q.update(encoded_json(v.input));
    if (v.defence.on) {
      json d = prediction_json(v.defence.pred, classes);
      d["name"] = app.state.seq_defence;
      d.update(report_json(v.defence.report));
      d["gradient"] = advx::gradient_kind_name(v.defence.gradient);
      q["defence"] = d;
    } else if (app.state.seq_defence != "none") {
      q["defence"] = {{"name", app.state.seq_defence},
                      {"waiting", v.defence.waiting},
                      {"building", v.defence.building},
                      {"progress", v.defence.progress},
                      {"error", v.defence.error}};
    } else {
      q["defence"] = nullptr;
    }
    q["attack"] = v.attack.valid ? seq_attack_json(v.attack, classes) : json(nullptr);
    q["attackRunning"] = v.attack_running;  // computed a slice per frame; "attack" comes when it is done
    q["attackProgress"] = v.attack_progress;
    q["timing"] = {{"classify", v.classify_ms}, {"defence", v.defence_ms}};
    o["seq"] = q;
    o["modelStatus"] = play::status_name(app.seq_model_status());
  }
  o["error"] = app.error;
  o["timing"] = {{"preprocess", app.timing.preprocess_ms},
                 {"classify", app.timing.classify_ms},
                 {"defence", app.timing.defence_ms},
                 {"attack", app.timing.attack_ms},
                 {"train", app.timing.train_ms},
                 {"update", app.timing.update_ms},
                 {"patch", app.timing.patch_ms}};
  g_text = o.dump();
  return g_text.c_str();
}

// which: 0 = the input, 1 = adversarial, 2 = perturbation (adversarial - what the model sees), 3 =
// what the model sees (the input with the patch placed, if any). The input size.
ADVX_API int advx_view_image(int which, float* out) {
  return guarded([&](App& app) {
    const advx::Tensor* t = which == 3 ? &app.model_input() : &app.input;
    if (which == 1 || which == 2) {
      ADVX_REQUIRE(app.attack.valid, "no adversarial computed (no model?)");
      t = which == 1 ? &app.attack.adv : &app.attack.delta;
    }
    std::copy(t->data.begin(), t->data.end(), out);
    return 0;
  });
}

// Reads a PNG the page wrote into the in-memory file system (file picker, drag and drop).
ADVX_API int advx_import_file(const char* path, const char* name) {
  return guarded([&](App& app) {
    app.error.clear();
    if (!app.import_png(advx::read_file(path), name)) throw advx::Error(app.error);
    app.update(false);
    return 0;
  });
}

// ---- sequences ---------------------------------------------------------------------------------

// Classifies text with a sequence model (model "" = the sequence view's). advx_text() then holds
// {model, dataset, pred, label, probs, classes, tokens, ids, unknown, dropped}.
ADVX_API int advx_classify_text(const char* text, const char* model) {
  return guarded([&](App& app) {
    const std::string name = *model ? std::string(model) : app.seq_model_name();
    advx::EncodedText enc;
    const play::Prediction p = app.classify_text(name, text, &enc);
    const play::ModelEntry& e = app.seq_model_entry(name);
    json j = prediction_json(p, e.codec.classes());
    j["model"] = name;
    j["dataset"] = e.dataset;
    j["classes"] = e.codec.classes();
    j.update(encoded_json(enc));
    g_text = j.dump();
    return 0;
  });
}

// A sequence attack on text; opts in the URL's syntax ("attack=substitute&budget=0.1&seed=1&label=1";
// keys missing keep the sequence view's values). advx_text() then holds {attack, original: {tokens,
// ids, unknown, dropped}, tokens, ids, text, changed, pred, label, probs, attacked, success, edits,
// budget, [defendedPred, defendedProbs, scores, votes], craftedOn, queries, gradientCalls, ms}.
ADVX_API int advx_seq_attack(const char* text, const char* opts) {
  return guarded([&](App& app) {
    int label = -1;
    const play::ViewState s = seq_attack_options(app, opts, &label);
    const std::string name = s.seq_model.empty() ? app.seq_model_name() : s.seq_model;
    advx::EncodedText enc;
    app.classify_text(name, text, &enc);
    const play::SeqAttackView a = app.attack_text(name, enc, label, s);
    json j = seq_attack_json(a, app.seq_model_entry(name).codec.classes());
    j["model"] = name;
    j["original"] = encoded_json(enc);
    g_text = j.dump();
    return 0;
  });
}

// Starts loading a sequence dataset ("sms" or its full name); returns its status (0 not loaded, 1
// loading, 2 ready, 3 error with advx_last_error() set). Once ready, advx_text() holds its test split:
// {dataset, name, classes, texts, labels}.
ADVX_API int advx_seq_samples(const char* dataset) {
  return guarded([&](App& app) {
    const advx::SequenceTask* t = advx::find_sequence_task(dataset);
    if (!t) {
      std::string known;
      for (const advx::SequenceTask& k : advx::sequence_tasks()) known += (known.empty() ? "" : ", ") + k.alias;
      throw advx::Error("unknown sequence dataset '" + std::string(dataset) + "'; known: " + known);
    }
    app.models.request_dataset(t->dataset);
    app.models.finish_read(t->dataset);  // a call finishes the read at once (frames read in slices)
    const play::ModelStatus st = app.models.request_dataset(t->dataset);
    if (st == play::ModelStatus::kError) {
      const play::DatasetEntry* d = app.models.find_dataset(t->dataset);
      throw advx::Error(d ? "the " + t->dataset + " dataset failed to load: " + d->error
                          : "the " + t->dataset + " dataset is not shipped with this build");
    }
    if (st != play::ModelStatus::kReady) return static_cast<int>(st);
    const advx::SequenceDataset& d = app.models.sequences(t->dataset);
    json j;
    j["dataset"] = t->alias;
    j["name"] = d.name;
    j["classes"] = d.class_names;
    j["texts"] = d.test.texts;
    j["labels"] = d.test.labels;
    g_text = j.dump();
    return static_cast<int>(st);
  });
}

ADVX_API const char* advx_last_error() {
  return g_error.c_str();
}
