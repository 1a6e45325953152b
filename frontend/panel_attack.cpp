// Attack panel: FGSM / BIM / PGD with eps, steps, target; original, perturbation and adversarial
// side by side, with both predictions and the perturbation's norms. Reruns as the sliders move.
#include <algorithm>
#include <cstdio>
#include <string>

#include "frontend/colormap.h"
#include "frontend/panels.h"
#include "frontend/platform.h"

namespace play {

namespace {

void labelled_image(const char* title, const Texture& t, float side, const char* caption, bool highlight = false) {
  ImGui::BeginGroup();
  ImGui::TextUnformatted(title);
  image_with_border(t, side);
  if (highlight)
    ImGui::TextColored(kErrorColour, "%s", caption);
  else
    ImGui::TextUnformatted(caption);
  ImGui::EndGroup();
}

void colour_scale(float range, float width) {
  const float em = ImGui::GetFontSize();
  const ImVec2 o = ImGui::GetCursorScreenPos();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const int n = 32;
  for (int i = 0; i < n; ++i) {
    const auto c = diverging(-1.0f + 2.0f * (static_cast<float>(i) + 0.5f) / n);
    const float x0 = o.x + width * static_cast<float>(i) / n, x1 = o.x + width * static_cast<float>(i + 1) / n;
    dl->AddRectFilled(ImVec2(x0, o.y), ImVec2(x1, o.y + 0.6f * em), IM_COL32(c[0], c[1], c[2], 255));
  }
  ImGui::Dummy(ImVec2(width, 0.7f * em));
  ImGui::Text("-%.3f  darker | brighter  +%.3f", static_cast<double>(range), static_cast<double>(range));
}

bool radio(const char* label, std::string& v, const char* value) {
  if (!ImGui::RadioButton(label, v == value)) return false;
  v = value;
  return true;
}

}  // namespace

void panel_attack(App& app, Ui& ui) {
  const float em = ImGui::GetFontSize();
  ViewState s = app.state;
  bool changed = false;
  changed |= radio("FGSM (F)", s.attack, "fgsm");
  ui.mark("fgsm");
  ImGui::SameLine();
  changed |= radio("BIM (B)", s.attack, "bim");
  ui.mark("bim");
  ImGui::SameLine();
  changed |= radio("PGD, random start (G)", s.attack, "pgd");
  ui.mark("pgd");
  ImGui::SetNextItemWidth(14.0f * em);
  changed |= ImGui::SliderFloat("eps  (- =)", &s.eps, 0.0f, 0.5f, "%.3f", ImGuiSliderFlags_AlwaysClamp);
  ui.mark("eps");
  if (s.attack != "fgsm") {
    ImGui::SetNextItemWidth(14.0f * em);
    changed |= ImGui::SliderInt("steps", &s.steps, 1, 100, "%d", ImGuiSliderFlags_AlwaysClamp);
    ui.mark("steps");
  }
  if (s.attack == "pgd") {
    int seed = static_cast<int>(s.seed);
    ImGui::SetNextItemWidth(8.0f * em);
    if (ImGui::InputInt("seed", &seed) && seed >= 0) s.seed = static_cast<std::uint64_t>(seed), changed = true;
    ui.mark("seed");
  }
  bool targeted = s.target >= 0;
  if (ImGui::Checkbox("targeted  (T cycles)", &targeted)) {
    s.target = targeted ? 0 : -1;
    changed = true;
  }
  ui.mark("targeted");
  if (targeted) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(6.0f * em);
    changed |= ImGui::SliderInt("target class", &s.target, 0, 9, "%d", ImGuiSliderFlags_AlwaysClamp);
    ui.mark("target");
  }
  if (changed) app.set_state(s);

  const AttackView& a = app.attack;
  if (!a.valid) {
    if (!model_status_line(app)) ImGui::TextDisabled("(no result)");
    return;
  }
  if (ui.images_dirty) {
    ui.adv_tex.upload(grey_rgba(a.adv.ptr(), a.adv.data.size()), 28, 28);
    ui.delta_tex.upload(diverging_rgba(a.delta.ptr(), a.delta.data.size(), std::max(app.state.eps, 1e-3f) / ui.amplify),
                        28, 28);
  }
  const float side = std::min(9.0f * em, (ImGui::GetContentRegionAvail().x - 2 * em) / 3.0f);
  char cap[64];
  std::snprintf(cap, sizeof cap, "pred %d (%.0f%%)", app.clean.top,
                static_cast<double>(app.clean.probs[static_cast<size_t>(app.clean.top)]) * 100.0);
  labelled_image("original", ui.input_tex, side, cap);
  ImGui::SameLine();
  std::snprintf(cap, sizeof cap, "x%.0f amplified",
                static_cast<double>(0.5f / std::max(app.state.eps, 1e-3f) * ui.amplify));
  labelled_image("perturbation", ui.delta_tex, side, app.state.eps > 0 ? cap : "none");
  ImGui::SameLine();
  std::snprintf(cap, sizeof cap, "pred %d (%.0f%%)", a.pred.top,
                static_cast<double>(a.pred.probs[static_cast<size_t>(a.pred.top)]) * 100.0);
  labelled_image("adversarial", ui.adv_tex, side, cap, a.success);
  colour_scale(std::max(app.state.eps, 1e-3f) / ui.amplify, 3 * side);
  ImGui::SetNextItemWidth(8.0f * em);
  if (ImGui::SliderFloat("colour gain", &ui.amplify, 1.0f, 8.0f, "x%.1f", ImGuiSliderFlags_AlwaysClamp))
    ui.images_dirty = true;
  ImGui::Text("L-inf %.3f   L2 %.3f   L0 %d px", static_cast<double>(a.linf), static_cast<double>(a.l2), a.l0);
  if (app.state.target >= 0)
    ImGui::Text("target %d: %s", app.state.target, a.success ? "reached" : "not reached");
  else
    ImGui::Text("attacked class %d%s: %s", a.label, app.true_label >= 0 ? " (true label)" : " (prediction)",
                a.success ? "fooled" : "still correct");
  ImGui::Text("engine: %.1f ms", a.ms);
  if (ImGui::Button("Export adversarial PNG (P)"))
    app.notice = offer_download("advx-adversarial.png", app.adversarial_png());
  ui.mark("export");
}

}  // namespace play
