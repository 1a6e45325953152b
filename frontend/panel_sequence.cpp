// Sequence panel (view=seq): the dataset (an SMS, or an API-call trace) and its model, a text box
// whose prediction follows every key, a test sample picker, and the tokens the model reads (words
// outside the vocabulary greyed: the model reads them as <unk>).
#include <algorithm>
#include <cstdio>

#include "frontend/panels.h"

namespace play {

namespace {

// ImGui writes into the std::string, growing it as the text grows. While the box is being edited
// ImGui keeps its own copy: a text set from elsewhere (a test sample, the URL, setState) replaces
// it here, through the callback (Ui::seq_text_replace).
int text_callback(ImGuiInputTextCallbackData* data) {
  auto* ui = static_cast<Ui*>(data->UserData);
  if (data->EventFlag == ImGuiInputTextFlags_CallbackResize) {
    ui->seq_text.resize(static_cast<size_t>(data->BufTextLen));
    data->Buf = ui->seq_text.data();
  } else if (data->EventFlag == ImGuiInputTextFlags_CallbackAlways && ui->seq_text_replace) {
    ui->seq_text_replace = false;
    data->DeleteChars(0, data->BufTextLen);
    data->InsertChars(0, ui->seq_text_external.c_str(), ui->seq_text_external.c_str() + ui->seq_text_external.size());
  }
  return 0;
}

}  // namespace

void token_chips(const char* id, const std::vector<std::string>& tokens, const std::vector<int>& marked,
                 const std::vector<int>& greyed, const std::vector<std::string>* was, float height) {
  const float em = ImGui::GetFontSize();
  ImGui::BeginChild(id, ImVec2(0, height), true);
  const ImGuiStyle& st = ImGui::GetStyle();
  const float pad = 0.25f * em, right = ImGui::GetContentRegionAvail().x;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  float x = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool mark = std::binary_search(marked.begin(), marked.end(), static_cast<int>(i));
    const bool grey = std::binary_search(greyed.begin(), greyed.end(), static_cast<int>(i));
    const ImVec2 ts = ImGui::CalcTextSize(tokens[i].c_str());
    const float w = ts.x + 2 * pad;
    if (i > 0 && x + st.ItemSpacing.x * 0.5f + w <= right)
      ImGui::SameLine(0, st.ItemSpacing.x * 0.5f), x += st.ItemSpacing.x * 0.5f;
    else
      x = 0;
    const ImVec2 p = ImGui::GetCursorScreenPos();
    // Okabe-Ito orange for what the attack put in; a dark chip for the rest.
    const ImU32 bg = mark ? IM_COL32(230, 159, 0, 255) : IM_COL32(55, 58, 68, 255);
    const ImU32 fg = mark   ? IM_COL32(20, 20, 20, 255)
                     : grey ? IM_COL32(140, 140, 140, 255)
                            : IM_COL32(235, 235, 235, 255);
    dl->AddRectFilled(p, ImVec2(p.x + w, p.y + ts.y + 2), bg, 3.0f);
    dl->AddText(ImVec2(p.x + pad, p.y + 1), fg, tokens[i].c_str());
    ImGui::Dummy(ImVec2(w, ts.y + 2));
    x += w;
    if (ImGui::IsItemHovered()) {
      if (mark && was && i < was->size() && !(*was)[i].empty())
        ImGui::SetTooltip("substituted: was '%s'", (*was)[i].c_str());
      else if (mark)
        ImGui::SetTooltip("put in by the attack");
      else if (grey)
        ImGui::SetTooltip("not in the vocabulary: the model reads it as <unk>");
    }
  }
  ImGui::EndChild();
}

void panel_sequence(App& app, Ui& ui) {
  const float em = ImGui::GetFontSize();
  ViewState s = app.state;
  bool changed = false;
  // The datasets the engine has (engine/eval/sequence_eval.h).
  for (const advx::SequenceTask& t : advx::sequence_tasks()) {
    if (&t != &advx::sequence_tasks().front()) ImGui::SameLine();
    if (ImGui::RadioButton(t.dataset.c_str(), s.seq_dataset == t.alias) && s.seq_dataset != t.alias) {
      s.seq_dataset = t.alias, s.seq_model.clear(), s.seq_test = 0, s.seq_text.clear();
      changed = true;
    }
    ui.mark(("seq_dataset_" + t.alias).c_str());
  }
  const std::vector<const ModelEntry*> models = app.seq_models();
  const std::string current = app.seq_model_name();
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - 3.5f * em);
  if (ImGui::BeginCombo("model##seq", current.empty() ? "(none shipped)" : current.c_str())) {
    for (const ModelEntry* e : models) {
      char label[160];
      std::snprintf(label, sizeof label, "%s  %.1f%%", e->name.c_str(), static_cast<double>(e->test_acc) * 100.0);
      if (ImGui::Selectable(label, e->name == current) && e->name != current) s.seq_model = e->name, changed = true;
    }
    ImGui::EndCombo();
  }
  ui.mark("seq_model");
  if (changed) {
    app.set_state(s);
    s = app.state;
    changed = false;
  }

  const bool trace = app.seq_task().edit == advx::SeqEdit::Insert;
  ImGui::TextUnformatted(trace ? "An API-call trace (names separated by spaces or new lines):"
                               : "An SMS (type or edit; the prediction follows every key):");
  // The box shows the view's text; typed text goes to the app at once.
  if (!ui.seq_text_active) ui.seq_text_replace = false;
  if (ui.seq_text != app.seq.text) {
    if (ui.seq_text_active)
      ui.seq_text_replace = true, ui.seq_text_external = app.seq.text;
    else
      ui.seq_text = app.seq.text;
  }
  if (ImGui::InputTextMultiline("##seq_text", ui.seq_text.data(), ui.seq_text.capacity() + 1,
                                ImVec2(-1, (trace ? 7.0f : 4.5f) * ImGui::GetTextLineHeight()),
                                ImGuiInputTextFlags_CallbackResize | ImGuiInputTextFlags_CallbackAlways, text_callback,
                                &ui))
    app.set_seq_text(ui.seq_text);  // (the same text again, after a replacement, changes nothing)
  ui.seq_text_active = ImGui::IsItemActive();
  ui.mark("seq_text");

  const advx::SequenceDataset* data = app.seq_data();
  if (data) {
    const int n = data->test.size();
    if (ImGui::Button("< previous")) app.load_seq_test((std::max(s.seq_test, 0) + n - 1) % n);
    ui.mark("seq_previous");
    ImGui::SameLine();
    if (ImGui::Button("next >")) app.load_seq_test((s.seq_test + 1) % n);
    ui.mark("seq_next");
    ImGui::SameLine();
    if (ImGui::Button("random")) app.random_seq_test();
    ui.mark("seq_random");
    ImGui::SameLine();
    if (s.seq_test >= 0 && app.seq.true_label >= 0)
      ImGui::Text("test sample #%d of %d: %s", s.seq_test, n,
                  data->class_names[static_cast<size_t>(app.seq.true_label)].c_str());
    else
      ImGui::TextDisabled("typed text (test samples: %d)", n);
  } else if (app.seq_data_status() == ModelStatus::kLoading) {
    ImGui::TextColored(kAccentColour, "Loading the %s test samples\u2026", app.seq_task().dataset.c_str());
  } else if (app.seq_data_status() == ModelStatus::kError) {
    ImGui::PushStyleColor(ImGuiCol_Text, kErrorColour);
    const DatasetEntry* d = app.models.find_dataset(app.seq_task().dataset);
    ImGui::TextWrapped("No test samples: %s", d ? d->error.c_str() : "the dataset is not shipped with this build");
    ImGui::PopStyleColor();
  } else {
    if (ImGui::Button("Pick a test sample")) {
      ViewState t = app.state;
      t.seq_test = 0;
      app.set_state(t);
    }
    ui.mark("seq_pick");
  }

  const ModelEntry* e = app.models.find(current);
  if (!e || e->status != ModelStatus::kReady) {
    if (e && e->status == ModelStatus::kError)
      ImGui::TextColored(kErrorColour, "Model '%s' could not be loaded: %s", e->name.c_str(), e->error.c_str());
    else if (e)
      ImGui::TextColored(kAccentColour, "Loading model '%s'\u2026", e->name.c_str());
    return;
  }
  const advx::EncodedText& in = app.seq.input;
  ImGui::Text("What the model reads: %d tokens", static_cast<int>(in.ids.size()));
  if (!in.unknown.empty()) {
    ImGui::SameLine();
    ImGui::TextDisabled("(%d grey: not in its vocabulary)", static_cast<int>(in.unknown.size()));
  }
  if (in.dropped > 0) ImGui::TextDisabled("%d more tokens are past the model's length and not read", in.dropped);
  token_chips("seq_tokens", in.tokens, {}, in.unknown, nullptr, 4.2f * ImGui::GetTextLineHeightWithSpacing());
  ui.mark("seq_tokens");
  const std::vector<std::string>& classes = e->codec.classes();
  const Prediction& p = app.seq.clean;
  if (p.top >= 0 && p.top < static_cast<int>(classes.size()))
    ImGui::Text("Prediction: %s  (%.1f%%)", classes[static_cast<size_t>(p.top)].c_str(),
                static_cast<double>(p.probs[static_cast<size_t>(p.top)]) * 100.0);
  else
    ImGui::TextUnformatted("Prediction: -");
  ui.mark("seq_pred");
  probability_bars(p, app.seq.true_label, ImGui::GetContentRegionAvail().x, classes);
}

}  // namespace play
