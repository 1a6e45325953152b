// Help panel: keyboard shortcuts and how to share or embed a view.
#include "frontend/panels.h"

namespace play {

void panel_help(App&, Ui&) {
  ImGui::TextUnformatted("Keys");
  ImGui::BulletText("C clear, R random test image, E eraser");
  ImGui::BulletText("[ ] brush size, - = eps, T target class");
  ImGui::BulletText("A next attack (FGSM, BIM, PGD), P export PNG");
  ImGui::BulletText("Tab / arrows / Space move and change controls");
  ImGui::Separator();
  ImGui::TextWrapped("The page's URL holds the whole view (model, attack, eps, target, seed and the "
                     "digit): copy it to share. Add hide=attack,robustness,... to hide panels when "
                     "embedding in an iframe.");
}

}  // namespace play
