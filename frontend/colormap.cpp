#include "frontend/colormap.h"

#include <algorithm>
#include <cmath>

namespace play {

std::array<std::uint8_t, 3> diverging(float t) {
  // ColorBrewer PuOr (11-class ends and middle), reversed so that positive is orange.
  static const float stops[5][3] = {{45, 0, 75}, {128, 115, 172}, {247, 247, 247}, {253, 184, 99}, {127, 59, 8}};
  const float u = (std::clamp(t, -1.0f, 1.0f) + 1.0f) * 2.0f;  // [0, 4]
  const int i = std::min(3, static_cast<int>(std::floor(u)));
  const float f = u - static_cast<float>(i);
  std::array<std::uint8_t, 3> c{};
  for (int k = 0; k < 3; ++k)
    c[static_cast<size_t>(k)] = static_cast<std::uint8_t>(std::lround(stops[i][k] * (1 - f) + stops[i + 1][k] * f));
  return c;
}

std::vector<std::uint8_t> grey_rgba(const float* px, std::size_t n) {
  std::vector<std::uint8_t> out(n * 4);
  for (size_t i = 0; i < n; ++i) {
    const auto g = static_cast<std::uint8_t>(std::lround(std::clamp(px[i], 0.0f, 1.0f) * 255.0f));
    out[4 * i] = out[4 * i + 1] = out[4 * i + 2] = g;
    out[4 * i + 3] = 255;
  }
  return out;
}

std::vector<std::uint8_t> diverging_rgba(const float* values, std::size_t n, float range) {
  std::vector<std::uint8_t> out(n * 4);
  const float r = range > 0.0f ? range : 1.0f;
  for (size_t i = 0; i < n; ++i) {
    const auto c = diverging(values[i] / r);
    out[4 * i] = c[0];
    out[4 * i + 1] = c[1];
    out[4 * i + 2] = c[2];
    out[4 * i + 3] = 255;
  }
  return out;
}

std::vector<std::uint8_t> image_rgba(const float* chw, int channels, int h, int w) {
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  if (channels != 3) return grey_rgba(chw, plane);
  std::vector<std::uint8_t> out(plane * 4);
  for (std::size_t p = 0; p < plane; ++p) {
    for (std::size_t c = 0; c < 3; ++c) {
      const float v = std::min(std::max(chw[c * plane + p], 0.0f), 1.0f);
      out[p * 4 + c] = static_cast<std::uint8_t>(v * 255.0f + 0.5f);
    }
    out[p * 4 + 3] = 255;
  }
  return out;
}

std::vector<std::uint8_t> delta_rgba(const float* chw, int channels, int h, int w, float range) {
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  if (channels != 3) return diverging_rgba(chw, plane, range);
  std::vector<float> shifted(plane * 3);
  for (std::size_t i = 0; i < shifted.size(); ++i) shifted[i] = 0.5f + 0.5f * chw[i] / std::max(range, 1e-6f);
  return image_rgba(shifted.data(), 3, h, w);
}

}  // namespace play
