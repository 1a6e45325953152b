// Attack panel: every registered attack (engine/attacks) with the controls of its parameter table,
// target and seed; original, perturbation and adversarial side by side, with both predictions and
// the perturbation's norms. Reruns as the sliders move.
#include <algorithm>
#include <cfloat>
#include <cmath>
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

std::string label_of(const std::string& key) {
  std::string s = key;
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

// A long run in progress (the one-pixel DE, the patch's training): how far it is, pause / step,
// the best objective value per iteration, and the candidates it weighs drawn over the input (the
// DE population, each candidate's pixels; the best one in red).
void live_run(App& app, Ui& ui) {
  const AttackView& a = app.attack;
  const advx::AttackSnapshot& sn = a.snapshot;
  const float em = ImGui::GetFontSize();
  ImGui::Text("running: iteration %d of %d, %lld queries (%.0f%%)%s", sn.iteration, sn.iterations,
              static_cast<long long>(sn.queries), a.progress * 100.0, a.paused ? ", paused" : "");
  if (ImGui::Button(a.paused ? "Resume" : "Pause")) app.pause_attack(!a.paused);
  ui.mark("pause");
  if (a.paused) {
    ImGui::SameLine();
    if (ImGui::Button("Step")) app.step_attack();
    ui.mark("step");
  }
  const float side = std::min(10.0f * em, (ImGui::GetContentRegionAvail().x - em) / 2.0f);
  const int h = app.input.dim(2), w = app.input.dim(3);
  ImGui::BeginGroup();
  ImGui::TextUnformatted(sn.candidates.size() > 1 ? "population on the input" : "input");
  const ImVec2 o = ImGui::GetCursorScreenPos();
  image_with_border(ui.input_tex, side);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float sx = side / static_cast<float>(w), sy = side / static_cast<float>(h);
  auto mark = [&](const std::vector<int>& cand, ImU32 colour, float thickness) {
    for (int pos : cand) {
      const float x = o.x + static_cast<float>(pos % w) * sx, y = o.y + static_cast<float>(pos / w) * sy;
      dl->AddRect(ImVec2(x, y), ImVec2(x + sx, y + sy), colour, 0.0f, 0, thickness);
    }
  };
  for (size_t j = 0; j < sn.candidates.size(); ++j)
    if (static_cast<int>(j) != sn.best) mark(sn.candidates[j], IM_COL32(255, 210, 0, 90), 1.0f);
  if (sn.best >= 0 && sn.best < static_cast<int>(sn.candidates.size()))
    mark(sn.candidates[static_cast<size_t>(sn.best)], IM_COL32(255, 40, 40, 255), 2.0f);
  ImGui::EndGroup();
  if (!sn.best_history.empty()) {
    ImGui::SameLine();
    std::vector<float> v(sn.best_history.begin(), sn.best_history.end());
    ImGui::BeginGroup();
    ImGui::TextUnformatted("best objective per iteration");
    ImGui::PlotLines("##best", v.data(), static_cast<int>(v.size()), 0, nullptr, FLT_MAX, FLT_MAX, ImVec2(side, side));
    ImGui::Text("now %.4f", static_cast<double>(v.back()));
    ImGui::EndGroup();
  }
}

}  // namespace

void same_line_if_fits(float w) {
  const float right = ImGui::GetItemRectMax().x + ImGui::GetStyle().ItemSpacing.x;
  if (right + w <= ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x) ImGui::SameLine();
}

bool param_control(const advx::ParamSpec& p, advx::ParamValues& params, Ui& ui, const char* shortcut_hint) {
  const float em = ImGui::GetFontSize();
  std::string label = label_of(p.key);
  if (shortcut_hint) label += std::string("  ") + shortcut_hint;
  label += "##" + p.key;
  const double hi = std::isnan(p.ui_max) ? p.max : p.ui_max;
  bool changed = false;
  ImGui::SetNextItemWidth(14.0f * em);
  switch (p.type) {
    case advx::ParamType::Float: {
      float v = static_cast<float>(params.number(p.key));
      if (ImGui::SliderFloat(label.c_str(), &v, static_cast<float>(p.min), static_cast<float>(hi), "%.3f",
                             ImGuiSliderFlags_AlwaysClamp))
        params.set(p.key, std::clamp(static_cast<double>(v), p.min, p.max)), changed = true;
      break;
    }
    case advx::ParamType::Int: {
      int v = params.integer(p.key);
      if (ImGui::SliderInt(label.c_str(), &v, static_cast<int>(p.min), static_cast<int>(std::min(hi, 100.0 + p.min)),
                           "%d", ImGuiSliderFlags_AlwaysClamp))
        params.set(p.key, std::clamp(static_cast<double>(v), p.min, p.max)), changed = true;
      break;
    }
    case advx::ParamType::Bool: {
      bool v = params.flag(p.key);
      if (ImGui::Checkbox(label.c_str(), &v)) params.set(p.key, v ? 1.0 : 0.0), changed = true;
      break;
    }
    case advx::ParamType::Choice: {
      int v = params.integer(p.key);
      if (ImGui::BeginCombo(label.c_str(), p.choices[static_cast<size_t>(v)].c_str())) {
        for (size_t i = 0; i < p.choices.size(); ++i)
          if (ImGui::Selectable(p.choices[i].c_str(), static_cast<int>(i) == v))
            params.set(p.key, static_cast<double>(i)), changed = true;
        ImGui::EndCombo();
      }
      break;
    }
  }
  ui.mark(p.key.c_str());
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s (%s)", p.help.c_str(), advx::describe_range(p).c_str());
  return changed;
}

void panel_attack(App& app, Ui& ui) {
  const float em = ImGui::GetFontSize();
  ViewState s = app.state;
  bool changed = false;
  bool first = true;
  for (const advx::AttackSpec& a : advx::attacks()) {
    const std::string label = a.title + (a.key ? std::string(" (") + a.key + ")" : std::string());
    if (!first)
      same_line_if_fits(ImGui::CalcTextSize(label.c_str()).x + ImGui::GetFrameHeight() +
                        ImGui::GetStyle().ItemInnerSpacing.x);
    first = false;
    if (ImGui::RadioButton(label.c_str(), s.attack == a.name)) s.attack = a.name, changed = true;
    ui.mark(a.name.c_str());
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s\n%s", a.summary.c_str(), a.citation.c_str());
  }
  const advx::AttackSpec& spec = advx::get_attack(s.attack);
  bool advanced = false;
  for (const advx::ParamSpec& p : spec.params) {
    if (p.advanced) {
      advanced = true;
      continue;
    }
    changed |= param_control(p, s.params, ui, p.key == spec.budget ? "(- =)" : nullptr);
  }
  if (advanced && ImGui::TreeNode("more settings")) {
    for (const advx::ParamSpec& p : spec.params)
      if (p.advanced) changed |= param_control(p, s.params, ui);
    ImGui::TreePop();
  }
  int seed = static_cast<int>(s.seed);
  ImGui::SetNextItemWidth(8.0f * em);
  if (ImGui::InputInt("seed", &seed) && seed >= 0) s.seed = static_cast<std::uint64_t>(seed), changed = true;
  ui.mark("seed");
  bool targeted = s.target >= 0;
  ImGui::SameLine();
  if (ImGui::Checkbox("targeted  (T cycles)", &targeted)) {
    s.target = targeted ? 0 : -1;
    changed = true;
  }
  ui.mark("targeted");
  if (targeted) {
    const std::vector<std::string> names = app.class_names();
    const int classes = static_cast<int>(names.size());
    s.target = std::clamp(s.target, 0, classes - 1);
    ImGui::SetNextItemWidth(6.0f * em);
    changed |= ImGui::SliderInt("target class", &s.target, 0, classes - 1, names[static_cast<size_t>(s.target)].c_str(),
                                ImGuiSliderFlags_AlwaysClamp);
    ui.mark("target");
  }
  if (changed) app.set_state(s);

  const AttackView& a = app.attack;
  if (a.running) {
    live_run(app, ui);
    if (a.valid) ImGui::Separator();
  }
  if (!a.valid) {
    if (!model_status_line(app) && !a.running) ImGui::TextDisabled("(no result)");
    return;
  }
  const advx::ParamSpec* budget = advx::find_param(spec.params, spec.budget);
  const float range = budget && budget->type == advx::ParamType::Float
                          ? std::max(static_cast<float>(app.state.params.number(spec.budget)), 1e-3f)
                          : 1.0f;
  if (ui.images_dirty) {
    const int c = a.adv.dim(1), h = a.adv.dim(2), w = a.adv.dim(3);
    ui.adv_tex.upload(image_rgba(a.adv.ptr(), c, h, w), w, h);
    ui.delta_tex.upload(delta_rgba(a.delta.ptr(), c, h, w, range / ui.amplify), w, h);
  }
  const float side = std::min(9.0f * em, (ImGui::GetContentRegionAvail().x - 2 * em) / 3.0f);
  char cap[96];
  const std::vector<std::string> names = app.class_names();
  auto name_of = [&](int k) {
    return k >= 0 && k < static_cast<int>(names.size()) ? names[static_cast<size_t>(k)] : std::string("?");
  };
  std::snprintf(cap, sizeof cap, "%s (%.0f%%)", name_of(app.clean.top).c_str(),
                static_cast<double>(app.clean.probs[static_cast<size_t>(app.clean.top)]) * 100.0);
  labelled_image("original", ui.input_tex, side, cap);
  ImGui::SameLine();
  std::snprintf(cap, sizeof cap, "x%.0f amplified", static_cast<double>(0.5f / range * ui.amplify));
  labelled_image("perturbation", ui.delta_tex, side, a.norms.l0 > 0 ? cap : "none");
  ImGui::SameLine();
  const Prediction& shown = a.defended.top >= 0 ? a.defended : a.pred;
  std::snprintf(cap, sizeof cap, "%s%s (%.0f%%)", a.defended.top >= 0 ? "defended: " : "", name_of(shown.top).c_str(),
                static_cast<double>(shown.probs[static_cast<size_t>(shown.top)]) * 100.0);
  labelled_image("adversarial", ui.adv_tex, side, cap, a.success);
  if (a.adv.dim(1) == 1)
    colour_scale(range / ui.amplify, 3 * side);
  else
    ImGui::TextDisabled("perturbation per channel around grey: +%.3f full colour, -%.3f its opposite",
                        static_cast<double>(range / ui.amplify), static_cast<double>(range / ui.amplify));
  ImGui::SetNextItemWidth(8.0f * em);
  if (ImGui::SliderFloat("colour gain", &ui.amplify, 1.0f, 8.0f, "x%.1f", ImGuiSliderFlags_AlwaysClamp))
    ui.images_dirty = true;
  ImGui::Text("L-inf %.3f   L2 %.3f   L0 %lld px", a.norms.linf, a.norms.l2, static_cast<long long>(a.norms.l0));
  if (app.state.target >= 0)
    ImGui::Text("target %s: %s", name_of(app.state.target).c_str(), a.success ? "reached" : "not reached");
  else
    ImGui::Text("attacked class %s%s: %s", name_of(a.label).c_str(),
                app.true_label >= 0 ? " (true label)" : " (prediction)", a.success ? "fooled" : "still correct");
  ImGui::Text("engine: %.1f ms, %lld queries, %lld gradients", a.ms, static_cast<long long>(a.queries),
              static_cast<long long>(a.gradient_calls));
  if (ImGui::Button("Export adversarial PNG (P)"))
    app.notice = offer_download("advx-adversarial.png", app.adversarial_png());
  ui.mark("export");
}

}  // namespace play
