// Flow layout: panels placed left to right, wrapping to a new row when the next one does not fit
// (like CSS flex-wrap), so the playground adapts from a phone-width iframe to a wide screen.
#pragma once
#include <vector>

namespace play {

struct Box {
  float x = 0, y = 0, w = 0, h = 0;
};

// sizes: preferred (w, h) per panel; avail_w: available width; gap: spacing.
// Panels wider than avail_w are shrunk to it. Returns one box per panel.
std::vector<Box> flow_layout(const std::vector<Box>& sizes, float avail_w, float gap);

}  // namespace play
