// MNIST-style preprocessing of a drawn grey image (LeCun et al.'s recipe for MNIST): crop the ink's
// bounding box, scale it to fit a 20x20 box keeping the aspect ratio (anti-aliased), then place it in
// a 28x28 field so that its centre of mass is at the field's centre.
// Pure functions on grey images: [1, H, W] or [1, 1, H, W] (the result keeps the input's rank),
// white ink (1) on black (0).
#pragma once
#include "engine/tensor.h"

namespace advx {

// Half-open pixel box [x0, x1) x [y0, y1).
struct InkBox {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};

struct PreprocessOptions {
  int out_size = 28;            // output field (square)
  int fit_size = 20;            // the ink's longer side is scaled to this
  float ink_threshold = 0.05f;  // pixels above this count as ink for the bounding box
};

// What mnist_preprocess did, for showing the steps.
struct PreprocessInfo {
  InkBox box;          // ink bounding box in the input
  float scale = 0.0f;  // input pixels -> fitted pixels
  int fit_w = 0, fit_h = 0;
  float com_x = 0.0f, com_y = 0.0f;  // centre of mass of the fitted image (pixel-index coordinates)
  int offset_x = 0, offset_y = 0;    // where the fitted image's (0, 0) lands in the output
};

// Smallest box holding every pixel > threshold; empty box if there is none.
InkBox ink_bbox(const Tensor& img, float threshold);
// The box's pixels as [1, h, w]. Throws advx::Error if the box is empty or outside the image.
Tensor crop_box(const Tensor& img, const InkBox& box);
// Scales [1, h, w] so that max(h, w) == size, keeping the aspect ratio, through resize_image
// (engine/io/image.h: area averaging when shrinking, bilinear when enlarging). Returns [1, h', w'].
Tensor fit_to_box(const Tensor& img, int size);
// Intensity-weighted mean pixel position (index coordinates: pixel i's centre is at i). The image's
// centre if it has no mass.
void center_of_mass(const Tensor& img, float& cx, float& cy);
// Places [1, h, w] into a [1, size, size] zero field with its centre of mass at the field's centre
// (rounded to whole pixels, as MNIST did); parts that fall outside are cut.
Tensor center_by_mass(const Tensor& img, int size, int* offset_x = nullptr, int* offset_y = nullptr);

// The whole recipe. An image without ink gives an all-zero output. Values stay in [0, 1].
Tensor mnist_preprocess(const Tensor& img, const PreprocessOptions& opt = {}, PreprocessInfo* info = nullptr);

}  // namespace advx
