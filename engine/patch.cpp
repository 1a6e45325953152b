#include "engine/patch.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/error.h"

namespace advx {

void PatchApplier::place(const std::vector<PatchPlacement>& where, int channels, int height, int width,
                         int patch_size) {
  ADVX_REQUIRE(channels >= 1 && height >= 1 && width >= 1,
               "patch: the image shape must be positive, got [" + std::to_string(channels) + ", " +
                   std::to_string(height) + ", " + std::to_string(width) + "]");
  ADVX_REQUIRE(patch_size >= 1, "patch: the patch must be at least 1 x 1 pixels, got " + std::to_string(patch_size));
  image_ = {channels, height, width};
  s_ = patch_size;
  taps_.clear();
  first_.assign(1, 0);
  const double c = (s_ - 1) / 2.0, lo = -0.5, hi = s_ - 0.5;
  for (const PatchPlacement& p : where) {
    ADVX_REQUIRE(
        std::isfinite(p.cy) && std::isfinite(p.cx) && std::isfinite(p.angle) && std::isfinite(p.side) && p.side > 0.0,
        "patch placement: centre, angle and side must be finite and the side > 0");
    const double k = p.side / s_, cs = std::cos(p.angle), sn = std::sin(p.angle);
    // The rotated square lies within cy, cx +- e; one pixel of margin for rounding.
    const double e = p.side / 2.0 * (std::fabs(cs) + std::fabs(sn)) + 1.0;
    const int i0 = std::max(0, static_cast<int>(std::floor(p.cy - e)));
    const int i1 = std::min(height - 1, static_cast<int>(std::ceil(p.cy + e)));
    const int j0 = std::max(0, static_cast<int>(std::floor(p.cx - e)));
    const int j1 = std::min(width - 1, static_cast<int>(std::ceil(p.cx + e)));
    for (int i = i0; i <= i1; ++i)
      for (int j = j0; j <= j1; ++j) {
        const double dy = i - p.cy, dx = j - p.cx;
        const double pb = (cs * dx + sn * dy) / k + c;             // patch column
        const double pa = (-sn * dx + cs * dy) / k + c;            // patch row
        if (pa < lo || pa >= hi || pb < lo || pb >= hi) continue;  // outside the mask
        // Bilinear taps, clamped to the patch's pixel centres [0, S - 1].
        const double ua = std::clamp(pa, 0.0, static_cast<double>(s_ - 1));
        const double ub = std::clamp(pb, 0.0, static_cast<double>(s_ - 1));
        const int a0 = std::min(static_cast<int>(ua), s_ - 1), b0 = std::min(static_cast<int>(ub), s_ - 1);
        const int a1 = std::min(a0 + 1, s_ - 1), b1 = std::min(b0 + 1, s_ - 1);
        const auto fa = static_cast<float>(ua - a0), fb = static_cast<float>(ub - b0);
        Tap t{};
        t.pixel = i * width + j;
        t.idx[0] = a0 * s_ + b0, t.w[0] = (1.0f - fa) * (1.0f - fb);
        t.idx[1] = a0 * s_ + b1, t.w[1] = (1.0f - fa) * fb;
        t.idx[2] = a1 * s_ + b0, t.w[2] = fa * (1.0f - fb);
        t.idx[3] = a1 * s_ + b1, t.w[3] = fa * fb;
        taps_.push_back(t);
      }
    first_.push_back(static_cast<int>(taps_.size()));
  }
}

void PatchApplier::check(const Tensor& x, const char* what) const {
  ADVX_REQUIRE(!image_.empty(), "patch: place() the patch before applying it");
  ADVX_REQUIRE(x.rank() == 4 && x.dim(0) == samples() && Shape(x.shape.begin() + 1, x.shape.end()) == image_,
               std::string("patch: ") + what + " must be [" + std::to_string(samples()) + ", " +
                   std::to_string(image_[0]) + ", " + std::to_string(image_[1]) + ", " + std::to_string(image_[2]) +
                   "] (one image per placement), got " + shape_str(x.shape));
}

void PatchApplier::forward(const Tensor& patch, const Tensor& x, Tensor& y) const {
  check(x, "the images");
  ADVX_REQUIRE(patch.shape == Shape({image_[0], s_, s_}),
               "patch: the patch must be [" + std::to_string(image_[0]) + ", " + std::to_string(s_) + ", " +
                   std::to_string(s_) + "] (channels of the image), got " + shape_str(patch.shape));
  y = x;  // outside the mask, y = x exactly
  const int ch = image_[0];
  const std::int64_t plane = static_cast<std::int64_t>(image_[1]) * image_[2],
                     pplane = static_cast<std::int64_t>(s_) * s_;
  for (int n = 0; n < samples(); ++n) {
    float* yn = y.ptr() + n * ch * plane;
    for (int t = first_[static_cast<size_t>(n)]; t < first_[static_cast<size_t>(n) + 1]; ++t) {
      const Tap& tp = taps_[static_cast<size_t>(t)];
      for (int c = 0; c < ch; ++c) {
        const float* p = patch.ptr() + c * pplane;
        const float v =
            tp.w[0] * p[tp.idx[0]] + tp.w[1] * p[tp.idx[1]] + tp.w[2] * p[tp.idx[2]] + tp.w[3] * p[tp.idx[3]];
        yn[c * plane + tp.pixel] = std::clamp(v, 0.0f, 1.0f);  // a convex combination: the clamp only rounds
      }
    }
  }
}

void PatchApplier::backward(const Tensor& dy, Tensor* dx, Tensor* dpatch) const {
  check(dy, "the output gradient");
  const int ch = image_[0];
  const std::int64_t plane = static_cast<std::int64_t>(image_[1]) * image_[2],
                     pplane = static_cast<std::int64_t>(s_) * s_;
  if (dpatch) {
    if (dpatch->shape != Shape({ch, s_, s_})) {
      dpatch->resize({ch, s_, s_});
      dpatch->fill(0.0f);
    }
    // dL/dP[c, idx_k] += w_k * dL/dy[c, q] over every covered pixel q of every sample.
    for (int n = 0; n < samples(); ++n) {
      const float* g = dy.ptr() + n * ch * plane;
      for (int t = first_[static_cast<size_t>(n)]; t < first_[static_cast<size_t>(n) + 1]; ++t) {
        const Tap& tp = taps_[static_cast<size_t>(t)];
        for (int c = 0; c < ch; ++c) {
          float* d = dpatch->ptr() + c * pplane;
          const float gv = g[c * plane + tp.pixel];
          for (int k = 0; k < 4; ++k) d[tp.idx[k]] += tp.w[k] * gv;
        }
      }
    }
  }
  if (dx) {
    *dx = dy;  // dL/dx = (1 - M) dL/dy: the image's own pixels pass the gradient, covered ones do not
    for (int n = 0; n < samples(); ++n) {
      float* d = dx->ptr() + n * ch * plane;
      for (int t = first_[static_cast<size_t>(n)]; t < first_[static_cast<size_t>(n) + 1]; ++t)
        for (int c = 0; c < ch; ++c) d[c * plane + taps_[static_cast<size_t>(t)].pixel] = 0.0f;
    }
  }
}

std::vector<int> PatchApplier::covered(int n) const {
  ADVX_REQUIRE(n >= 0 && n < samples(), "patch: no placement " + std::to_string(n));
  std::vector<int> out;
  for (int t = first_[static_cast<size_t>(n)]; t < first_[static_cast<size_t>(n) + 1]; ++t)
    out.push_back(taps_[static_cast<size_t>(t)].pixel);
  return out;
}

void check_eot(const PatchEot& e) {
  ADVX_REQUIRE(std::isfinite(e.area) && e.area > 0.0 && e.area <= 1.0,
               "patch area must be a share of the image in (0, 1] (0.1 = 10%), got " + std::to_string(e.area));
  ADVX_REQUIRE(std::isfinite(e.rotation) && e.rotation >= 0.0 && e.rotation <= 180.0,
               "patch rotation must be in [0, 180] degrees, got " + std::to_string(e.rotation));
  ADVX_REQUIRE(std::isfinite(e.scale_jitter) && e.scale_jitter >= 0.0 && e.scale_jitter <= 0.9,
               "patch scale jitter must be in [0, 0.9], got " + std::to_string(e.scale_jitter));
}

double patch_side(double area, int h, int w) {
  return std::sqrt(area * h * w);
}

int patch_resolution(double area, int h, int w) {
  return std::max(1, static_cast<int>(std::lround(patch_side(area, h, w))));
}

PatchPlacement sample_placement(Rng& rng, const PatchEot& e, int h, int w) {
  constexpr double kPi = 3.14159265358979323846;
  PatchPlacement p;
  p.angle = (2.0 * rng.next_double() - 1.0) * e.rotation * kPi / 180.0;
  p.side = patch_side(e.area, h, w) * (1.0 + (2.0 * rng.next_double() - 1.0) * e.scale_jitter);
  // Half the extent of the rotated square; its centre keeps it inside the pixel centres' span.
  const double half = p.side / 2.0 * (std::fabs(std::cos(p.angle)) + std::fabs(std::sin(p.angle)));
  auto centre = [&](int n) {
    const double lo = half - 0.5, hi = n - 0.5 - half, u = rng.next_double();
    return lo <= hi ? lo + u * (hi - lo) : (n - 1) / 2.0;
  };
  p.cy = centre(h);
  p.cx = centre(w);
  return p;
}

}  // namespace advx
