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

void panel_help(App& app, Ui&) {
  if (app.state.seq()) {
    bullet(
        "Type or edit the text: the prediction follows every key; grey words are outside the model's "
        "vocabulary (it reads them as <unk>)");
    bullet("previous / next / random: the dataset's test samples, with their labels");
    bullet(
        "The attack runs once typing pauses; the words or calls it put in are highlighted (hover: what "
        "a substitution replaced)");
    bullet("A defence shows its verdict, its score against the threshold and each member's vote, live");
    ImGui::Spacing();
    ImGui::TextWrapped(
        "The URL holds the view (view=seq, dataset, text or test, attack, defence, seed): copy it to share. "
        "Images (top) goes back to the digits.");
    return;
  }
  ImGui::TextUnformatted("Keys");
  bullet("C clear, R random test image, E eraser, [ ] brush size");
  std::string keys;
  for (const advx::AttackSpec& a : advx::attacks())
    if (a.key) keys += std::string(keys.empty() ? "" : ", ") + a.key + " " + a.title;
  keys += " (A cycles), - = budget, T target class";
  bullet(keys.c_str());
  bullet("P export the adversarial PNG");
  bullet("Tab / arrows / Space: move between and change controls");
  bullet(
      "Sequences (top): type an SMS or edit an API-call trace; the prediction follows every key, the "
      "attack shows the words or calls it put in");
  ImGui::Spacing();
  ImGui::TextWrapped(
      "The page's URL holds the whole view (model, attack and its settings, defence, "
      "target, seed and the digit): copy it to share. Add hide=attack,robustness,... to hide panels when "
      "embedding in an iframe.");
}

}  // namespace play
