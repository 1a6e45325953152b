// Input panel: the drawing canvas (mouse, touch, pen), brush and eraser, test images, PNG import.
#include <algorithm>

#include "engine/error.h"
#include "engine/io/file.h"
#include "frontend/colormap.h"
#include "frontend/panels.h"
#include "frontend/platform.h"

namespace play {

namespace {

// Datasets that are not drawn (CIFAR-10's colour images): the test image, browsing, import.
void photo_input(App& app, Ui& ui) {
  const float em = ImGui::GetFontSize();
  const std::vector<std::string> names = app.class_names();
  ImGui::Text("A %s test image", app.dataset().c_str());
  const float side = std::min(ImGui::GetContentRegionAvail().x, 18.0f * em);
  const int c = app.input.dim(1), h = app.input.dim(2), w = app.input.dim(3);
  if (ui.images_dirty) ui.photo_tex.upload(image_rgba(app.input.ptr(), c, h, w), w, h);
  image_with_border(ui.photo_tex, side);
  // The adversarial patch's place (panel_patch.cpp): outlined, and dragged here when asked.
  const ImVec2 p0 = ImGui::GetItemRectMin();
  if (patch_outline(app, p0, side) && ui.patch_on_input && ImGui::IsItemHovered() &&
      ImGui::IsMouseDown(ImGuiMouseButton_Left))
    patch_drag_to(app, p0, side, ImGui::GetIO().MousePos.x, ImGui::GetIO().MousePos.y);
  ui.canvas_min = ui.canvas_max = ImVec2(0, 0);
  if (app.samples().size() == 0) {
    ImGui::TextColored(kAccentColour, "Loading the %s test images\u2026", app.dataset().c_str());
    return;
  }
  const int n = app.samples().size();
  if (ImGui::Button("< previous")) app.load_test_image((std::max(app.state.test_index, 0) + n - 1) % n);
  ui.mark("previous");
  ImGui::SameLine();
  if (ImGui::Button("next >")) app.load_test_image((app.state.test_index + 1) % n);
  ui.mark("next");
  ImGui::SameLine();
  if (ImGui::Button("Random (R)")) app.random_test_image();
  ui.mark("random");
  if (app.state.test_index >= 0 && app.true_label >= 0)
    ImGui::Text("test image #%d, label %s", app.state.test_index, names[static_cast<size_t>(app.true_label)].c_str());
  else
    ImGui::TextUnformatted("Given image (imported or from the URL)");
  ImGui::TextDisabled("Drawing is for MNIST digits; import a PNG to try your own picture.");
}

}  // namespace

void panel_input(App& app, Ui& ui) {
  const float em = ImGui::GetFontSize();
  if (!app.drawable()) {
    photo_input(app, ui);
  } else {
    draw_input(app, ui);
  }
  if (ImGui::Button("Import PNG...")) {
    if (!open_file_picker()) ImGui::OpenPopup("import");
  }
  ImGui::SameLine();
  if (ImGui::Button("Export input PNG")) app.notice = offer_download("advx-input.png", app.input_png());
  if (ImGui::BeginPopup("import")) {
    ImGui::TextUnformatted("PNG path (or drop a file on the window):");
    char buf[512] = {};
    ui.import_path.copy(buf, sizeof buf - 1);
    ImGui::SetNextItemWidth(18.0f * em);
    if (ImGui::InputText("##path", buf, sizeof buf)) ui.import_path = buf;
    if (ImGui::Button("Load")) {
      try {
        app.import_png(advx::read_file(ui.import_path), ui.import_path);
      } catch (const advx::Error& e) {
        app.error = e.what();
      }
      ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
  }
}

void draw_input(App& app, Ui& ui) {
  ImGui::TextUnformatted("Draw a digit");
  const float em = ImGui::GetFontSize();
  const float side = std::min(ImGui::GetContentRegionAvail().x, 18.0f * em);
  if (ui.canvas_version != app.canvas.version()) {
    ui.canvas_version = app.canvas.version();
    ui.canvas_tex.upload(grey_rgba(app.canvas.pixels().data(), app.canvas.pixels().size()), Canvas::kSize,
                         Canvas::kSize);
  }
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("canvas", ImVec2(side, side));
  ui.mark("canvas");
  if (ImGui::IsItemHovered()) ImGui::SetMouseCursor(ImGuiMouseCursor_Hand);
  ui.canvas_min = p0;
  ui.canvas_max = ImVec2(p0.x + side, p0.y + side);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddImage(ui.canvas_tex.id(), ui.canvas_min, ui.canvas_max);
  dl->AddRect(ui.canvas_min, ui.canvas_max, IM_COL32(128, 128, 128, 255));
  patch_outline(app, ui.canvas_min, side);  // the adversarial patch's place, on a given image
  // The preprocessing's ink box.
  if (app.state.preprocess && !app.exact_input && !app.prep.box.empty()) {
    const float k = side / static_cast<float>(Canvas::kSize);
    dl->AddRect(ImVec2(p0.x + static_cast<float>(app.prep.box.x0) * k, p0.y + static_cast<float>(app.prep.box.y0) * k),
                ImVec2(p0.x + static_cast<float>(app.prep.box.x1) * k, p0.y + static_cast<float>(app.prep.box.y1) * k),
                IM_COL32(230, 159, 0, 200));
  }

  if (ImGui::Button("Clear (C)")) app.clear_input();
  ui.mark("clear");
  ImGui::SameLine();
  if (ImGui::Button("Random test image (R)")) app.random_test_image();
  ui.mark("random");
  ImGui::Checkbox("Eraser (E)", &app.erase);
  ui.mark("eraser");
  ImGui::SameLine();
  bool pre = app.state.preprocess;
  if (ImGui::Checkbox("MNIST preprocessing", &pre)) {
    ViewState s = app.state;
    s.preprocess = pre;
    app.set_state(s);
  }
  ui.mark("preprocess");
  ImGui::SetNextItemWidth(10.0f * em);
  ImGui::SliderFloat("brush  ([ ])", &app.state.brush, 1.0f, 10.0f, "%.1f px", ImGuiSliderFlags_AlwaysClamp);
  ui.mark("brush");

  if (app.state.test_index >= 0)
    ImGui::Text("MNIST test image #%d, label %d", app.state.test_index, app.true_label);
  else if (app.exact_input)
    ImGui::TextUnformatted("Given 28x28 image (no preprocessing)");
  else
    ImGui::TextUnformatted(app.canvas.empty() ? "Empty canvas" : "Your drawing");
}

bool canvas_pointer(App& app, Ui& ui, int kind, float x, float y) {
  const float side = ui.canvas_max.x - ui.canvas_min.x;
  if (side <= 0) return false;
  const float k = static_cast<float>(Canvas::kSize) / side;
  const ImVec2 p((x - ui.canvas_min.x) * k, (y - ui.canvas_min.y) * k);
  const bool inside = x >= ui.canvas_min.x && x < ui.canvas_max.x && y >= ui.canvas_min.y && y < ui.canvas_max.y;
  // With an adversarial patch on a given image (not a drawing, which is preprocessed first), the
  // pointer drags the patch instead of painting (panel_patch.cpp's "drag on input").
  if (ui.patch_on_input && app.patch_on() && app.exact_input && !ui.drawing) {
    if (kind == 0 && inside) ui.patch_dragging = true;
    if (ui.patch_dragging) patch_drag_to(app, ui.canvas_min, side, x, y);
    if (kind == 2) ui.patch_dragging = false;
    return false;
  }
  if (kind == 0) {  // button down
    if (!inside) return false;
    ui.drawing = true;
    ui.last = p;
    app.canvas.stroke(p.x, p.y, p.x, p.y, app.state.brush, app.erase);
    return true;
  }
  if (!ui.drawing) return false;
  app.canvas.stroke(ui.last.x, ui.last.y, p.x, p.y, app.state.brush, app.erase);
  ui.last = p;
  if (kind == 2) ui.drawing = false;
  return true;
}

}  // namespace play
