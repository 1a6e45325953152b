// The patch workbench panel (App::patch, frontend/app_patch.cpp): an adversarial patch (Brown, Mané,
// Roy, Abadi, Gilmer 2017, arXiv:1712.09665) painted with a brush (grey for MNIST, a colour for
// CIFAR-10), dragged over the input while the prediction follows, trained as a universal targeted
// patch with its loss and success per step, scored on held-out test images, exported and imported
// as PNG. The panel only draws and calls App's actions.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "engine/error.h"
#include "engine/io/file.h"
#include "frontend/colormap.h"
#include "frontend/panels.h"
#include "frontend/platform.h"

namespace play {

namespace {

// Per-step values as a line plot (ImGui's), with the last value in the overlay.
void history_plot(const char* id, const char* what, const std::vector<float>& v, float lo, float hi, float width) {
  char overlay[64];
  if (v.empty())
    std::snprintf(overlay, sizeof overlay, "%s: -", what);
  else
    std::snprintf(overlay, sizeof overlay, "%s %.3f (step %zu)", what, static_cast<double>(v.back()), v.size());
  ImGui::PlotLines(id, v.data(), static_cast<int>(v.size()), 0, overlay, lo, hi,
                   ImVec2(width, 3.5f * ImGui::GetFontSize()));
}

// The patch enlarged; dragging on it paints with the brush.
void patch_editor(App& app, Ui& ui, float side) {
  const advx::Tensor& p = app.patch.pixels;
  const int c = p.dim(0), s = p.dim(1);
  if (ui.images_dirty) ui.patch_tex.upload(image_rgba(p.ptr(), c, s, s), s, s);
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("patch_paint", ImVec2(side, side));
  ui.mark("patch_paint");
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddImage(ui.patch_tex.id(), p0, ImVec2(p0.x + side, p0.y + side));
  dl->AddRect(p0, ImVec2(p0.x + side, p0.y + side), IM_COL32(128, 128, 128, 255));
  if (ImGui::IsItemHovered()) ImGui::SetMouseCursor(ImGuiMouseCursor_Hand);
  if (ImGui::IsItemActive() && ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
    const ImVec2 m = ImGui::GetIO().MousePos;
    const float k = static_cast<float>(s) / side;
    const float a = std::clamp((m.y - p0.y) * k, 0.0f, static_cast<float>(s) - 1e-3f);
    const float b = std::clamp((m.x - p0.x) * k, 0.0f, static_cast<float>(s) - 1e-3f);
    float colour[3] = {ui.patch_colour[0], ui.patch_colour[c == 3 ? 1 : 0], ui.patch_colour[c == 3 ? 2 : 0]};
    app.paint_patch(a, b, ui.patch_brush, colour);
  }
}

// The input with the patch placed (what the model sees), enlarged; dragging moves the patch.
void placement_view(App& app, Ui& ui, float side) {
  const advx::Tensor& x = app.model_input();
  const int c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (ui.images_dirty) ui.patched_tex.upload(image_rgba(x.ptr(), c, h, w), w, h);
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("patch_place", ImVec2(side, side));
  ui.mark("patch_place");
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddImage(ui.patched_tex.id(), p0, ImVec2(p0.x + side, p0.y + side));
  dl->AddRect(p0, ImVec2(p0.x + side, p0.y + side), IM_COL32(128, 128, 128, 255));
  if (ImGui::IsItemHovered()) ImGui::SetMouseCursor(ImGuiMouseCursor_ResizeAll);
  if (ImGui::IsItemActive() && ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
    // Image pixel (i, j) is drawn over [j, j + 1) x [i, i + 1) (scaled); its centre is (i, j).
    const ImVec2 m = ImGui::GetIO().MousePos;
    patch_drag_to(app, p0, side, m.x, m.y);
  }
}

}  // namespace

bool patch_outline(const App& app, ImVec2 p0, float side) {
  // A drawing is preprocessed (fitted and centred) before the model sees it: the canvas's
  // coordinates are not the model's, so the outline (and dragging) is for given images only.
  if (!app.patch_on() || (app.drawable() && !app.exact_input)) return false;
  const advx::PatchPlacement& w = app.patch.where;
  const float k = side / static_cast<float>(app.input.dim(3));
  const double c = std::cos(w.angle), s = std::sin(w.angle), h = w.side / 2.0;
  ImVec2 corner[4];
  const double du[4] = {-h, h, h, -h}, dv[4] = {-h, -h, h, h};
  for (int i = 0; i < 4; ++i) {
    // The square's corner (du, dv) rotated by the angle, around the centre (pixel centres at +0.5).
    const double x = w.cx + c * du[i] - s * dv[i], y = w.cy + s * du[i] + c * dv[i];
    corner[i] = ImVec2(p0.x + static_cast<float>(x + 0.5) * k, p0.y + static_cast<float>(y + 0.5) * k);
  }
  ImGui::GetWindowDrawList()->AddPolyline(corner, 4, IM_COL32(230, 159, 0, 255), ImDrawFlags_Closed, 2.0f);
  return true;
}

void patch_drag_to(App& app, ImVec2 p0, float side, float x, float y) {
  const int h = app.input.dim(2), w = app.input.dim(3);
  const float px = std::clamp((x - p0.x) / side * static_cast<float>(w) - 0.5f, 0.0f, static_cast<float>(w - 1));
  const float py = std::clamp((y - p0.y) / side * static_cast<float>(h) - 0.5f, 0.0f, static_cast<float>(h - 1));
  if (px != app.state.patch_x || py != app.state.patch_y) app.place_patch(px, py, app.state.patch_angle);
}

void panel_patch(App& app, Ui& ui) {
  const float em = ImGui::GetFontSize();
  PatchView& p = app.patch;
  const std::vector<std::string> names = app.class_names();
  const bool colour = app.input_shape()[0] == 3;
  if (app.state.patch.empty()) {
    ImGui::TextWrapped(
        "A patch the model takes for the target class wherever it is put (Brown et al. 2017): paint one, "
        "or train one on many training images, then drop it on any image.");
    if (ImGui::Button("New random patch")) app.fill_patch(true);
    ui.mark("patch_new");
    ImGui::SameLine();
    if (ImGui::Button("New blank patch")) app.fill_patch(false);
    ImGui::SameLine();
    if (ImGui::Button("Import patch PNG...") && !open_file_picker("patch")) ImGui::OpenPopup("import_patch");
  } else {
    // Size (share of the image area) and target.
    ImGui::TextUnformatted("size");
    for (float size : {0.05f, 0.1f, 0.2f}) {
      char label[16];
      std::snprintf(label, sizeof label, "%.0f%%", static_cast<double>(size) * 100.0);
      ImGui::SameLine();
      if (ImGui::RadioButton(label, std::abs(app.state.patch_size - size) < 1e-4f)) app.set_patch_size(size);
    }
    ImGui::SameLine();
    ImGui::TextDisabled("(%dx%d px)", p.pixels.dim(1), p.pixels.dim(1));
    ImGui::SameLine();
    ImGui::SetNextItemWidth(7.0f * em);
    const int t = app.state.patch_target;
    if (ImGui::BeginCombo("target",
                          t >= 0 && t < static_cast<int>(names.size()) ? names[static_cast<size_t>(t)].c_str() : "?")) {
      for (int k = 0; k < static_cast<int>(names.size()); ++k)
        if (ImGui::Selectable(names[static_cast<size_t>(k)].c_str(), k == t)) app.set_patch_target(k);
      ImGui::EndCombo();
    }
    ui.mark("patch_target");

    // The patch (paint on it) and the patched input (drag the patch on it).
    const float side = std::min(11.0f * em, 0.5f * (ImGui::GetContentRegionAvail().x - em));
    ImGui::BeginGroup();
    ImGui::TextUnformatted("paint");
    patch_editor(app, ui, side);
    ImGui::EndGroup();
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::TextUnformatted("drag it (the model sees this)");
    placement_view(app, ui, side);
    ImGui::EndGroup();

    // Brush, fills, angle.
    ImGui::SetNextItemWidth(7.0f * em);
    if (colour)
      ImGui::ColorEdit3("colour", ui.patch_colour, ImGuiColorEditFlags_NoInputs);
    else
      ImGui::SliderFloat("grey", &ui.patch_colour[0], 0.0f, 1.0f, "%.2f");
    ui.mark("patch_colour");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(6.0f * em);
    ImGui::SliderFloat("brush", &ui.patch_brush, 0.3f, 4.0f, "%.1f px");
    if (ImGui::Button("Clear")) app.fill_patch(false);
    ImGui::SameLine();
    if (ImGui::Button("Random")) app.fill_patch(true);
    ImGui::SameLine();
    if (ImGui::Button("Remove")) app.remove_patch();
    ui.mark("patch_remove");
    ImGui::SameLine();
    ImGui::Checkbox("drag on input", &ui.patch_on_input);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip(
          "drag the patch on the input image too (a test image or an imported one; a drawing is "
          "preprocessed first, so drag it here)");
    // A universal patch keeps working on other images: try it on one.
    if (ImGui::Button("Other test image")) app.random_test_image();
    float angle = app.state.patch_angle;
    ImGui::SetNextItemWidth(10.0f * em);
    if (ImGui::SliderFloat("angle", &angle, -180.0f, 180.0f, "%.0f deg"))
      app.place_patch(app.state.patch_x < 0 ? static_cast<float>(p.where.cx) : app.state.patch_x,
                      app.state.patch_y < 0 ? static_cast<float>(p.where.cy) : app.state.patch_y, angle);
    if (app.clean.top >= 0 && app.clean.top < static_cast<int>(names.size())) {
      ImGui::SameLine();
      const bool hit = app.clean.top == app.state.patch_target;
      ImGui::TextColored(hit ? kErrorColour : ImGui::GetStyleColorVec4(ImGuiCol_Text), "model: %s (%.0f%%)",
                         names[static_cast<size_t>(app.clean.top)].c_str(),
                         static_cast<double>(app.clean.probs[static_cast<size_t>(app.clean.top)]) * 100.0);
    }

    // Training.
    const bool live = p.trainer && p.trainer->steps() < p.goal;
    if (!live && p.waiting.empty()) {
      ImGui::SetNextItemWidth(8.0f * em);
      ImGui::SliderInt("steps", &ui.patch_steps, 10, 2000, "%d steps", ImGuiSliderFlags_Logarithmic);
      ImGui::SameLine();
      if (ImGui::Button(p.trainer ? "Train more" : "Train")) app.train_patch(ui.patch_steps);
      ui.mark("patch_train");
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip(
            "Adam on the patch's pixels over %d training images at random placements (position, "
            "+-20 deg, +-10%% size), %d a step: a universal patch towards '%s'",
            App::kPatchTrainImages, App::kPatchBatch,
            names[static_cast<size_t>(std::clamp(app.state.patch_target, 0, static_cast<int>(names.size()) - 1))]
                .c_str());
    } else {
      if (ImGui::Button(p.paused ? "Resume" : "Pause")) app.pause_patch(!p.paused);
      ui.mark("patch_pause");
      ImGui::SameLine();
      if (ImGui::Button("Stop")) app.stop_patch_training();
      if (p.trainer) {
        ImGui::SameLine();
        char buf[64];
        std::snprintf(buf, sizeof buf, "step %d/%d  %.1f ms/step", p.trainer->steps(), p.goal, p.step_ms);
        ImGui::ProgressBar(static_cast<float>(p.trainer->steps()) / static_cast<float>(std::max(p.goal, 1)),
                           ImVec2(-1.0f, 0.0f), buf);
      }
    }
    if (!p.waiting.empty()) ImGui::TextWrapped("%s...", p.waiting.c_str());
    if (!p.error.empty()) ImGui::TextColored(kErrorColour, "%s", p.error.c_str());
    if (!p.history.empty()) {
      std::vector<float> loss, success;
      for (const advx::PatchStepStats& st : p.history)
        loss.push_back(static_cast<float>(st.loss)), success.push_back(static_cast<float>(st.success));
      const float w = 0.5f * (ImGui::GetContentRegionAvail().x - em);
      float hi = 0.0f;
      for (float v : loss) hi = std::max(hi, v);
      history_plot("##patch_loss", "loss", loss, 0.0f, hi, w);
      ImGui::SameLine();
      history_plot("##patch_success", "success", success, 0.0f, 1.0f, w);
      ui.mark("patch_plots");
    }
    // Held out: the engine's patch evaluation (advx patch eval) on test images.
    if (p.success >= 0.0)
      ImGui::TextWrapped(
          "on %d held-out test images at random placements: %.1f%% taken for '%s' (of %d)",
          std::min(App::kPatchHeldOut, app.samples().size()), p.success * 100.0,
          names[static_cast<size_t>(std::clamp(app.state.patch_target, 0, static_cast<int>(names.size()) - 1))].c_str(),
          p.attacked);
    else if (p.eval)
      ImGui::TextDisabled("scoring it on %d held-out test images...", App::kPatchHeldOut);
    ui.mark("patch_heldout");

    // Files.
    if (ImGui::Button("Export PNG")) app.notice = offer_download("advx-patch.png", app.patch_png(1));
    ui.mark("patch_export");
    ImGui::SameLine();
    if (ImGui::Button("Printable PNG (8x)")) app.notice = offer_download("advx-patch-print.png", app.patch_png(8));
    ImGui::SameLine();
    if (ImGui::Button("Import...") && !open_file_picker("patch")) ImGui::OpenPopup("import_patch");
  }
  if (ImGui::BeginPopup("import_patch")) {
    ImGui::TextUnformatted("Patch PNG path (or drop it on the window):");
    char buf[512] = {};
    ui.import_path.copy(buf, sizeof buf - 1);
    ImGui::SetNextItemWidth(18.0f * em);
    if (ImGui::InputText("##patchpath", buf, sizeof buf)) ui.import_path = buf;
    if (ImGui::Button("Load")) {
      try {
        app.import_patch_png(advx::read_file(ui.import_path), ui.import_path);
      } catch (const advx::Error& e) {
        app.error = e.what();
      }
      ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
  }
}

}  // namespace play
