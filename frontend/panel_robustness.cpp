// Robustness panel: accuracy against the attack's budget on a batch of test images, for the attack
// chosen in the attack panel: one curve for the bare model and, with a defence on, one each for the
// oblivious and the adaptive attacker (filled in progressively, a slice per frame).
#include <algorithm>
#include <cstdio>

#include "frontend/panels.h"

namespace play {

namespace {

// Okabe-Ito colours per curve, and how the legend names it.
ImU32 curve_colour(const std::string& name) {
  if (name == "oblivious") return IM_COL32(230, 159, 0, 255);
  if (name == "adaptive") return IM_COL32(213, 94, 0, 255);
  return IM_COL32(0, 114, 178, 255);
}

const char* curve_label(const std::string& name) {
  if (name == "oblivious") return "defended, oblivious attacker";
  if (name == "adaptive") return "defended, adaptive attacker";
  return "bare model";
}

}  // namespace

void panel_robustness(App& app, Ui& ui) {
  const RobustnessCurve& r = app.robust;
  const float em = ImGui::GetFontSize();
  if (app.samples().size() == 0) {
    const DatasetEntry* d = app.models.find_dataset(app.dataset());
    if (!d)
      ImGui::TextWrapped("No %s test images are shipped with this build.", app.dataset().c_str());
    else if (d->status == ModelStatus::kError)
      ImGui::TextWrapped("The %s test images could not be loaded: %s", app.dataset().c_str(), d->error.c_str());
    else
      ImGui::TextColored(kAccentColour, "Loading the %s test images\u2026", app.dataset().c_str());
    return;
  }
  if (model_status_line(app)) return;
  const advx::AttackSpec& spec = app.attack_spec();
  ImGui::Text("Accuracy vs %s, %s, first %d test images", r.budget.c_str(), spec.title.c_str(), r.count);
  int n = r.count;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(6.0f * em);
  if (ImGui::SliderInt("images", &n, 10, std::min(1000, app.samples().size()), "%d", ImGuiSliderFlags_AlwaysClamp))
    app.robust.count = n;
  ui.mark("robust_images");
  // Legend.
  ImDrawList* dl = ImGui::GetWindowDrawList();
  bool first = true;
  for (const RobustnessCurve::Curve& c : r.curves) {
    if (!first) same_line_if_fits(1.6f * em + ImGui::CalcTextSize(curve_label(c.name)).x);
    first = false;
    ImGui::BeginGroup();
    const ImVec2 p = ImGui::GetCursorScreenPos();
    dl->AddRectFilled(ImVec2(p.x, p.y + 0.35f * em), ImVec2(p.x + em, p.y + 0.65f * em), curve_colour(c.name));
    ImGui::Dummy(ImVec2(1.2f * em, em));
    ImGui::SameLine();
    ImGui::TextUnformatted(curve_label(c.name));
    ImGui::EndGroup();
  }

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 o = ImGui::GetCursorScreenPos();
  const float left = 3.0f * em, bottom = 1.6f * em;
  const float w = std::max(avail.x - left - em, 4.0f * em), h = std::max(avail.y - bottom - 1.5f * em, 4.0f * em);
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled), text = ImGui::GetColorU32(ImGuiCol_Text);
  const float lo = r.grid.empty() ? 0.0f : r.grid.front(), hi = r.grid.empty() ? 0.3f : r.grid.back();
  const float span = std::max(hi - lo, 1e-6f);
  auto px = [&](float b, float acc) { return ImVec2(o.x + left + w * (b - lo) / span, o.y + h * (1.0f - acc)); };
  char buf[32];
  for (int i = 0; i <= 4; ++i) {  // accuracy grid
    const float acc = static_cast<float>(i) / 4.0f;
    dl->AddLine(px(lo, acc), px(hi, acc), IM_COL32(90, 90, 90, 120));
    std::snprintf(buf, sizeof buf, "%3.0f%%", static_cast<double>(acc) * 100.0);
    dl->AddText(ImVec2(o.x, px(lo, acc).y - 0.5f * em), text, buf);
  }
  for (size_t i = 0; i < r.grid.size(); i += 2) {  // budget ticks
    const float b = r.grid[i];
    dl->AddLine(px(b, 0), ImVec2(px(b, 0).x, px(b, 0).y + 0.3f * em), axis);
    std::snprintf(buf, sizeof buf, "%.3g", static_cast<double>(b));
    dl->AddText(ImVec2(px(b, 0).x - em, px(b, 0).y + 0.35f * em), text, buf);
  }
  dl->AddLine(px(lo, 0), px(hi, 0), axis);
  dl->AddLine(px(lo, 0), px(lo, 1), axis);
  // The current budget.
  if (app.state.params.has(r.budget)) {
    const auto b = static_cast<float>(app.state.params.number(r.budget));
    if (b >= lo && b <= hi) dl->AddLine(px(b, 0), px(b, 1), IM_COL32(240, 228, 66, 160), 1.5f);
  }
  for (const RobustnessCurve::Curve& c : r.curves) {
    ImVec2 prev;
    bool have_prev = false;
    for (size_t i = 0; i < c.acc.size(); ++i) {
      if (c.acc[i] < 0) break;
      const ImVec2 p = px(r.grid[i], c.acc[i]);
      if (have_prev) dl->AddLine(prev, p, curve_colour(c.name), 2.0f);
      dl->AddCircleFilled(p, 3.0f, curve_colour(c.name));
      prev = p;
      have_prev = true;
    }
  }
  ImGui::Dummy(ImVec2(left + w, h + bottom));
  if (r.done())
    ImGui::Text("%s        done in %.0f ms", r.budget.c_str(), r.ms);
  else
    ImGui::Text("%s        computing %d/%d ...", r.budget.c_str(), r.next_point, r.points());
}

}  // namespace play
