// Timing overlay: engine milliseconds per action and frames per second.
#include "frontend/panels.h"

namespace play {

void panel_timing(App& app, Ui& ui) {
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::Text("%.0f fps  (%.1f ms/frame)", static_cast<double>(io.Framerate), ui.last_frame_ms);
  ImGui::Text("preprocess %6.2f ms", app.timing.preprocess_ms);
  ImGui::Text("classify   %6.2f ms", app.timing.classify_ms);
  ImGui::Text("attack     %6.2f ms", app.timing.attack_ms);
  ImGui::Text("robustness %6.0f ms", app.timing.robustness_ms);
}

}  // namespace play
