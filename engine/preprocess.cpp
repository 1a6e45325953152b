#include "engine/preprocess.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/error.h"
#include "engine/io/image.h"

namespace advx {

namespace {

// Height and width of a grey [1, H, W] or [1, 1, H, W] image; throws otherwise.
void grey_dims(const Tensor& img, int& h, int& w) {
  const bool ok3 = img.rank() == 3 && img.dim(0) == 1;
  const bool ok4 = img.rank() == 4 && img.dim(0) == 1 && img.dim(1) == 1;
  ADVX_REQUIRE(ok3 || ok4, "preprocess: expected a grey image [1, H, W] or [1, 1, H, W], got " + shape_str(img.shape));
  h = img.shape[img.shape.size() - 2];
  w = img.shape[img.shape.size() - 1];
  ADVX_REQUIRE(h > 0 && w > 0 && img.size() == static_cast<std::int64_t>(h) * w,
               "preprocess: image " + shape_str(img.shape) + " has " + std::to_string(img.size()) + " values");
}

}  // namespace

InkBox ink_bbox(const Tensor& img, float threshold) {
  int h = 0, w = 0;
  grey_dims(img, h, w);
  InkBox b{w, h, 0, 0};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (img.data[static_cast<size_t>(y) * w + x] > threshold) {
        b.x0 = std::min(b.x0, x);
        b.y0 = std::min(b.y0, y);
        b.x1 = std::max(b.x1, x + 1);
        b.y1 = std::max(b.y1, y + 1);
      }
    }
  }
  if (b.empty()) return InkBox{};
  return b;
}

Tensor crop_box(const Tensor& img, const InkBox& box) {
  int h = 0, w = 0;
  grey_dims(img, h, w);
  ADVX_REQUIRE(!box.empty() && box.x0 >= 0 && box.y0 >= 0 && box.x1 <= w && box.y1 <= h,
               "preprocess: crop box outside the " + std::to_string(h) + "x" + std::to_string(w) + " image");
  Tensor out({1, box.height(), box.width()});
  for (int y = 0; y < box.height(); ++y) {
    for (int x = 0; x < box.width(); ++x) {
      out.data[static_cast<size_t>(y) * box.width() + x] = img.data[static_cast<size_t>(y + box.y0) * w + (x + box.x0)];
    }
  }
  return out;
}

Tensor fit_to_box(const Tensor& img, int size) {
  int h = 0, w = 0;
  grey_dims(img, h, w);
  ADVX_REQUIRE(size > 0, "preprocess: fit size must be positive");
  const float scale = static_cast<float>(size) / static_cast<float>(std::max(h, w));
  const int oh = std::clamp(static_cast<int>(std::lround(static_cast<float>(h) * scale)), 1, size);
  const int ow = std::clamp(static_cast<int>(std::lround(static_cast<float>(w) * scale)), 1, size);
  Tensor flat = img;
  flat.shape = {1, h, w};
  if (oh == h && ow == w) return flat;
  return resize_image(flat, oh, ow);
}

void center_of_mass(const Tensor& img, float& cx, float& cy) {
  int h = 0, w = 0;
  grey_dims(img, h, w);
  double m = 0.0, sx = 0.0, sy = 0.0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double v = std::max(0.0f, img.data[static_cast<size_t>(y) * w + x]);
      m += v;
      sx += v * x;
      sy += v * y;
    }
  }
  if (m <= 0.0) {
    cx = static_cast<float>(w - 1) / 2.0f;
    cy = static_cast<float>(h - 1) / 2.0f;
    return;
  }
  cx = static_cast<float>(sx / m);
  cy = static_cast<float>(sy / m);
}

Tensor center_by_mass(const Tensor& img, int size, int* offset_x, int* offset_y) {
  int h = 0, w = 0;
  grey_dims(img, h, w);
  ADVX_REQUIRE(size > 0, "preprocess: output size must be positive");
  float cx = 0.0f, cy = 0.0f;
  center_of_mass(img, cx, cy);
  const float mid = static_cast<float>(size - 1) / 2.0f;
  const int ox = static_cast<int>(std::lround(mid - cx));
  const int oy = static_cast<int>(std::lround(mid - cy));
  Tensor out({1, size, size});
  for (int y = 0; y < h; ++y) {
    const int ty = y + oy;
    if (ty < 0 || ty >= size) continue;
    for (int x = 0; x < w; ++x) {
      const int tx = x + ox;
      if (tx < 0 || tx >= size) continue;
      out.data[static_cast<size_t>(ty) * size + tx] = img.data[static_cast<size_t>(y) * w + x];
    }
  }
  if (offset_x) *offset_x = ox;
  if (offset_y) *offset_y = oy;
  return out;
}

Tensor mnist_preprocess(const Tensor& img, const PreprocessOptions& opt, PreprocessInfo* info) {
  int h = 0, w = 0;
  grey_dims(img, h, w);
  ADVX_REQUIRE(opt.fit_size > 0 && opt.fit_size <= opt.out_size, "preprocess: need 0 < fit_size <= out_size");
  for (float v : img.data) ADVX_REQUIRE(std::isfinite(v), "preprocess: image has a NaN or infinite pixel");
  Shape out_shape = img.rank() == 4 ? Shape{1, 1, opt.out_size, opt.out_size} : Shape{1, opt.out_size, opt.out_size};
  PreprocessInfo local;
  local.box = ink_bbox(img, opt.ink_threshold);
  Tensor out;
  if (local.box.empty()) {
    out = Tensor({1, opt.out_size, opt.out_size});
  } else {
    Tensor fitted = fit_to_box(crop_box(img, local.box), opt.fit_size);
    local.scale =
        static_cast<float>(opt.fit_size) / static_cast<float>(std::max(local.box.width(), local.box.height()));
    local.fit_h = fitted.dim(1);
    local.fit_w = fitted.dim(2);
    center_of_mass(fitted, local.com_x, local.com_y);
    out = center_by_mass(fitted, opt.out_size, &local.offset_x, &local.offset_y);
  }
  for (float& v : out.data) v = std::clamp(v, 0.0f, 1.0f);
  out.shape = out_shape;
  if (info) *info = local;
  return out;
}

}  // namespace advx
