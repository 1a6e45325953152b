// Sequence attack panel (view=seq): the registered sequence attacks the dataset allows (engine/
// seqattacks: malware traces only get calls inserted, SMS words substituted) with the controls of
// their parameter tables and the seed; the adversarial with the tokens the attack put in
// highlighted, the prediction before and after, the edits against the budget.
#include <cstdio>

#include "frontend/panels.h"

namespace play {

void panel_seq_attack(App& app, Ui& ui) {
  const float em = ImGui::GetFontSize();
  ViewState s = app.state;
  bool changed = false;
  const std::vector<const advx::SeqAttackSpec*> choices = app.seq_attack_choices();
  for (const advx::SeqAttackSpec* a : choices) {
    if (a != choices.front())
      same_line_if_fits(ImGui::CalcTextSize(a->title.c_str()).x + 2.0f * ImGui::GetFrameHeight());
    if (ImGui::RadioButton(a->title.c_str(), s.seq_attack == a->name)) s.seq_attack = a->name, changed = true;
    ui.mark(("seq_attack_" + a->name).c_str());
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("%s (%s)\n%s", a->summary.c_str(), a->gradient ? "white-box" : "black-box",
                        a->citation.c_str());
  }
  // Why only these: the dataset's rule (engine/eval/sequence_eval.h).
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + ImGui::GetContentRegionAvail().x);
  ImGui::TextDisabled("Only edits that keep the sample what it is: %s.", app.seq_task().why.c_str());
  ImGui::PopTextWrapPos();
  const advx::SeqAttackSpec* spec = advx::find_seq_attack(s.seq_attack);
  if (!spec) {
    ImGui::TextDisabled("No registered attack edits this dataset the way it allows.");
    return;
  }
  bool advanced = false;
  for (const advx::ParamSpec& p : spec->params) {
    if (p.advanced) {
      advanced = true;
      continue;
    }
    changed |= param_control(p, s.seq_params, ui);
  }
  if (advanced && ImGui::TreeNode("more settings##seq")) {
    for (const advx::ParamSpec& p : spec->params)
      if (p.advanced) changed |= param_control(p, s.seq_params, ui);
    ImGui::TreePop();
  }
  int seed = static_cast<int>(s.seed);
  ImGui::SetNextItemWidth(8.0f * em);
  if (ImGui::InputInt("seed##seq", &seed) && seed >= 0) s.seed = static_cast<std::uint64_t>(seed), changed = true;
  ui.mark("seq_seed");
  if (changed) app.set_state(s);

  const SeqAttackView& a = app.seq.attack;
  if (!a.valid) {
    if (app.seq.attack_running)
      ImGui::ProgressBar(static_cast<float>(app.seq.attack_progress), ImVec2(-1.0f, 0.0f), "attacking\u2026");
    else
      ImGui::TextDisabled(app.pending() ? "(attacking once typing pauses\u2026)" : "(no result)");
    return;
  }
  const ModelEntry* e = app.models.find(app.seq_model_name());
  const std::vector<std::string> classes = e ? e->codec.classes() : std::vector<std::string>{};
  auto name_of = [&](const Prediction& p) {
    return p.top >= 0 && p.top < static_cast<int>(classes.size()) ? classes[static_cast<size_t>(p.top)]
                                                                  : std::string("?");
  };
  ImGui::Text("Adversarial: %d of %d allowed %s", a.edits, a.budget,
              spec->edit == advx::SeqEdit::Insert ? "insertions" : "substitutions");
  // A substituted token's tooltip names the word it replaced.
  std::vector<std::string> was(a.edit.tokens.size());
  if (spec->edit == advx::SeqEdit::Substitute)
    for (int i : a.edit.edited)
      if (i < static_cast<int>(app.seq.input.tokens.size()))
        was[static_cast<size_t>(i)] = app.seq.input.tokens[static_cast<size_t>(i)];
  token_chips("seq_adv", a.edit.tokens, a.edit.edited, {}, &was, 5.2f * ImGui::GetTextLineHeightWithSpacing());
  ui.mark("seq_adv");
  const Prediction& shown = a.defended.top >= 0 ? a.defended : a.pred;
  const Prediction& before = app.seq.defence.on ? app.seq.defence.pred : app.seq.clean;
  ImGui::Text("%s%s (%.0f%%) \u2192 ", app.seq.defence.on ? "defended: " : "", name_of(before).c_str(),
              before.top >= 0 ? static_cast<double>(before.probs[static_cast<size_t>(before.top)]) * 100.0 : 0.0);
  ImGui::SameLine(0, 0);
  ImGui::TextColored(a.success ? kErrorColour : ImGui::GetStyleColorVec4(ImGuiCol_Text), "%s (%.0f%%)",
                     name_of(shown).c_str(), static_cast<double>(shown.probs[static_cast<size_t>(shown.top)]) * 100.0);
  ImGui::SameLine();
  const bool misled = shown.top >= 0 && shown.top != a.label;
  ImGui::Text("%s", a.success ? "fooled" : misled && a.flagged ? "fooled, but flagged by the detector" : "not fooled");
  ui.mark("seq_adv_pred");
  ImGui::TextDisabled(
      "attacked class %s%s; crafted on %s",
      a.label >= 0 && a.label < static_cast<int>(classes.size()) ? classes[static_cast<size_t>(a.label)].c_str() : "?",
      app.seq.true_label >= 0 ? " (true label)" : " (prediction)", a.crafted_on.c_str());
  ImGui::Text("engine: %.1f ms, %lld queries, %lld gradients", a.ms, static_cast<long long>(a.queries),
              static_cast<long long>(a.gradient_calls));
}

}  // namespace play
