// Defence panel: a registered defence (engine/defences) in front of the model, with the controls of
// its parameter table; the prediction without and with it, side by side, live while drawing and as
// the attack's sliders move; the adaptive attacker switch (attack the defended model itself,
// through BPDA or through its true gradient), and what to expect, said honestly.
#include <algorithm>
#include <cstdio>

#include "frontend/colormap.h"
#include "frontend/panels.h"

namespace play {

namespace {

// One table cell: the prediction, in the error colour when it is not the label.
void verdict(const Prediction& p, int label) {
  ImGui::TableNextColumn();
  if (p.top < 0) {
    ImGui::TextDisabled("-");
    return;
  }
  const bool wrong = label >= 0 && p.top != label;
  ImGui::TextColored(wrong ? kErrorColour : ImGui::GetStyleColorVec4(ImGuiCol_Text), "%d (%.0f%%)", p.top,
                     static_cast<double>(p.probs[static_cast<size_t>(p.top)]) * 100.0);
}

// What the defended model says besides its prediction (advx::Reporter): detector scores against
// their thresholds, each ensemble member's vote, the nearest training images.
void defence_report(const App& app, Ui& ui) {
  const advx::DefenceReport& r = app.defence.report;
  if (!r.scores.empty() && ImGui::BeginTable("scores", 3, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
    ImGui::TableSetupColumn("detector score");
    ImGui::TableSetupColumn("threshold");
    ImGui::TableSetupColumn("");
    ImGui::TableHeadersRow();
    for (const advx::DefenceReport::Score& sc : r.scores) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::Text("%s %.4g", sc.name.c_str(), sc.value);
      ImGui::TableNextColumn();
      ImGui::Text("%.4g", sc.threshold);
      ImGui::TableNextColumn();
      if (sc.flagged)
        ImGui::TextColored(kErrorColour, "flagged");
      else
        ImGui::TextUnformatted("passes");
    }
    ImGui::EndTable();
    ui.mark("defence_scores");
  }
  if (!r.votes.empty() && ImGui::BeginTable("votes", 3, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
    ImGui::TableSetupColumn("member");
    ImGui::TableSetupColumn("vote");
    ImGui::TableSetupColumn("p(vote)");
    ImGui::TableHeadersRow();
    const std::vector<std::string> names = app.class_names();
    for (const advx::DefenceReport::Vote& v : r.votes) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(v.member.c_str());
      ImGui::TableNextColumn();
      const bool known = v.pred >= 0 && static_cast<size_t>(v.pred) < names.size();
      ImGui::TextUnformatted(known ? names[static_cast<size_t>(v.pred)].c_str() : "-");
      ImGui::TableNextColumn();
      if (v.pred >= 0 && static_cast<size_t>(v.pred) < v.probs.size())
        ImGui::Text("%.0f%%", static_cast<double>(v.probs[static_cast<size_t>(v.pred)]) * 100.0);
    }
    ImGui::EndTable();
    ui.mark("defence_votes");
  }
  if (r.neighbours.empty()) return;
  const float side = 2.2f * ImGui::GetFontSize();
  const size_t shown = std::min(r.neighbours.size(), ui.neighbour_tex.size());
  ImGui::TextDisabled("nearest training images (label, distance):");
  for (size_t i = 0; i < shown; ++i) {
    const advx::DefenceReport::Neighbour& n = r.neighbours[i];
    if (i > 0) same_line_if_fits(side + ImGui::GetStyle().ItemSpacing.x);
    ImGui::BeginGroup();
    const advx::Tensor t =
        ui.images_dirty || ui.neighbour_tex[i].width() == 0 ? app.training_image(n.index) : advx::Tensor();
    if (t.rank() == 4)
      ui.neighbour_tex[i].upload(image_rgba(t.ptr(), t.dim(1), t.dim(2), t.dim(3)), t.dim(3), t.dim(2));
    if (ui.neighbour_tex[i].width() > 0) image_with_border(ui.neighbour_tex[i], side);
    ImGui::Text("%d  %.2f", n.label, n.distance);
    ImGui::EndGroup();
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("training image %d, label %d, distance %.3f", n.index, n.label, n.distance);
  }
  if (r.neighbours.size() > shown) ImGui::TextDisabled("... and %zu more", r.neighbours.size() - shown);
  ui.mark("defence_neighbours");
}

}  // namespace

bool adaptive_checkbox(bool& adaptive, const char* mark, Ui& ui) {
  const bool changed = ImGui::Checkbox((std::string("adaptive attacker##") + mark).c_str(), &adaptive);
  ui.mark(mark);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "on: the attack runs on the defended model itself\noff: it is crafted on the bare model "
        "(oblivious) and only scored behind the defence");
  return changed;
}

namespace {

// The defence's parameters and the attacker's switches; true if the user changed one in `s`.
bool defence_controls(const advx::DefenceSpec& spec, ViewState& s, Ui& ui) {
  bool changed = false;
  for (const advx::ParamSpec& p : spec.params) changed |= param_control(p, s.params, ui);
  changed |= adaptive_checkbox(s.adaptive, "adaptive", ui);
  if (s.adaptive) {
    ImGui::SameLine();
    if (ImGui::Checkbox("BPDA", &s.bpda)) changed = true;
    ui.mark("bpda");
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip(
          "on: steps without a gradient are the identity in the backward pass (Athalye et al. 2018)\n"
          "off: their true gradient, zero almost everywhere (gradient masking)");
  }
  return changed;
}

// The verdicts without and with the defence, and what the defence reports; false while the model
// or the defence's files are still loading.
bool defence_outcome(App& app, Ui& ui) {
  if (model_status_line(app)) return false;
  if (!app.defence.waiting.empty()) {
    const std::string now = app.defence_waiting();  // live progress
    ImGui::TextWrapped("%s...", (now.empty() ? app.defence.waiting : now).c_str());
    ui.mark("defence_waiting");
    if (app.defence_building()) ImGui::ProgressBar(static_cast<float>(app.defence.progress), ImVec2(-1.0f, 0.0f));
    return false;
  }
  const int label = app.true_label >= 0 ? app.true_label : app.clean.top;
  const AttackView& a = app.attack;
  if (ImGui::BeginTable("verdicts", 3, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
    ImGui::TableSetupColumn("");
    ImGui::TableSetupColumn("bare model");
    ImGui::TableSetupColumn("defended");
    ImGui::TableHeadersRow();
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted("input");
    verdict(app.clean, label);
    verdict(app.defence.clean, label);
    if (a.valid) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted("adversarial");
      verdict(a.pred, label);
      verdict(a.defended, label);
    }
    ImGui::EndTable();
  }
  ui.mark("defended_pred");
  defence_report(app, ui);
  return true;
}

}  // namespace

// Top to bottom: which defence; what it decides and reports (the live part, first so it stays in
// view); its parameters and the attacker's switches; what the defended model sees; what to expect.
void panel_defence(App& app, Ui& ui) {
  const float em = ImGui::GetFontSize();
  ViewState s = app.state;
  bool changed = defence_choice(advx::defences(), s.defence, "defence_", ui);
  const advx::DefenceSpec* spec = advx::find_defence(s.defence);
  if (!spec) {
    if (changed) app.set_state(s);
    ImGui::TextWrapped(
        "No defence: the attack panel shows the bare model. Pick one to see it react live, next to "
        "an attacker that knows about it.");
    return;
  }
  ImGui::Separator();
  const bool shown = !changed && defence_outcome(app, ui);
  changed |= defence_controls(*spec, s, ui);
  if (changed) app.set_state(s);
  if (!shown) return;
  const AttackView& a = app.attack;
  if (app.defence.seen.rank() == 4 && app.defence.seen.dim(0) == 1) {
    const advx::Tensor& t = app.defence.seen;
    if (ui.images_dirty) ui.defended_tex.upload(image_rgba(t.ptr(), t.dim(1), t.dim(2), t.dim(3)), t.dim(3), t.dim(2));
    image_with_border(ui.defended_tex, 3.5f * em);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("what the defended model's classifier sees: the transformed input");
    ImGui::SameLine();
    ImGui::TextDisabled("what the defended\nmodel sees");
  }
  if (a.valid) ImGui::TextDisabled("attack crafted on %s", a.crafted_on.c_str());
  if (s.adaptive) {
    const advx::GradientKind g = app.defence.gradient;
    if (g == advx::GradientKind::Zero) {
      ImGui::PushStyleColor(ImGuiCol_Text, kErrorColour);
      ImGui::TextWrapped(
          "The adaptive attacker follows the true gradient: zero. It cannot move: that is gradient "
          "masking, not robustness.");
      ImGui::PopStyleColor();
    } else if (g == advx::GradientKind::StraightThrough)
      ImGui::TextWrapped("The adaptive attacker differentiates through the defence with BPDA.");
  }
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + ImGui::GetContentRegionAvail().x);
  ImGui::TextDisabled("%s", spec->note.c_str());
  ImGui::PopTextWrapPos();
}

}  // namespace play
