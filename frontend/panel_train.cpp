// "Train robustly" panel: pick an architecture and a training recipe (engine/train/recipes.h: natural
// training, Goodfellow et al.'s FGSM training, Wong et al.'s FGSM with random start, Madry et al.'s
// PGD training), train on the first N MNIST training images a few batches per frame, and watch the
// clean and the PGD-10 accuracy move epoch by epoch; then add the model to the models and attack it.
#include <algorithm>
#include <cstdio>

#include "engine/models.h"
#include "engine/train/recipes.h"
#include "frontend/panels.h"

namespace play {

namespace {

// Clean (blue) and robust (vermillion) accuracy per epoch, 0-100%.
void epoch_plot(const std::vector<advx::EpochStats>& h, int epochs, float eps) {
  const float em = ImGui::GetFontSize();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 o = ImGui::GetCursorScreenPos();
  const float left = 3.0f * em, bottom = 1.6f * em;
  const float w = std::max(ImGui::GetContentRegionAvail().x - left - em, 6.0f * em), hgt = 6.0f * em;
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled), text = ImGui::GetColorU32(ImGuiCol_Text);
  const float n = static_cast<float>(std::max(epochs, 1));
  auto px = [&](float e, float acc) { return ImVec2(o.x + left + w * e / n, o.y + hgt * (1.0f - acc)); };
  char buf[32];
  for (int i = 0; i <= 4; ++i) {
    const float acc = static_cast<float>(i) / 4.0f;
    dl->AddLine(px(0, acc), px(n, acc), IM_COL32(90, 90, 90, 120));
    std::snprintf(buf, sizeof buf, "%3.0f%%", static_cast<double>(acc) * 100.0);
    dl->AddText(ImVec2(o.x, px(0, acc).y - 0.5f * em), text, buf);
  }
  for (int e = 0; e <= epochs; ++e) {
    std::snprintf(buf, sizeof buf, "%d", e);
    dl->AddText(ImVec2(px(static_cast<float>(e), 0).x - 0.3f * em, px(0, 0).y + 0.3f * em), text, buf);
  }
  dl->AddLine(px(0, 0), px(n, 0), axis);
  dl->AddLine(px(0, 0), px(0, 1), axis);
  const ImU32 colours[2] = {IM_COL32(0, 114, 178, 255), IM_COL32(213, 94, 0, 255)};
  for (int c = 0; c < 2; ++c) {
    ImVec2 prev;
    for (size_t i = 0; i < h.size(); ++i) {
      if (h[i].eval_n == 0) continue;
      const ImVec2 p =
          px(static_cast<float>(h[i].epoch), static_cast<float>(c == 0 ? h[i].clean_acc : h[i].robust_acc));
      if (i > 0) dl->AddLine(prev, p, colours[c], 2.0f);
      dl->AddCircleFilled(p, 3.0f, colours[c]);
      prev = p;
    }
  }
  ImGui::Dummy(ImVec2(left + w, hgt + bottom));
  ImGui::TextColored(ImColor(colours[0]), "clean");
  ImGui::SameLine();
  ImGui::TextColored(ImColor(colours[1]), "PGD-10 at eps %.3g", static_cast<double>(eps));
  ImGui::SameLine();
  ImGui::TextDisabled("(per epoch)");
}

}  // namespace

void panel_train(App& app, Ui& ui) {
  TrainView& t = app.training;
  for (const advx::ParamSpec& p : advx::recipe_params())
    if (!t.params.has(p.key)) t.params.set(p.key, p.def);
  const bool live = t.trainer && !t.trainer->done();
  ImGui::BeginDisabled(live || !t.waiting.empty());
  ImGui::SetNextItemWidth(8.0f * ImGui::GetFontSize());
  if (ImGui::BeginCombo("architecture", t.arch.c_str())) {
    for (const advx::ArchInfo& a : advx::architectures()) {
      if (a.autoencoder || a.input != advx::Shape{1, 28, 28}) continue;
      if (ImGui::Selectable(a.name.c_str(), a.name == t.arch)) t.arch = a.name;
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", a.description.c_str());
    }
    ImGui::EndCombo();
  }
  ui.mark("train_arch");
  for (const advx::TrainRecipe& r : advx::train_recipes()) {
    same_line_if_fits(ImGui::CalcTextSize(r.title.c_str()).x + 2.0f * ImGui::GetFrameHeight());
    if (ImGui::RadioButton(r.title.c_str(), t.recipe == r.name)) t.recipe = r.name;
    ui.mark(("train_" + r.name).c_str());
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("%s%s%s", r.summary.c_str(), r.citation.empty() ? "" : "\n", r.citation.c_str());
  }
  for (const advx::ParamSpec& p : advx::recipe_params()) param_control(p, t.params, ui);
  ImGui::EndDisabled();

  if (!live && t.waiting.empty()) {
    if (ImGui::Button("Train")) app.start_training();
    ui.mark("train_start");
    if (t.trainer && t.trainer->done()) {
      ImGui::SameLine();
      if (ImGui::Button("Use this model")) app.adopt_trained();
      ui.mark("train_adopt");
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip("add it to the models and select it: attack it, put defences in front of it");
    }
  } else {
    if (ImGui::Button(t.paused ? "Resume" : "Pause")) t.paused = !t.paused;
    ImGui::SameLine();
    if (ImGui::Button("Stop")) app.stop_training();
  }
  if (!t.error.empty()) ImGui::TextColored(kErrorColour, "%s", t.error.c_str());
  if (!t.waiting.empty()) ImGui::TextWrapped("%s...", t.waiting.c_str());
  if (!t.trainer) {
    if (!t.adopted.empty()) ImGui::TextWrapped("'%s' is now the model: attack it.", t.adopted.c_str());
    if (t.waiting.empty() && t.adopted.empty()) ImGui::TextDisabled("%s", advx::get_recipe(t.recipe).summary.c_str());
    if (!t.history.empty()) epoch_plot(t.history, t.epochs, static_cast<float>(t.params.number("train_eps")));
    return;
  }
  const advx::TrainProgress& p = t.trainer->last();
  char buf[160];
  std::snprintf(buf, sizeof buf, "epoch %d/%d  batch %d/%d  %s", std::max(p.epoch, 1), t.trainer->config().epochs,
                p.batch, p.batches, advx::phase_name(t.trainer->phase()));
  ImGui::ProgressBar(static_cast<float>(t.trainer->progress()), ImVec2(-1.0f, 0.0f), buf);
  ui.mark("train_progress");
  ImGui::Text("loss %.3f  train acc %.1f%%  lr %.2g  %.0f img/s", p.loss, p.accuracy * 100.0, p.lr, p.images_per_s);
  epoch_plot(t.trainer->history(), t.trainer->config().epochs, static_cast<float>(t.params.number("train_eps")));
}

}  // namespace play
