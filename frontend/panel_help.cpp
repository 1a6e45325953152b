// Help panel: keyboard shortcuts and how to share or embed a view.
#include <string>

#include "engine/attacks/attack.h"
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
  std::string keys;
  for (const advx::AttackSpec& a : advx::attacks())
    if (a.key) keys += std::string(keys.empty() ? "" : ", ") + a.key + " " + a.title;
  keys += " (A cycles), - = budget, T target class";
  bullet(keys.c_str());
  bullet("P export the adversarial PNG");
  bullet("Tab / arrows / Space: move between and change controls");
  ImGui::Spacing();
  ImGui::TextWrapped(
      "The page's URL holds the whole view (model, attack and its settings, defence, "
      "target, seed and the digit): copy it to share. Add hide=attack,robustness,... to hide panels when "
      "embedding in an iframe.");
}

}  // namespace play
