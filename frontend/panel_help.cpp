// Help panel: keyboard shortcuts and how to share or embed a view.
#include "frontend/panels.h"

namespace play {

namespace {

void bullet(const char* text) {
  ImGui::Bullet();
  ImGui::TextWrapped("%s", text);
}

}  // namespace

void panel_help(App&, Ui&) {
  ImGui::TextUnformatted("Keys");
  bullet("C clear, R random test image, E eraser, [ ] brush size");
  bullet("F FGSM, B BIM, G PGD (A cycles), - = eps, T target class");
  bullet("P export the adversarial PNG");
  bullet("Tab / arrows / Space: move between and change controls");
  ImGui::Spacing();
  ImGui::TextWrapped(
      "The page's URL holds the whole view (model, attack, eps, target, seed and the "
      "digit): copy it to share. Add hide=attack,robustness,... to hide panels when "
      "embedding in an iframe.");
}

}  // namespace play
