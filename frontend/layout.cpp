#include "frontend/layout.h"

#include <algorithm>

namespace play {

std::vector<Box> flow_layout(const std::vector<Box>& sizes, float avail_w, float gap) {
  std::vector<Box> out;
  float x = 0, y = 0, row_h = 0;
  for (const Box& s : sizes) {
    Box b = s;
    b.w = std::min(b.w, std::max(avail_w, 1.0f));
    if (x > 0 && x + b.w > avail_w) {
      x = 0;
      y += row_h + gap;
      row_h = 0;
    }
    b.x = x;
    b.y = y;
    x += b.w + gap;
    row_h = std::max(row_h, b.h);
    out.push_back(b);
  }
  return out;
}

}  // namespace play
