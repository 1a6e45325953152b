#include "frontend/web_api.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/json.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define ADVX_API extern "C" EMSCRIPTEN_KEEPALIVE
#else
#define ADVX_API extern "C"
#endif

using play::App;
using play::Prediction;

namespace {

App* g_app = nullptr;  // set once by main; not owned
std::string g_error;   // message of the last failed call
std::string g_text;    // buffer behind returned strings (valid until the next call)

advx::Tensor pixels_tensor(const float* px) {
  advx::Tensor x({1, 1, 28, 28});
  for (int i = 0; i < 784; ++i) x.data[static_cast<size_t>(i)] = px[i];
  for (float v : x.data)
    ADVX_REQUIRE(std::isfinite(v) && v >= 0.0f && v <= 1.0f, "pixels must be 784 finite values in [0, 1]");
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

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

std::string probs_json(const Prediction& p) {
  std::string s = "[";
  for (size_t i = 0; i < p.probs.size(); ++i) s += (i ? "," : "") + fmt(p.probs[i]);
  return s + "]";
}

}  // namespace

namespace play {
void api_attach(App* app) {
  g_app = app;
}
}  // namespace play

// Probabilities of the state's model for 784 pixels; writes num_classes floats to out.
ADVX_API int advx_classify(const float* px, float* out) {
  return guarded([&](App& app) {
    play::Prediction p = app.classify(pixels_tensor(px));
    for (size_t i = 0; i < p.probs.size(); ++i) out[i] = p.probs[i];
    return static_cast<int>(p.probs.size());
  });
}

// L-inf attack on 784 pixels with the state's model; steps <= 1 is FGSM, else BIM with `steps`.
ADVX_API int advx_attack(const float* px, int label, float eps, int target, int steps, float* out) {
  return guarded([&](App& app) {
    advx::Tensor adv =
        app.run_attack(pixels_tensor(px), label, eps, target, steps, steps > 1 ? "bim" : "fgsm", app.state.seed);
    for (int i = 0; i < 784; ++i) out[i] = adv.data[static_cast<size_t>(i)];
    return 0;
  });
}

ADVX_API int advx_set_input(const float* px) {
  return guarded([&](App& app) {
    app.set_exact_input(pixels_tensor(px));
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

ADVX_API const char* advx_state_json() {
  g_error.clear();
  g_text = g_app ? play::state_json(g_app->state) : "{}";
  return g_text.c_str();
}

ADVX_API const char* advx_hash() {
  g_text = g_app ? g_app->hash() : "";
  return g_text.c_str();
}

namespace {

std::string model_json(const play::App& app, const play::ModelEntry& e) {
  std::ostringstream o;
  o << "{\"name\":" << advx::json_quote(e.name) << ",\"arch\":" << advx::json_quote(e.arch)
    << ",\"params\":" << e.params << ",\"bytes\":" << e.file_bytes
    << ",\"test_acc\":" << (e.test_acc >= 0 ? fmt(e.test_acc) : "null") << ",\"url\":" << advx::json_quote(e.file)
    << ",\"status\":" << advx::json_quote(play::status_name(e.status)) << ",\"received\":" << e.received
    << ",\"error\":" << (e.error.empty() ? "null" : advx::json_quote(e.error))
    << ",\"default\":" << (e.name == app.models.default_model() ? "true" : "false")
    << ",\"selected\":" << (e.name == app.state.model ? "true" : "false") << "}";
  return o.str();
}

}  // namespace

// [{"name", "arch", "params", "bytes", "test_acc", "url", "status", "received", "error", "default",
// "selected"}] from the manifest: listing the models loads none of them.
ADVX_API const char* advx_models_json() {
  g_text = "[";
  if (g_app)
    for (const play::ModelEntry& e : g_app->models.entries())
      g_text += (g_text.size() > 1 ? "," : "") + model_json(*g_app, e);
  g_text += "]";
  return g_text.c_str();
}

// One model's entry (as in advx_models_json), or an error if the name is unknown.
ADVX_API const char* advx_model_json(const char* name) {
  g_text.clear();
  const int rc = guarded([&](App& app) {
    const play::ModelEntry* e = app.models.find(name);
    if (!e) throw advx::Error("unknown model '" + std::string(name) + "'");
    g_text = model_json(app, *e);
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

// What the page shows: predictions, attack result and norms.
ADVX_API const char* advx_view_json() {
  std::ostringstream o;
  if (g_app) {
    App& app = *g_app;
    const play::AttackView& a = app.attack;
    o << "{\"model\":" << advx::json_quote(app.state.model)
      << ",\"modelStatus\":" << advx::json_quote(play::status_name(app.model_status()))
      << ",\"pending\":" << (app.pending() ? "true" : "false") << ",\"pred\":" << app.clean.top
      << ",\"probs\":" << probs_json(app.clean) << ",\"label\":" << app.true_label
      << ",\"exact\":" << (app.exact_input ? "true" : "false") << ",\"attack\":" << (a.valid ? "{" : "null");
    if (a.valid)
      o << "\"pred\":" << a.pred.top << ",\"probs\":" << probs_json(a.pred) << ",\"label\":" << a.label
        << ",\"success\":" << (a.success ? "true" : "false") << ",\"linf\":" << fmt(a.linf) << ",\"l2\":" << fmt(a.l2)
        << ",\"l0\":" << a.l0 << ",\"ms\":" << fmt(a.ms) << "}";
    const play::RobustnessCurve& r = app.robust;
    o << ",\"robustness\":{\"done\":" << (r.done() && !r.key.empty() ? "true" : "false") << ",\"count\":" << r.count
      << ",\"eps\":[";
    for (size_t i = 0; i < r.eps.size(); ++i) o << (i ? "," : "") << fmt(r.eps[i]);
    o << "],\"acc\":[";
    for (size_t i = 0; i < r.acc.size(); ++i) o << (i ? "," : "") << (r.acc[i] < 0 ? "null" : fmt(r.acc[i]));
    o << "]}";
    o << ",\"error\":" << advx::json_quote(app.error) << ",\"timing\":{\"preprocess\":" << fmt(app.timing.preprocess_ms)
      << ",\"classify\":" << fmt(app.timing.classify_ms) << ",\"attack\":" << fmt(app.timing.attack_ms) << "}}";
  } else {
    o << "null";
  }
  g_text = o.str();
  return g_text.c_str();
}

// which: 0 = model input, 1 = adversarial, 2 = perturbation (adversarial - input). 784 floats.
ADVX_API int advx_view_image(int which, float* out) {
  return guarded([&](App& app) {
    const advx::Tensor* t = &app.input;
    if (which == 1 || which == 2) {
      ADVX_REQUIRE(app.attack.valid, "no adversarial computed (no model?)");
      t = which == 1 ? &app.attack.adv : &app.attack.delta;
    }
    for (int i = 0; i < 784; ++i) out[i] = t->data[static_cast<size_t>(i)];
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

ADVX_API const char* advx_last_error() {
  return g_error.c_str();
}
