// Model panel: pick a shipped model; its architecture, size and test accuracy.
#include <cstdio>

#include "engine/models.h"
#include "frontend/panels.h"

namespace play {

namespace {

std::string human_bytes(std::int64_t b) {
  char buf[32];
  if (b >= 1 << 20) std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(b) / (1 << 20));
  else std::snprintf(buf, sizeof buf, "%.0f KB", static_cast<double>(b) / 1024.0);
  return buf;
}

}  // namespace

void panel_model(App& app, Ui&) {
  const auto& entries = app.models.entries();
  if (entries.empty()) {
    ImGui::TextWrapped("No models in %s. Add assets/models/*.safetensors and rebuild.", app.models.dir().c_str());
    return;
  }
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x * 0.6f);
  if (ImGui::BeginCombo("model", app.state.model.c_str())) {
    for (const ModelEntry& e : entries) {
      const bool sel = e.name == app.state.model;
      if (ImGui::Selectable(e.name.c_str(), sel) && !sel) {
        ViewState s = app.state;
        s.model = e.name;
        app.set_state(s);
      }
      if (sel) ImGui::SetItemDefaultFocus();
    }
    ImGui::EndCombo();
  }
  ModelEntry* e = app.model_entry();
  if (!e) return;
  for (const advx::ArchInfo& a : advx::architectures())
    if (a.name == e->arch) ImGui::TextWrapped("%s", a.description.c_str());
  ImGui::Text("parameters: %lld", static_cast<long long>(e->params));
  ImGui::Text("file size:  %s", human_bytes(e->file_bytes).c_str());
  if (e->test_acc >= 0.0f)
    ImGui::Text("test accuracy: %.2f%%", static_cast<double>(e->test_acc) * 100.0);
  else
    ImGui::TextDisabled("test accuracy: not recorded");
}

}  // namespace play
