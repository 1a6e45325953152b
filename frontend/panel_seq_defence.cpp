// Sequence defence panel (view=seq): a registered sequence defence (engine/seqdefences) with the
// controls of its parameter table, the adaptive attacker switch, and its report live for the text
// and the adversarial: the defended prediction, its detector's score against the threshold (set on
// clean validation samples) and each ensemble member's vote.
#include <cstdio>

#include "frontend/panels.h"

namespace play {

namespace {

void cell(const Prediction& p, const std::vector<std::string>& classes, int label) {
  ImGui::TableNextColumn();
  if (p.top < 0) {
    ImGui::TextDisabled("-");
    return;
  }
  const bool wrong = label >= 0 && p.top != label;
  const char* name = p.top < static_cast<int>(classes.size()) ? classes[static_cast<size_t>(p.top)].c_str() : "?";
  ImGui::TextColored(wrong ? kErrorColour : ImGui::GetStyleColorVec4(ImGuiCol_Text), "%s (%.0f%%)", name,
                     static_cast<double>(p.probs[static_cast<size_t>(p.top)]) * 100.0);
}

void score_cell(const advx::DefenceReport& r) {
  ImGui::TableNextColumn();
  if (r.scores.empty()) {
    ImGui::TextDisabled("-");
    return;
  }
  const advx::DefenceReport::Score& s = r.scores.front();
  ImGui::TextColored(s.flagged ? kErrorColour : ImGui::GetStyleColorVec4(ImGuiCol_Text), "%.4g %s %.4g%s", s.value,
                     s.flagged ? ">" : "<=", s.threshold, s.flagged ? " flagged" : "");
}

}  // namespace

void panel_seq_defence(App& app, Ui& ui) {
  ViewState s = app.state;
  bool changed = defence_choice(advx::seq_defences(), s.seq_defence, "seq_defence_", ui);
  const advx::SeqDefenceSpec* spec = advx::find_seq_defence(s.seq_defence);
  if (spec) {
    for (const advx::ParamSpec& p : spec->params) changed |= param_control(p, s.seq_params, ui);
    changed |= adaptive_checkbox(s.adaptive, "seq_adaptive", ui);
  }
  if (changed) app.set_state(s);
  if (!spec) {
    ImGui::TextWrapped("No defence. Pick one to see its verdict, its score and its members' votes follow the text.");
    return;
  }
  const SeqDefenceView& d = app.seq.defence;
  if (!d.error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, kErrorColour);
    ImGui::TextWrapped("%s", d.error.c_str());
    ImGui::PopStyleColor();
    return;
  }
  if (!d.waiting.empty() && d.building) {  // its first build, a slice per frame
    ImGui::TextColored(kAccentColour, "%s\u2026", d.waiting.c_str());
    ui.mark("seq_defence_building");
    ImGui::ProgressBar(static_cast<float>(d.progress), ImVec2(-1.0f, 0.0f));
    return;
  }
  if (!d.waiting.empty()) {
    ImGui::TextColored(kAccentColour, "Loading %s\u2026", d.waiting.c_str());
    return;
  }
  if (!d.on) return;
  const ModelEntry* e = app.models.find(app.seq_model_name());
  const std::vector<std::string> classes = e ? e->codec.classes() : std::vector<std::string>{};
  const int label = app.seq.true_label >= 0 ? app.seq.true_label : app.seq.clean.top;
  const SeqAttackView& a = app.seq.attack;
  const bool detects = !d.report.scores.empty();
  if (ImGui::BeginTable("seq_verdicts", detects ? 4 : 3, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
    ImGui::TableSetupColumn("");
    ImGui::TableSetupColumn("bare model");
    ImGui::TableSetupColumn("defended");
    if (detects) ImGui::TableSetupColumn(d.report.scores.front().name.c_str());
    ImGui::TableHeadersRow();
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted("text");
    cell(app.seq.clean, classes, label);
    cell(d.pred, classes, label);
    if (detects) score_cell(d.report);
    if (a.valid) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted("adversarial");
      cell(a.pred, classes, label);
      cell(a.defended, classes, label);
      if (detects) score_cell(a.report);
    }
    ImGui::EndTable();
  }
  ui.mark("seq_defended");
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + ImGui::GetContentRegionAvail().x);
  if (detects)
    ImGui::TextDisabled("threshold set for %.1f%% false positives on the clean validation samples (%.1f%% there)",
                        d.target_fpr * 100.0, d.validation_fpr * 100.0);
  ImGui::PopTextWrapPos();
  if (!d.report.votes.empty() &&
      ImGui::BeginTable("seq_votes", a.valid ? 3 : 2, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
    ImGui::TableSetupColumn("vote");
    ImGui::TableSetupColumn("text");
    if (a.valid) ImGui::TableSetupColumn("adversarial");
    ImGui::TableHeadersRow();
    for (size_t m = 0; m < d.report.votes.size(); ++m) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(d.report.votes[m].member.c_str());
      Prediction p;
      p.top = d.report.votes[m].pred, p.probs = d.report.votes[m].probs;
      cell(p, classes, label);
      if (a.valid && m < a.report.votes.size()) {
        Prediction q;
        q.top = a.report.votes[m].pred, q.probs = a.report.votes[m].probs;
        cell(q, classes, label);
      }
    }
    ImGui::EndTable();
    ui.mark("seq_votes");
  }
  if (s.adaptive) {
    if (d.gradient == advx::GradientKind::StraightThrough)
      ImGui::TextWrapped("The adaptive attacker differentiates through the defence with a straight-through surrogate.");
    else if (d.gradient == advx::GradientKind::Zero)
      ImGui::TextColored(kErrorColour, "The adaptive attacker's gradient is zero: gradient masking.");
  }
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + ImGui::GetContentRegionAvail().x);
  ImGui::TextDisabled("%s", d.note.c_str());
  ImGui::PopTextWrapPos();
}

}  // namespace play
