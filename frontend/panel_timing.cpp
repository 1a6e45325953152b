// Timing overlay: engine milliseconds per action and the frame rate while the UI is busy (an idle
// UI is not redrawn).
#include "frontend/panels.h"

namespace play {

void panel_timing(App& app, Ui& ui) {
  // Fixed-width numbers (the font's digits are tabular) keep the auto-sized overlay from jumping.
  ImGui::Text("%3.0f fps  %5.1f ms/frame", ui.frame_period_ms > 0 ? 1000.0 / ui.frame_period_ms : 0.0,
              ui.last_frame_ms);
  if (app.state.seq()) {
    ImGui::Text("classify   %6.2f ms", app.seq.classify_ms);
    ImGui::Text("defence    %6.2f ms", app.seq.defence_ms);
    ImGui::Text("attack     %6.2f ms", app.seq.attack.ms);
    ImGui::TextDisabled("(engine time per action)");
    return;
  }
  ImGui::Text("preprocess %6.2f ms", app.timing.preprocess_ms);
  ImGui::Text("classify   %6.2f ms", app.timing.classify_ms);
  ImGui::Text("attack     %6.2f ms", app.timing.attack_ms);
  ImGui::Text("robustness %6.0f ms", app.timing.robustness_ms);
  ImGui::TextDisabled("(engine time per action)");
}

}  // namespace play
