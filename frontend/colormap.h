// Colour maps for images: grey for pixels, and a colour-blind-safe diverging map (ColorBrewer PuOr:
// purple = darker, orange = brighter) for signed perturbations.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace play {

// t in [-1, 1] -> RGB (PuOr: -1 dark purple, 0 near white, +1 dark orange).
std::array<std::uint8_t, 3> diverging(float t);
// n grey [0, 1] pixels -> RGBA8.
std::vector<std::uint8_t> grey_rgba(const float* px, std::size_t n);
// n signed values; `range` maps to the ends of the colour map (amplification = 1 / range).
std::vector<std::uint8_t> diverging_rgba(const float* values, std::size_t n, float range);
// An image [.., C, H, W] (C = 1 grey or 3 RGB, values in [0, 1]) -> RGBA8 of its H x W pixels.
std::vector<std::uint8_t> image_rgba(const float* chw, int channels, int h, int w);
// A signed perturbation [.., C, H, W]: grey images through the diverging map; colour ones per
// channel around mid-grey (0.5 + 0.5 * value / range), so the hue shows which channel moved.
std::vector<std::uint8_t> delta_rgba(const float* chw, int channels, int h, int w, float range);

}  // namespace play
