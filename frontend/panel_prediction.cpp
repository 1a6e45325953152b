// Prediction panel: class confidences as bars, and what the model sees (the 28x28 input).
#include <algorithm>
#include <cstdio>

#include "frontend/colormap.h"
#include "frontend/panels.h"

namespace play {

void probability_bars(const Prediction& p, int highlight, float width, const std::vector<std::string>& names) {
  const float em = ImGui::GetFontSize();
  const float row = ImGui::GetTextLineHeightWithSpacing();
  if (p.probs.empty()) {  // keep the panel's layout: empty bars
    ImGui::Dummy(ImVec2(width, row * 10.0f));
    return;
  }
  float label_w = 1.2f * em;
  for (const std::string& n : names) label_w = std::max(label_w, ImGui::CalcTextSize(n.c_str()).x + 0.4f * em);
  const float pct_w = 3.6f * em;
  const float bar_w = std::max(2.0f * em, width - label_w - pct_w);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  for (size_t c = 0; c < p.probs.size(); ++c) {
    const ImVec2 o = ImGui::GetCursorScreenPos();
    const bool top = static_cast<int>(c) == p.top;
    const bool hl = static_cast<int>(c) == highlight;
    char txt[32];
    if (c < names.size())
      std::snprintf(txt, sizeof txt, "%s", names[c].c_str());
    else
      std::snprintf(txt, sizeof txt, "%zu", c);
    dl->AddText(o, ImGui::GetColorU32(ImGuiCol_Text), txt);
    const ImVec2 b0(o.x + label_w, o.y + 0.15f * row), b1(o.x + label_w + bar_w, o.y + 0.85f * row);
    dl->AddRectFilled(b0, b1, IM_COL32(60, 60, 70, 255));
    // Okabe-Ito blue for the top class, grey otherwise; a sky-blue outline marks `highlight`.
    const ImU32 col = top ? IM_COL32(0, 114, 178, 255) : IM_COL32(150, 150, 150, 255);
    dl->AddRectFilled(b0, ImVec2(b0.x + bar_w * std::clamp(p.probs[c], 0.0f, 1.0f), b1.y), col);
    if (hl) dl->AddRect(b0, b1, IM_COL32(230, 159, 0, 255), 0.0f, 0, 2.0f);
    std::snprintf(txt, sizeof txt, "%5.1f%%", static_cast<double>(p.probs[c]) * 100.0);
    dl->AddText(ImVec2(b1.x + 0.3f * em, o.y), ImGui::GetColorU32(ImGuiCol_Text), txt);
    ImGui::Dummy(ImVec2(width, row));
  }
}

void image_with_border(const Texture& t, float size) {
  ImGui::Image(t.id(), ImVec2(size, size), ImVec2(0, 0), ImVec2(1, 1), ImVec4(1, 1, 1, 1),
               ImVec4(0.5f, 0.5f, 0.5f, 1.0f));
}

bool model_status_line(const App& app) {
  const ModelEntry* e = app.model_entry();
  if (e && e->status == ModelStatus::kReady) {
    // The model is there; its dataset's test images may still be on their way.
    const DatasetEntry* d = app.models.find_dataset(app.dataset());
    if (!d || d->status == ModelStatus::kReady || d->status == ModelStatus::kNotLoaded) return false;
    if (d->status == ModelStatus::kError) {
      ImGui::PushStyleColor(ImGuiCol_Text, kErrorColour);
      ImGui::TextWrapped("The %s test images could not be loaded: %s", d->name.c_str(), d->error.c_str());
      ImGui::PopStyleColor();
    } else {
      const float frac = d->total > 0 ? static_cast<float>(d->received) / static_cast<float>(d->total) : 0.0f;
      ImGui::TextColored(kAccentColour, "Loading the %s test images\u2026 %.0f%%", d->name.c_str(),
                         static_cast<double>(frac) * 100.0);
    }
    return true;
  }
  if (!e) return false;
  if (e->status == ModelStatus::kError) {
    ImGui::PushStyleColor(ImGuiCol_Text, kErrorColour);
    if (app.hidden("model"))
      ImGui::TextWrapped("Model '%s' could not be loaded: %s", e->name.c_str(), e->error.c_str());
    else
      ImGui::TextWrapped("Model '%s' could not be loaded (see the Model panel).", e->name.c_str());
    ImGui::PopStyleColor();
  } else {
    const float frac = e->total > 0 ? static_cast<float>(e->received) / static_cast<float>(e->total) : 0.0f;
    ImGui::TextColored(kAccentColour, "Loading model '%s'\u2026 %.0f%%", e->name.c_str(),
                       static_cast<double>(frac) * 100.0);
  }
  return true;
}

void panel_prediction(App& app, Ui& ui) {
  const float em = ImGui::GetFontSize();
  if (model_status_line(app)) {
    // nothing to predict yet
  } else if (app.clean.top >= 0) {
    const std::vector<std::string> names = app.class_names();
    ImGui::Text("Prediction: %s  (%.1f%%)", names[static_cast<size_t>(app.clean.top)].c_str(),
                static_cast<double>(app.clean.probs[static_cast<size_t>(app.clean.top)]) * 100.0);
  } else {
    ImGui::TextUnformatted("Prediction: -");
  }
  probability_bars(app.clean, app.true_label, ImGui::GetContentRegionAvail().x, app.class_names());
  ImGui::Separator();
  const advx::Tensor& seen = app.model_input();  // the input, with the patch when one is placed
  const int c = seen.dim(1), h = seen.dim(2), w = seen.dim(3);
  ImGui::Text("What the model sees (%dx%d%s%s)", w, h, c == 3 ? " RGB" : "", app.patch_on() ? ", patched" : "");
  if (ui.images_dirty) ui.input_tex.upload(image_rgba(seen.ptr(), c, h, w), w, h);
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  const float side = 8.0f * em;
  image_with_border(ui.input_tex, side);
  const advx::PreprocessInfo& pr = app.prep;
  if (app.drawable() && app.state.preprocess && !app.exact_input && !pr.box.empty()) {
    // The 20x20 fit box and the centre of mass (at the field's centre after centring).
    const float k = side / 28.0f;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const float x0 = p0.x + static_cast<float>(pr.offset_x) * k, y0 = p0.y + static_cast<float>(pr.offset_y) * k;
    dl->AddRect(ImVec2(x0, y0), ImVec2(x0 + static_cast<float>(pr.fit_w) * k, y0 + static_cast<float>(pr.fit_h) * k),
                IM_COL32(230, 159, 0, 180));
    const ImVec2 com(x0 + (pr.com_x + 0.5f) * k, y0 + (pr.com_y + 0.5f) * k);
    dl->AddLine(ImVec2(com.x - 4, com.y), ImVec2(com.x + 4, com.y), IM_COL32(86, 180, 233, 255), 2.0f);
    dl->AddLine(ImVec2(com.x, com.y - 4), ImVec2(com.x, com.y + 4), IM_COL32(86, 180, 233, 255), 2.0f);
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::Text("ink box %dx%d", pr.box.width(), pr.box.height());
    ImGui::Text("scaled x%.2f to %dx%d", static_cast<double>(pr.scale), pr.fit_w, pr.fit_h);
    ImGui::Text("centred by mass");
    ImGui::Text("(shift %+d, %+d)", pr.offset_x, pr.offset_y);
    ImGui::EndGroup();
  } else {
    ImGui::SameLine();
    ImGui::TextDisabled(app.exact_input ? "used as given" : app.state.preprocess ? "" : "canvas scaled to 28x28");
  }
}

}  // namespace play
