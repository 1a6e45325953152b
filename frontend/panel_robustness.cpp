// Robustness panel: accuracy vs eps on a batch of MNIST test images, for the attack chosen in the
// attack panel (filled in progressively, a slice per frame).
#include <algorithm>
#include <cstdio>

#include "frontend/panels.h"

namespace play {

void panel_robustness(App& app, Ui&) {
  const RobustnessCurve& r = app.robust;
  const float em = ImGui::GetFontSize();
  if (app.samples.size() == 0) {
    ImGui::TextWrapped("No MNIST test sample shipped (%s).", app.samples.error.c_str());
    return;
  }
  if (model_status_line(app)) return;
  const char* kind = app.state.attack == "fgsm" ? "FGSM" : app.state.attack == "bim" ? "BIM" : "PGD";
  if (app.state.attack == "fgsm")
    ImGui::Text("Accuracy vs eps, %s, first %d test images", kind, r.count);
  else
    ImGui::Text("Accuracy vs eps, %s-%d, first %d test images", kind, app.state.steps, r.count);
  int n = r.count;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(6.0f * em);
  if (ImGui::SliderInt("images", &n, 10, std::min(1000, app.samples.size()), "%d", ImGuiSliderFlags_AlwaysClamp))
    app.robust.count = n;

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 o = ImGui::GetCursorScreenPos();
  const float left = 3.0f * em, bottom = 1.6f * em;
  const float w = std::max(avail.x - left - em, 4.0f * em), h = std::max(avail.y - bottom - 1.5f * em, 4.0f * em);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled), text = ImGui::GetColorU32(ImGuiCol_Text);
  const float eps_max = r.eps.empty() ? 0.3f : r.eps.back();
  auto px = [&](float eps, float acc) { return ImVec2(o.x + left + w * eps / eps_max, o.y + h * (1.0f - acc)); };
  char buf[32];
  for (int i = 0; i <= 4; ++i) {  // accuracy grid
    const float acc = static_cast<float>(i) / 4.0f;
    dl->AddLine(px(0, acc), px(eps_max, acc), IM_COL32(90, 90, 90, 120));
    std::snprintf(buf, sizeof buf, "%3.0f%%", static_cast<double>(acc) * 100.0);
    dl->AddText(ImVec2(o.x, px(0, acc).y - 0.5f * em), text, buf);
  }
  for (float e = 0.0f; e <= eps_max + 1e-4f; e += 0.05f) {
    dl->AddLine(px(e, 0), ImVec2(px(e, 0).x, px(e, 0).y + 0.3f * em), axis);
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(e));
    dl->AddText(ImVec2(px(e, 0).x - em, px(e, 0).y + 0.35f * em), text, buf);
  }
  dl->AddLine(px(0, 0), px(eps_max, 0), axis);
  dl->AddLine(px(0, 0), px(0, 1), axis);
  // Current eps marker.
  if (app.state.eps <= eps_max)
    dl->AddLine(px(app.state.eps, 0), px(app.state.eps, 1), IM_COL32(230, 159, 0, 200), 1.5f);
  // The curve (Okabe-Ito blue), points done so far.
  ImVec2 prev;
  bool have_prev = false;
  for (size_t i = 0; i < r.acc.size(); ++i) {
    if (r.acc[i] < 0) break;
    const ImVec2 p = px(r.eps[i], r.acc[i]);
    if (have_prev) dl->AddLine(prev, p, IM_COL32(0, 114, 178, 255), 2.0f);
    dl->AddCircleFilled(p, 3.0f, IM_COL32(0, 114, 178, 255));
    prev = p;
    have_prev = true;
  }
  ImGui::Dummy(ImVec2(left + w, h + bottom));
  if (r.done())
    ImGui::Text("eps (L-inf)        done in %.0f ms", r.ms);
  else
    ImGui::Text("eps (L-inf)        computing %d/%zu ...", r.next_eps, r.eps.size());
}

}  // namespace play
