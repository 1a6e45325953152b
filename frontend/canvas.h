// The drawing surface: a square grey buffer painted with an anti-aliased round brush.
// Pure data (no ImGui): the input panel feeds it strokes in canvas pixel coordinates.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace play {

class Canvas {
 public:
  static constexpr int kSize = 112;  // 4x MNIST's 28, so strokes are smooth before preprocessing

  Canvas() : px_(kSize * kSize, 0.0f) {}
  void clear();
  // Paints (or erases) a capsule from (x0, y0) to (x1, y1) of the given radius; coordinates in
  // canvas pixels (pixel i covers [i, i+1)).
  void stroke(float x0, float y0, float x1, float y1, float radius, bool erase);
  // Shows a [.., 28, 28] image enlarged (nearest) so the user can draw over it.
  void set_image(const advx::Tensor& img);
  advx::Tensor image() const;  // [1, kSize, kSize]
  bool empty() const;
  const std::vector<float>& pixels() const { return px_; }
  int version() const { return version_; }  // bumps on every change

 private:
  std::vector<float> px_;
  int version_ = 0;
};

}  // namespace play
