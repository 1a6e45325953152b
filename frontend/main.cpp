// advx playground: SDL2 window + OpenGL (WebGL2 in the browser) + Dear ImGui.
//   advx-play [--assets DIR] [--state "model=cnn&eps=0.2&test=3"] [--frames N]
#include <SDL.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "engine/error.h"
#include "engine/io/file.h"
#include "frontend/app.h"
#include "frontend/layout.h"
#include "frontend/panels.h"
#include "frontend/platform.h"
#include "frontend/web_api.h"
#include "imgui.h"
#include "imgui_impl_opengl3.h"
#include "imgui_impl_sdl.h"

#ifdef __EMSCRIPTEN__
#include <GLES3/gl3.h>
#include <emscripten.h>
#define ADVX_API extern "C" EMSCRIPTEN_KEEPALIVE
#else
#include <SDL_opengl.h>
#define ADVX_API extern "C"
#endif

namespace {

struct Platform {
  SDL_Window* window = nullptr;
  SDL_GLContext gl = nullptr;
  bool done = false;
  int max_frames = -1;
  std::string last_hash;
  int announced_clean = -2, announced_adv = -2;
  std::string announced_error;
  bool ready = false;  // window.advx.ready resolved
  // Render pacing (should_render).
  int settle = 3;
  int robust_seen = -1;
  bool rendered_last = false;
  double last_start = 0.0, last_render = -1e9, render_period = 0.0;
};

// Everything the main loop needs lives here (Emscripten's main loop is a callback).
struct Main {
  Platform platform;
  std::unique_ptr<play::App> app;
  play::Ui ui;
  int last_view_version = -1;
};
std::unique_ptr<Main> g_main;

struct PanelDef {
  const char* name;  // as in hide=
  const char* title;
  float w_em, h_em;  // preferred size in font heights
  void (*draw)(play::App&, play::Ui&);
  const char* view;  // "image", "seq", or nullptr: both
};

const PanelDef kPanels[] = {
    {"input", "Input", 20.5f, 31.0f, play::panel_input, "image"},
    {"prediction", "Prediction", 19.0f, 31.0f, play::panel_prediction, "image"},
    {"attack", "Attack", 31.0f, 31.0f, play::panel_attack, "image"},
    {"defence", "Defence", 31.0f, 20.0f, play::panel_defence, "image"},
    {"robustness", "Robustness", 31.0f, 20.0f, play::panel_robustness, "image"},
    {"model", "Model", 17.0f, 20.0f, play::panel_model, "image"},
    {"train", "Train robustly", 31.0f, 22.0f, play::panel_train, "image"},
    {"patch", "Adversarial patch", 31.0f, 36.0f, play::panel_patch, "image"},
    {"sequence", "Text or trace", 31.0f, 27.0f, play::panel_sequence, "seq"},
    {"seqattack", "Attack", 31.0f, 27.0f, play::panel_seq_attack, "seq"},
    {"seqdefence", "Defence", 31.0f, 21.0f, play::panel_seq_defence, "seq"},
    {"help", "Help", 20.5f, 14.0f, play::panel_help, nullptr},
};

void shortcut(play::App& app, play::Ui& ui, SDL_Keycode key) {
  play::ViewState s = app.state;
  switch (key) {
    case SDLK_c:
      app.clear_input();
      return;
    case SDLK_r:
      app.random_test_image();
      return;
    case SDLK_e:
      app.erase = !app.erase;
      return;
    case SDLK_LEFTBRACKET:
      app.state.brush = std::max(1.0f, app.state.brush - 0.5f);
      return;
    case SDLK_RIGHTBRACKET:
      app.state.brush = std::min(10.0f, app.state.brush + 0.5f);
      return;
    case SDLK_MINUS:
    case SDLK_EQUALS: {  // the attack's budget, by 1/100 of its slider's range
      const advx::AttackSpec& a = app.attack_spec();
      if (const advx::ParamSpec* b = advx::find_param(a.params, a.budget)) {
        const double hi = std::isnan(b->ui_max) ? b->max : b->ui_max;
        const double step = b->type == advx::ParamType::Int ? 1.0 : (hi - b->min) / 50.0;
        const double v = s.params.number(b->key) + (key == SDLK_MINUS ? -step : step);
        s.params.set(b->key, std::clamp(v, b->min, hi));
      }
      break;
    }
    case SDLK_t:
      s.target = s.target >= static_cast<int>(app.clean.probs.size()) - 1 ? -1 : s.target + 1;
      break;
    case SDLK_a: {  // the next registered attack
      const auto& all = advx::attacks();
      size_t i = 0;
      while (i < all.size() && all[i].name != s.attack) ++i;
      s.attack = all[(i + 1) % all.size()].name;
      break;
    }
    case SDLK_p:
      app.notice = play::offer_download("advx-adversarial.png", app.adversarial_png());
      return;
    default: {  // an attack's own letter (engine/attacks: AttackSpec::key)
      bool found = false;
      for (const advx::AttackSpec& a : advx::attacks())
        if (a.key && key == SDLK_a + (a.key - 'A')) s.attack = a.name, found = true;
      if (!found) return;
      break;
    }
  }
  (void)ui;
  app.set_state(s);
}

// Handles the queued SDL events; true if there were any.
bool handle_events(Main& m) {
  play::App& app = *m.app;
  play::Ui& ui = m.ui;
  const ImGuiIO& io = ImGui::GetIO();
  bool painted = false;
  bool any = false;
  SDL_Event ev;
  while (SDL_PollEvent(&ev)) {
    any = true;
    ImGui_ImplSDL2_ProcessEvent(&ev);
    const bool popup = ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId);
    switch (ev.type) {
      case SDL_QUIT:
        m.platform.done = true;
        break;
      case SDL_MOUSEBUTTONDOWN:
        if (ev.button.button == SDL_BUTTON_LEFT && !popup)
          painted |= play::canvas_pointer(app, ui, 0, static_cast<float>(ev.button.x), static_cast<float>(ev.button.y));
        break;
      case SDL_MOUSEMOTION:
        painted |= play::canvas_pointer(app, ui, 1, static_cast<float>(ev.motion.x), static_cast<float>(ev.motion.y));
        break;
      case SDL_MOUSEBUTTONUP:
        if (ev.button.button == SDL_BUTTON_LEFT)
          painted |= play::canvas_pointer(app, ui, 2, static_cast<float>(ev.button.x), static_cast<float>(ev.button.y));
        break;
      case SDL_KEYDOWN:  // the image view's shortcuts (the sequence view types)
        if (!app.state.seq() && !io.WantTextInput && !(ev.key.keysym.mod & (KMOD_CTRL | KMOD_ALT | KMOD_GUI)))
          shortcut(app, ui, ev.key.keysym.sym);
        break;
      case SDL_DROPFILE:
        if (ev.drop.file) {
          try {
            app.import_png(advx::read_file(ev.drop.file), ev.drop.file);
          } catch (const advx::Error& e) {
            app.error = e.what();
          }
          SDL_free(ev.drop.file);
        }
        break;
      default:
        break;
    }
  }
  if (painted) app.canvas_changed();
  return any;
}

void draw_ui(Main& m) {
  play::App& app = *m.app;
  play::Ui& ui = m.ui;
  const ImGuiIO& io = ImGui::GetIO();
  const float em = ImGui::GetFontSize();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  ui.widgets.clear();
  ui.panels.clear();
  ImGui::Begin("advx", nullptr,
               ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoMove |
                   ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoBringToFrontOnFocus |
                   ImGuiWindowFlags_NoSavedSettings);
  ImGui::TextUnformatted("advx: adversarial examples playground");
  // The two views, as tabs: images (draw a digit) and sequences (type an SMS, edit a trace).
  for (const char* v : {"image", "seq"}) {
    const bool on = app.state.view == v;
    ImGui::SameLine();
    if (on) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
    if (ImGui::Button(std::string(v) == "seq" ? "Sequences" : "Images") && !on) {
      play::ViewState st = app.state;
      st.view = v;
      app.set_state(st);
    }
    if (on) ImGui::PopStyleColor();
    ui.mark(std::string(v) == "seq" ? "view_seq" : "view_image");
  }
  // Messages wrap short of the timing overlay (top right).
  const float wrap = io.DisplaySize.x - (app.hidden("timing") ? 0.5f : 12.5f) * em;
  if (!app.error.empty()) {
    ImGui::SameLine();
    if (ImGui::SmallButton("dismiss")) app.error.clear();
    ImGui::SameLine();
    ImGui::PushTextWrapPos(std::max(wrap, ImGui::GetCursorPosX() + 10.0f * em));
    ImGui::PushStyleColor(ImGuiCol_Text, play::kErrorColour);
    ImGui::TextWrapped("%s", app.error.c_str());
    ImGui::PopStyleColor();
    ImGui::PopTextWrapPos();
  } else if (!app.notice.empty()) {
    ImGui::SameLine();
    ImGui::TextDisabled("%s", app.notice.c_str());
  }
  std::vector<play::Box> sizes;
  std::vector<const PanelDef*> shown;
  for (const PanelDef& p : kPanels) {
    if (app.hidden(p.name) || (p.view && app.state.view != p.view)) continue;
    // The defence panel belongs with the attack panel: an embed that hides the attack (as links made
    // before defences existed do) shows it only when the view has a defence on.
    if (std::string(p.name) == "defence" && app.hidden("attack") && app.state.defence == "none") continue;
    // Training is a tool of the full playground: an embed that hides the attack hides it too.
    if (std::string(p.name) == "train" && app.hidden("attack")) continue;
    // The patch workbench likewise, unless the view has a patch on.
    if (std::string(p.name) == "patch" && app.hidden("attack") && app.state.patch.empty()) continue;
    shown.push_back(&p);
    sizes.push_back({0, 0, p.w_em * em, p.h_em * em});
  }
  ui.canvas_min = ui.canvas_max = ImVec2(0, 0);  // set again by the input panel if it is shown
  const ImVec2 origin = ImGui::GetCursorPos();
  const float gap = 0.5f * em;
  const std::vector<play::Box> boxes = play::flow_layout(sizes, ImGui::GetContentRegionAvail().x, gap);
  float bottom = origin.y;
  for (size_t i = 0; i < shown.size(); ++i) {
    const play::Box& b = boxes[i];
    ImGui::SetCursorPos(ImVec2(origin.x + b.x, origin.y + b.y));
    ImGui::BeginChild(shown[i]->name, ImVec2(b.w, b.h), true);
    const ImVec2 wp = ImGui::GetWindowPos();
    ui.panels[shown[i]->name] = ImVec4(wp.x, wp.y, b.w, b.h);
    ImGui::TextColored(play::kAccentColour, "%s", shown[i]->title);
    ImGui::Separator();
    shown[i]->draw(app, ui);
    ImGui::EndChild();
    bottom = std::max(bottom, origin.y + b.y + b.h);
  }
  ImGui::SetCursorPos(ImVec2(origin.x, bottom));
  ImGui::Dummy(ImVec2(1, gap));
  ImGui::End();

  if (!app.hidden("timing")) {
    ImGui::SetNextWindowPos(ImVec2(io.DisplaySize.x - gap, gap), ImGuiCond_Always, ImVec2(1, 0));
    ImGui::SetNextWindowBgAlpha(0.75f);
    ImGui::Begin("timing", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                     ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoNav | ImGuiWindowFlags_NoMove);
    play::panel_timing(app, ui);
    const ImVec2 wp = ImGui::GetWindowPos(), ws = ImGui::GetWindowSize();
    ui.panels["timing"] = ImVec4(wp.x, wp.y, ws.x, ws.y);
    ImGui::End();
  }
}

void after_frame(Main& m) {
  play::App& app = *m.app;
  if (app.error != m.platform.announced_error) {
    m.platform.announced_error = app.error;
    if (!app.error.empty()) play::announce("Error: " + app.error);
  }
  if (m.ui.drawing) return;  // announce and update the URL when a stroke ends, not per pixel
  if (app.state.seq()) {
    const play::ModelEntry* e = app.models.find(app.seq_model_name());
    const int top = app.seq.clean.top, adv = app.seq.attack.valid ? app.seq.attack.pred.top : -1;
    if (e && top >= 0 && top < static_cast<int>(e->codec.classes().size()) &&
        (top != m.platform.announced_clean || adv != m.platform.announced_adv)) {
      m.platform.announced_clean = top;
      m.platform.announced_adv = adv;
      const std::vector<std::string>& c = e->codec.classes();
      std::string text = "Prediction " + c[static_cast<size_t>(top)] + ".";
      if (adv >= 0 && adv < static_cast<int>(c.size()))
        text += " Adversarial prediction " + c[static_cast<size_t>(adv)] + ".";
      play::announce(text);
    }
  }
  const int adv = app.attack.valid ? app.attack.pred.top : -1;
  if (!app.state.seq() && app.clean.top >= 0 &&
      (app.clean.top != m.platform.announced_clean || adv != m.platform.announced_adv)) {
    m.platform.announced_clean = app.clean.top;
    m.platform.announced_adv = adv;
    char buf[160];
    const double conf = static_cast<double>(app.clean.probs[static_cast<size_t>(app.clean.top)]) * 100.0;
    if (adv >= 0 && !app.hidden("attack"))
      std::snprintf(buf, sizeof buf, "Prediction %d, %.0f percent. Adversarial prediction %d.", app.clean.top, conf,
                    adv);
    else
      std::snprintf(buf, sizeof buf, "Prediction %d, %.0f percent.", app.clean.top, conf);
    play::announce(buf);
  }
  // A patch in training changes every frame: the URL takes it when the run stops (browsers throttle
  // history.replaceState calls made every frame).
  if (app.patch.running()) return;
  const std::string h = app.hash();
  if (h != m.platform.last_hash) {
    m.platform.last_hash = h;
    play::set_url_hash(h);
  }
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// Whether this iteration of the main loop draws. The UI is redrawn when something changed (an
// event, a new result, the robustness curve, a model download) and for a few frames after, so
// ImGui's hover and click states settle; an idle page draws nothing (and costs nothing). On slow
// software GL (frames that take > 40 ms to present), a stroke in progress is redrawn at most every
// 100 ms, so pointer events keep flowing between the expensive frames.
bool should_render(Main& m, bool events, double now) {
  Platform& pf = m.platform;
  const play::App& app = *m.app;
  const int robust_progress = app.robust.next_point;  // a new point on a curve
  // Downloads and training show progress: redrawn every 200 ms while they go on.
  const bool loading = app.view_model_status() == play::ModelStatus::kLoading ||
                       (app.state.seq() && app.seq_data_status() == play::ModelStatus::kLoading) ||
                       !app.defence.waiting.empty() || !app.training.waiting.empty() || app.training.running() ||
                       app.patch.running() || !app.patch.waiting.empty() || app.patch.eval != nullptr;
  if (events || app.view_version != m.last_view_version || robust_progress != pf.robust_seen) pf.settle = 3;
  pf.robust_seen = robust_progress;
  bool render = pf.settle > 0 || m.ui.rendered < 3 || now - pf.last_render > 1000.0 ||
                (loading && now - pf.last_render > 200.0) || pf.max_frames > 0;  // --frames N: draw each
  if (render && m.ui.drawing && pf.render_period > 40.0 && now - pf.last_render < 100.0) render = false;
  return render;
}

void frame() {
  Main& m = *g_main;
  Platform& pf = m.platform;
  const double start = now_ms();
  if (pf.rendered_last && pf.last_start > 0.0)  // how long a drawn frame takes to come back
    pf.render_period =
        pf.render_period <= 0.0 ? start - pf.last_start : 0.8 * pf.render_period + 0.2 * (start - pf.last_start);
  pf.last_start = start;
  m.ui.frame_period_ms = pf.render_period;
  const bool events = handle_events(m);
  m.app->update(!m.app->hidden("robustness"), m.ui.drawing);
  ++m.ui.frames;
  const bool render = should_render(m, events, start);
  pf.rendered_last = render;
  if (render) {
    --pf.settle;
    m.ui.images_dirty = m.app->view_version != m.last_view_version;
    m.last_view_version = m.app->view_version;
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplSDL2_NewFrame();
    ImGui::NewFrame();
    draw_ui(m);
    ImGui::Render();
    const ImGuiIO& io = ImGui::GetIO();
    glViewport(0, 0, static_cast<int>(io.DisplaySize.x * io.DisplayFramebufferScale.x),
               static_cast<int>(io.DisplaySize.y * io.DisplayFramebufferScale.y));
    glClearColor(0.08f, 0.08f, 0.10f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    SDL_GL_SwapWindow(pf.window);
    pf.last_render = start;
    m.ui.last_frame_ms = now_ms() - start;
    if (++m.ui.rendered == 1) play::signal_first_frame();
  }
  after_frame(m);
  // advx.ready: after the first frame, once the startup model has loaded (or failed to).
  if (!pf.ready && m.ui.rendered > 0) {
    const play::ModelStatus st = m.app->view_model_status();
    if (m.app->models.entries().empty() || st == play::ModelStatus::kReady || st == play::ModelStatus::kError) {
      pf.ready = true;
      play::signal_ready();
    }
  }
  if (pf.max_frames > 0 && m.ui.rendered >= pf.max_frames) pf.done = true;
#ifdef __EMSCRIPTEN__
  if (pf.done) emscripten_cancel_main_loop();
#else
  if (!render) SDL_WaitEventTimeout(nullptr, 15);  // idle: sleep until an event (or the next slice)
#endif
}

void setup_fonts(SDL_Window* window, const std::string& asset_dir) {
  ImGuiIO& io = ImGui::GetIO();
  int ww = 0, wh = 0, dw = 0, dh = 0;
  SDL_GetWindowSize(window, &ww, &wh);
  SDL_GL_GetDrawableSize(window, &dw, &dh);
  const float scale = ww > 0 ? std::max(1.0f, static_cast<float>(dw) / static_cast<float>(ww)) : 1.0f;
  const std::string font = asset_dir + "/fonts/ui.ttf";
  // Latin-1 plus the few symbols the UI uses (dashes, ellipsis, arrows, minus, infinity, <= >=).
  static const ImWchar ranges[] = {0x0020, 0x00FF, 0x2013, 0x2014, 0x2026, 0x2026, 0x2190, 0x2193,
                                   0x2212, 0x2212, 0x221E, 0x221E, 0x2264, 0x2265, 0};
  // Rasterise at the device's pixel density and scale back, so text stays sharp on HiDPI screens.
  if (advx::file_exists(font) && io.Fonts->AddFontFromFileTTF(font.c_str(), 15.0f * scale, nullptr, ranges)) {
    io.FontGlobalScale = 1.0f / scale;
  } else {
    ImFontConfig cfg;
    cfg.SizePixels = 13.0f * scale;
    io.Fonts->AddFontDefault(&cfg);
    io.FontGlobalScale = 1.0f / scale;
  }
}

}  // namespace

// The canvas's rectangle in CSS pixels relative to the <canvas> element (for tests and embedding).
ADVX_API const char* advx_layout_json() {
  static std::string s;
  if (!g_main) return "null";
  const play::Ui& ui = g_main->ui;
  const ImGuiIO& io = ImGui::GetIO();
  auto rect = [](const ImVec4& r) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "{\"x\":%.1f,\"y\":%.1f,\"w\":%.1f,\"h\":%.1f}", static_cast<double>(r.x),
                  static_cast<double>(r.y), static_cast<double>(r.z), static_cast<double>(r.w));
    return std::string(buf);
  };
  auto rects = [&](const std::map<std::string, ImVec4>& m) {
    std::string o = "{";
    for (const auto& [name, r] : m) o += (o.size() > 1 ? ",\"" : "\"") + name + "\":" + rect(r);
    return o + "}";
  };
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"canvas\":{\"x\":%.1f,\"y\":%.1f,\"w\":%.1f,\"h\":%.1f,\"size\":%d},\"frames\":%d,\"rendered\":%d,"
                "\"display\":{\"w\":%.0f,\"h\":%.0f,\"scale\":%.2f},",
                static_cast<double>(ui.canvas_min.x), static_cast<double>(ui.canvas_min.y),
                static_cast<double>(ui.canvas_max.x - ui.canvas_min.x),
                static_cast<double>(ui.canvas_max.y - ui.canvas_min.y), play::Canvas::kSize, ui.frames, ui.rendered,
                static_cast<double>(io.DisplaySize.x), static_cast<double>(io.DisplaySize.y),
                static_cast<double>(io.DisplayFramebufferScale.x));
  s = buf;
  s += "\"panels\":" + rects(ui.panels) + ",\"widgets\":" + rects(ui.widgets) + "}";
  return s.c_str();
}

ADVX_API void advx_hashchange(const char* hash) {
  if (!g_main) return;
  std::string h = hash;
  if (!h.empty() && h[0] == '#') h.erase(0, 1);
  if (h == g_main->platform.last_hash) return;
  g_main->app->error.clear();
  g_main->app->apply_query(h);
}

int main(int argc, char** argv) {
#ifdef __EMSCRIPTEN__
  std::string asset_dir = "/assets";
#else
  std::string asset_dir = ADVX_ASSET_DIR;
#endif
  std::string initial_state;
  int max_frames = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--assets" && i + 1 < argc)
      asset_dir = argv[++i];
    else if (a == "--state" && i + 1 < argc)
      initial_state = argv[++i];
    else if (a == "--frames" && i + 1 < argc)
      max_frames = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: advx-play [--assets DIR] [--state \"model=cnn&eps=0.2&test=3\"] [--frames N]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }

  if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_TIMER) != 0) {
    std::fprintf(stderr, "advx-play: SDL_Init failed: %s\n", SDL_GetError());
    return 1;
  }
#ifdef __EMSCRIPTEN__
  const char* glsl = "#version 300 es";
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_ES);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
#else
  const char* glsl = "#version 130";
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
  SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
#endif
  SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
  const auto flags = static_cast<SDL_WindowFlags>(SDL_WINDOW_OPENGL | SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
  g_main = std::make_unique<Main>();
  Platform& pf = g_main->platform;
  pf.max_frames = max_frames;
  pf.window = SDL_CreateWindow("advx playground", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, 1280, 860, flags);
  if (!pf.window) {
    std::fprintf(stderr, "advx-play: cannot create a window: %s\n", SDL_GetError());
    return 1;
  }
  pf.gl = SDL_GL_CreateContext(pf.window);
  if (!pf.gl) {
    std::fprintf(stderr, "advx-play: cannot create an OpenGL context: %s\n", SDL_GetError());
    return 1;
  }
  SDL_GL_MakeCurrent(pf.window, pf.gl);
  SDL_GL_SetSwapInterval(1);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;
  io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
  ImGui::StyleColorsDark();
  ImGui::GetStyle().FrameRounding = 3.0f;
  setup_fonts(pf.window, asset_dir);
  ImGui_ImplSDL2_InitForOpenGL(pf.window, pf.gl);
  ImGui_ImplOpenGL3_Init(glsl);

  g_main->app = std::make_unique<play::App>(asset_dir);
  play::App& app = *g_main->app;
#ifdef __EMSCRIPTEN__
  // The page downloads a model's file when it is first needed (web/advx_api.js).
  app.models.set_fetcher([](const std::string& name, const std::string& url) { play::fetch_model(name, url); });
#endif
  play::api_attach(&app);
#ifndef __EMSCRIPTEN__
  {  // where the window and the pixels go (play::trace: the native UI test)
    const auto* renderer = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
    const char* display = std::getenv("DISPLAY");
    play::trace(std::string("video driver ") + SDL_GetCurrentVideoDriver() + ", display " +
                (display ? display : "(unset)") + ", GL renderer " + (renderer ? renderer : "(none)"));
  }
#endif
  play::signal_started();
  std::string start = play::url_hash();
  if (start.empty()) start = initial_state;
  if (start.empty() && app.samples().size() > 0) start = "test=0";
  if (!start.empty()) app.apply_query(start);

#ifdef __EMSCRIPTEN__
  emscripten_set_main_loop(frame, 0, 1);
#else
  while (!pf.done) frame();
  play::api_attach(nullptr);
  SDL_Window* window = pf.window;
  SDL_GLContext gl = pf.gl;
  g_main.reset();  // textures go while the GL context still exists
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplSDL2_Shutdown();
  ImGui::DestroyContext();
  SDL_GL_DeleteContext(gl);
  SDL_DestroyWindow(window);
  SDL_Quit();
#endif
  return 0;
}
