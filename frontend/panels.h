// One function per panel. Each draws from App and calls App's actions; `Ui` holds what only the
// view needs (textures, the canvas's screen rectangle, pointer state).
#pragma once
#include <array>
#include <map>
#include <string>

#include "frontend/app.h"
#include "frontend/texture.h"
#include "imgui.h"

namespace play {

struct Ui {
  // Textures, re-uploaded when their source changes.
  Texture canvas_tex, input_tex, adv_tex, delta_tex, defended_tex, photo_tex;
  Texture patch_tex, patched_tex;              // the patch workbench: the patch, the input with it placed
  float patch_colour[3] = {1.0f, 1.0f, 1.0f};  // its brush (grey: the first channel)
  float patch_brush = 0.6f;                    // brush radius in patch pixels
  int patch_steps = 200;                       // steps a "Train" adds
  bool patch_on_input = true;                  // dragging on the input image moves the patch
  bool patch_dragging = false;                 // a drag of the patch on the input canvas is on
  std::array<Texture, 8> neighbour_tex;        // a nearest-neighbour defence's nearest training images
  int canvas_version = -1;
  bool images_dirty = true;
  // The drawing canvas on screen (ImGui/window coordinates), from the last frame.
  ImVec2 canvas_min{0, 0}, canvas_max{0, 0};
  bool drawing = false;           // a stroke is in progress
  ImVec2 last{0, 0};              // last stroke point, canvas pixels
  float amplify = 1.0f;           // perturbation colour range = eps / amplify
  std::string import_path;        // native: PNG path field
  std::string seq_text;           // the sequence view's text box (ImGui edits it in place)
  bool seq_text_active = false;   // the text box has the keyboard (ImGui holds the text being edited)
  bool seq_text_replace = false;  // a text set elsewhere replaces the one being edited, next frame
  std::string seq_text_external;
  int frames = 0;              // main-loop iterations (events handled, state updated)
  int rendered = 0;            // frames drawn (an idle UI is not redrawn)
  double last_frame_ms = 0;    // CPU time of the last drawn frame (UI + engine work)
  double frame_period_ms = 0;  // from a drawn frame to the next (1000 / fps while the UI is busy)
  // Screen rectangles (x, y, w, h) of named widgets and panels drawn this frame, for tests and
  // embedders (window.advx.layout()).
  std::map<std::string, ImVec4> widgets, panels;
  void mark(const char* name);  // records ImGui's last item under `name`
};

// Colours (Okabe-Ito, readable on the dark theme).
inline const ImVec4 kErrorColour(1.0f, 0.50f, 0.35f, 1.0f);
inline const ImVec4 kAccentColour(0.34f, 0.71f, 0.91f, 1.0f);

inline void Ui::mark(const char* name) {
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  widgets[name] = ImVec4(a.x, a.y, b.x - a.x, b.y - a.y);
}

void panel_input(App& app, Ui& ui);
void draw_input(App& app, Ui& ui);  // the drawing canvas (MNIST)
void panel_prediction(App& app, Ui& ui);
void panel_model(App& app, Ui& ui);
void panel_attack(App& app, Ui& ui);
void panel_defence(App& app, Ui& ui);
void panel_robustness(App& app, Ui& ui);
void panel_train(App& app, Ui& ui);
void panel_patch(App& app, Ui& ui);
// The placed patch's outline over the input image drawn at p0 with `side` pixels (when the image is
// the model's input as given, not a drawing still to preprocess); true if it was drawn there.
bool patch_outline(const App& app, ImVec2 p0, float side);
// Moves the patch to the image point under screen point (x, y) of that image.
void patch_drag_to(App& app, ImVec2 p0, float side, float x, float y);
void panel_timing(App& app, Ui& ui);  // a small overlay, not part of the flow layout
void panel_help(App& app, Ui& ui);
// The sequence view (view=seq): text and prediction, attack, defence.
void panel_sequence(App& app, Ui& ui);
void panel_seq_attack(App& app, Ui& ui);
void panel_seq_defence(App& app, Ui& ui);

// Pointer events for the canvas (kind 0 down, 1 move, 2 up) in window coordinates; true if it painted.
bool canvas_pointer(App& app, Ui& ui, int kind, float x, float y);

// Shared drawing helpers (panel_prediction.cpp). model_status_line: "loading..." or the load error
// of the state's model; false (nothing drawn) when the model is ready.
bool model_status_line(const App& app);
void probability_bars(const Prediction& p, int highlight, float width, const std::vector<std::string>& names);
void image_with_border(const Texture& t, float size);
// Puts the next item (of width `w`) on the current line if it fits there, else on a new one.
void same_line_if_fits(float w);
// Tokens as wrapped chips in a scrolling child `id` of the given height: `marked` positions (sorted)
// highlighted (what an attack put in; `was` names the token a substitution replaced), `greyed` ones
// (sorted) dimmed (outside the vocabulary).
void token_chips(const char* id, const std::vector<std::string>& tokens, const std::vector<int>& marked,
                 const std::vector<int>& greyed, const std::vector<std::string>* was, float height);
// "none" and a radio button per registered defence (its title; its summary and citation as the
// tooltip), marked "<mark>none" and "<mark><name>"; true if the user picked another one.
template <class Spec>
bool defence_choice(const std::vector<Spec>& specs, std::string& current, const std::string& mark, Ui& ui) {
  bool changed = false;
  if (ImGui::RadioButton(("none##" + mark).c_str(), current == "none")) current = "none", changed = true;
  ui.mark((mark + "none").c_str());
  for (const Spec& d : specs) {
    same_line_if_fits(ImGui::CalcTextSize(d.title.c_str()).x + 2.0f * ImGui::GetFrameHeight());
    if (ImGui::RadioButton((d.title + "##" + mark).c_str(), current == d.name)) current = d.name, changed = true;
    ui.mark((mark + d.name).c_str());
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s\n%s", d.summary.c_str(), d.citation.c_str());
  }
  return changed;
}
// The "adaptive attacker" switch (marked `mark`); true if the user flipped it.
bool adaptive_checkbox(bool& adaptive, const char* mark, Ui& ui);
// A control for one parameter of an attack or defence, from its table entry (slider, checkbox or
// combo), marked under its key; true if the user changed the value in `params`.
bool param_control(const advx::ParamSpec& p, advx::ParamValues& params, Ui& ui, const char* shortcut_hint = nullptr);

}  // namespace play
