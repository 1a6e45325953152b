#include "frontend/canvas.h"

#include <algorithm>
#include <cmath>

namespace play {

void Canvas::clear() {
  std::fill(px_.begin(), px_.end(), 0.0f);
  ++version_;
}

void Canvas::stroke(float x0, float y0, float x1, float y1, float radius, bool erase) {
  const float r = std::max(radius, 0.25f);
  const int bx0 = std::max(0, static_cast<int>(std::floor(std::min(x0, x1) - r - 1)));
  const int by0 = std::max(0, static_cast<int>(std::floor(std::min(y0, y1) - r - 1)));
  const int bx1 = std::min(kSize, static_cast<int>(std::ceil(std::max(x0, x1) + r + 1)));
  const int by1 = std::min(kSize, static_cast<int>(std::ceil(std::max(y0, y1) + r + 1)));
  const float dx = x1 - x0, dy = y1 - y0;
  const float len2 = dx * dx + dy * dy;
  for (int y = by0; y < by1; ++y) {
    for (int x = bx0; x < bx1; ++x) {
      const float px = static_cast<float>(x) + 0.5f, py = static_cast<float>(y) + 0.5f;
      float t = len2 > 0.0f ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0.0f;
      t = std::clamp(t, 0.0f, 1.0f);
      const float ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
      const float cover = std::clamp(r + 0.5f - std::sqrt(ex * ex + ey * ey), 0.0f, 1.0f);
      if (cover <= 0.0f) continue;
      float& v = px_[static_cast<size_t>(y) * kSize + x];
      v = erase ? std::min(v, 1.0f - cover) : std::max(v, cover);
    }
  }
  ++version_;
}

void Canvas::set_image(const advx::Tensor& img) {
  const int h = img.shape.size() >= 2 ? img.shape[img.shape.size() - 2] : 0;
  const int w = img.shape.empty() ? 0 : img.shape.back();
  std::fill(px_.begin(), px_.end(), 0.0f);
  if (h > 0 && w > 0 && img.size() >= static_cast<std::int64_t>(h) * w) {
    for (int y = 0; y < kSize; ++y)
      for (int x = 0; x < kSize; ++x)
        px_[static_cast<size_t>(y) * kSize + x] = img.data[static_cast<size_t>(y * h / kSize) * w + x * w / kSize];
  }
  ++version_;
}

advx::Tensor Canvas::image() const {
  advx::Tensor t({1, kSize, kSize});
  t.data.assign(px_.begin(), px_.end());
  return t;
}

bool Canvas::empty() const {
  return std::all_of(px_.begin(), px_.end(), [](float v) { return v <= 0.0f; });
}

}  // namespace play
