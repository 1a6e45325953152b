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

}  // namespace play
