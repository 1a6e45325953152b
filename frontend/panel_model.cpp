// Model panel: pick a shipped model; its architecture, size, test accuracy and loading state
// (web: a model's weights are downloaded when it is first selected).
#include <cstdio>

#include "engine/models.h"
#include "frontend/panels.h"

namespace play {

namespace {

std::string human_bytes(std::int64_t b) {
  char buf[32];
  if (b >= 1 << 20)
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(b) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.0f KB", static_cast<double>(b) / 1024.0);
  return buf;
}

std::string combo_label(const ModelEntry& e) {
  std::string s = e.name;
  if (e.test_acc >= 0.0f) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "  %.1f%%", static_cast<double>(e.test_acc) * 100.0);
    s += buf;
  }
  s += ", " + human_bytes(e.file_bytes);
  if (e.status == ModelStatus::kLoading) s += " (loading...)";
  if (e.status == ModelStatus::kError) s += " (failed)";
  return s;
}

}  // namespace

void panel_model(App& app, Ui& ui) {
  const auto& entries = app.models.entries();
  if (entries.empty()) {
    ImGui::TextWrapped("No models in %s/models.json. Add assets/models/*.safetensors and rebuild.",
                       app.models.manifest_error().empty() ? "the build" : app.models.manifest_error().c_str());
    return;
  }
  const ModelEntry* cur = app.model_entry();
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - 3.5f * ImGui::GetFontSize());
  if (ImGui::BeginCombo("model", cur ? combo_label(*cur).c_str() : app.state.model.c_str())) {
    for (const ModelEntry& e : entries) {
      if (!e.image_pick()) continue;  // sequence models, and companions of defences
      const bool sel = e.name == app.state.model;
      if (ImGui::Selectable(combo_label(e).c_str(), sel) && !sel) {
        ViewState s = app.state;
        s.model = e.name;
        app.set_state(s);
      }
      if (sel) ImGui::SetItemDefaultFocus();
    }
    ImGui::EndCombo();
  }
  ui.mark("model");
  if (!cur) return;
  for (const advx::ArchInfo& a : advx::architectures())
    if (a.name == cur->arch) ImGui::TextWrapped("%s", a.description.c_str());
  ImGui::Text("parameters: %lld   file: %s", static_cast<long long>(cur->params), human_bytes(cur->file_bytes).c_str());
  if (cur->test_acc >= 0.0f)
    ImGui::Text("test accuracy: %.2f%%", static_cast<double>(cur->test_acc) * 100.0);
  else
    ImGui::TextDisabled("test accuracy: not recorded");
  switch (cur->status) {
    case ModelStatus::kLoading: {
      const float frac = cur->total > 0 ? static_cast<float>(cur->received) / static_cast<float>(cur->total) : 0.0f;
      char buf[64];
      std::snprintf(buf, sizeof buf, "loading... %s of %s", human_bytes(cur->received).c_str(),
                    human_bytes(cur->total).c_str());
      ImGui::ProgressBar(frac, ImVec2(-1, 0), buf);
      break;
    }
    case ModelStatus::kError:
      if (ImGui::Button("Retry")) app.models.request(cur->name, true);
      ui.mark("retry");
      ImGui::SameLine();
      ImGui::PushStyleColor(ImGuiCol_Text, kErrorColour);
      ImGui::TextWrapped("Could not load it: %s", cur->error.c_str());
      ImGui::PopStyleColor();
      break;
    default:
      break;
  }
}

}  // namespace play
