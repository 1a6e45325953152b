// The squeezers' math is in squeezers.h. Every transform works on [N, C, H, W] per channel plane.
#include "engine/defences/squeezers.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/error.h"

namespace advx {
namespace {

void check_images(const Tensor& x, const char* who) {
  ADVX_REQUIRE(x.rank() == 4, std::string(who) + " needs images [N, C, H, W], got " + shape_str(x.shape));
}

// ---- bit depth -------------------------------------------------------------------------------------
class BitDepth : public Transform {
 public:
  BitDepth(int bits, bool bpda) : bits_(bits), bpda_(bpda), levels_(static_cast<float>((1 << bits) - 1)) {
    ADVX_REQUIRE(bits >= 1 && bits <= 8, "bit depth must be 1..8, got " + std::to_string(bits));
  }
  std::string name() const override { return std::to_string(bits_) + "-bit"; }
  void forward(const Tensor& x, Tensor& y) override {
    y.resize(x.shape);
    // nearbyint rounds half to even in the default rounding mode, as numpy's rint in Xu's code.
    for (std::size_t i = 0; i < x.data.size(); ++i) y.data[i] = std::nearbyint(x.data[i] * levels_) / levels_;
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor& dx) override {
    if (bpda_) {
      dx = dy;  // BPDA: the identity
    } else {
      dx.resize(x.shape);
      dx.fill(0.0f);  // the true gradient of a step function
    }
  }
  GradientKind gradient_kind() const override { return bpda_ ? GradientKind::StraightThrough : GradientKind::Zero; }

 private:
  int bits_;
  bool bpda_;
  float levels_;
};

// ---- median ----------------------------------------------------------------------------------------
class Median : public Transform {
 public:
  Median(int k, bool bpda) : k_(k), bpda_(bpda) {
    ADVX_REQUIRE(k == 2 || k == 3, "median window must be 2 or 3, got " + std::to_string(k));
  }
  std::string name() const override { return "median " + std::to_string(k_) + "x" + std::to_string(k_); }
  void forward(const Tensor& x, Tensor& y) override {
    check_images(x, "median filter");
    y.resize(x.shape);
    const int h = x.dim(2), w = x.dim(3), lo = -(k_ / 2), rank = k_ * k_ / 2;
    const std::int64_t planes = static_cast<std::int64_t>(x.dim(0)) * x.dim(1);
    if (!bpda_) pick_.resize(x.data.size());
    // Mirror an index into [0, n): -1 -> 0, n -> n - 1 (scipy's "reflect"; windows reach out by <= 1).
    auto mirror = [](int i, int n) { return i < 0 ? -i - 1 : (i >= n ? 2 * n - i - 1 : i); };
    float val[9];
    int pos[9];
    for (std::int64_t p = 0; p < planes; ++p) {
      const float* in = x.ptr() + p * h * w;
      float* out = y.ptr() + p * h * w;
      for (int i = 0; i < h; ++i)
        for (int j = 0; j < w; ++j) {
          int m = 0;
          for (int a = 0; a < k_; ++a)
            for (int b = 0; b < k_; ++b) {
              const int q = mirror(i + lo + a, h) * w + mirror(j + lo + b, w);
              // Insertion by value, stable (ties keep window order): at most 9 elements.
              int t = m++;
              while (t > 0 && val[t - 1] > in[q]) val[t] = val[t - 1], pos[t] = pos[t - 1], --t;
              val[t] = in[q], pos[t] = q;
            }
          out[i * w + j] = val[rank];
          if (!bpda_) pick_[static_cast<std::size_t>(p * h * w + i * w + j)] = pos[rank];
        }
    }
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor& dx) override {
    if (bpda_) {
      dx = dy;
      return;
    }
    ADVX_REQUIRE(pick_.size() == x.data.size(), "median backward before its forward");
    // The true gradient: each output is one input pixel (the selected one), so dy goes there.
    dx.resize(x.shape);
    dx.fill(0.0f);
    const std::int64_t hw = static_cast<std::int64_t>(x.dim(2)) * x.dim(3);
    for (std::size_t o = 0; o < x.data.size(); ++o) {
      const std::int64_t plane = static_cast<std::int64_t>(o) / hw;
      dx.data[static_cast<std::size_t>(plane * hw + pick_[o])] += dy.data[o];
    }
  }
  GradientKind gradient_kind() const override { return bpda_ ? GradientKind::StraightThrough : GradientKind::Exact; }

 private:
  int k_;
  bool bpda_;
  std::vector<std::int32_t> pick_;  // forward state (true gradient only): the selected pixel in its plane
};

// ---- Gaussian blur ---------------------------------------------------------------------------------
// One 1-D pass along rows or columns: y[p] = sum_q g[q - p] x[q] / Z[p], Z[p] = the kernel mass
// inside [0, L). Its transpose: x'[q] = sum_p g[q - p] y'[p] / Z[p].
class Blur : public Transform {
 public:
  explicit Blur(float sigma) : sigma_(sigma) {
    ADVX_REQUIRE(sigma > 0.0f && sigma <= 10.0f, "blur sigma must be in (0, 10] pixels");
    radius_ = static_cast<int>(std::ceil(3.0f * sigma));
    for (int t = -radius_; t <= radius_; ++t)
      kernel_.push_back(std::exp(-static_cast<float>(t * t) / (2.0f * sigma * sigma)));
  }
  std::string name() const override {
    char buf[40];
    std::snprintf(buf, sizeof buf, "blur(%g)", static_cast<double>(sigma_));
    return buf;
  }
  void forward(const Tensor& x, Tensor& y) override {
    check_images(x, "blur");
    tmp_.resize(x.shape);
    y.resize(x.shape);
    pass(x, tmp_, true, false);   // along each row
    pass(tmp_, y, false, false);  // along each column
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor& dx) override {
    tmp_.resize(x.shape);
    dx.resize(x.shape);
    pass(dy, tmp_, false, true);  // the transposes, in the reverse order
    pass(tmp_, dx, true, true);
  }
  GradientKind gradient_kind() const override { return GradientKind::Exact; }

 private:
  // along_row: the pass runs along W (else along H); transpose: the adjoint of the forward pass.
  void pass(const Tensor& in, Tensor& out, bool along_row, bool transpose) {
    const int h = in.dim(2), w = in.dim(3), len = along_row ? w : h, lines = along_row ? h : w;
    const int step = along_row ? 1 : w, line_step = along_row ? w : 1;
    norm_.assign(static_cast<std::size_t>(len), 0.0f);
    for (int p = 0; p < len; ++p)
      for (int q = std::max(0, p - radius_); q <= std::min(len - 1, p + radius_); ++q)
        norm_[static_cast<std::size_t>(p)] += kernel_[static_cast<std::size_t>(q - p + radius_)];
    const std::int64_t planes = static_cast<std::int64_t>(in.dim(0)) * in.dim(1);
    for (std::int64_t pl = 0; pl < planes; ++pl)
      for (int l = 0; l < lines; ++l) {
        const float* a = in.ptr() + pl * h * w + static_cast<std::int64_t>(l) * line_step;
        float* b = out.ptr() + pl * h * w + static_cast<std::int64_t>(l) * line_step;
        for (int p = 0; p < len; ++p) {
          float s = 0.0f;
          for (int q = std::max(0, p - radius_); q <= std::min(len - 1, p + radius_); ++q) {
            const float g = kernel_[static_cast<std::size_t>(q - p + radius_)];
            // forward: y[p] = sum_q g x[q] / Z[p]; adjoint: x'[p] = sum_q g y'[q] / Z[q]
            s += transpose ? g * a[q * step] / norm_[static_cast<std::size_t>(q)] : g * a[q * step];
          }
          b[p * step] = transpose ? s : s / norm_[static_cast<std::size_t>(p)];
        }
      }
  }
  float sigma_;
  int radius_ = 0;
  std::vector<float> kernel_, norm_;
  Tensor tmp_;
};

}  // namespace

std::string SqueezeChoice::describe() const {
  std::string s;
  if (bits > 0) s += std::to_string(bits) + "-bit";
  if (median > 0)
    s += (s.empty() ? "" : ", ") + std::string("median ") + std::to_string(median) + "x" + std::to_string(median);
  if (blur > 0.0f) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "blur %g", static_cast<double>(blur));
    s += (s.empty() ? "" : ", ") + std::string(buf);
  }
  return s.empty() ? "none" : s;
}

std::vector<ParamSpec> squeeze_params() {
  return {int_param("bits", 0, 8, 1, "bit depth of every pixel after squeezing (0: no bit-depth squeezer)"),
          choice_param("median", {"off", "2x2", "3x3"}, 1, "median filter window (2x2: the pixel at its bottom right)"),
          float_param("blur", 0.0, 3.0, 0.0, "Gaussian blur sigma in pixels (0: no blur)")};
}

SqueezeChoice squeeze_choice(const ParamValues& v) {
  SqueezeChoice c;
  c.bits = v.integer("bits");
  const int m = v.integer("median");
  c.median = m == 0 ? 0 : m + 1;  // "2x2" -> 2, "3x3" -> 3
  c.blur = static_cast<float>(v.number("blur"));
  ADVX_REQUIRE(c.count() > 0,
               "feature squeezing needs at least one squeezer: --bits 1..8, --median 2x2|3x3 or --blur > 0");
  return c;
}

TransformPtr bit_depth_squeezer(int bits, bool bpda) {
  return std::make_unique<BitDepth>(bits, bpda);
}
TransformPtr median_squeezer(int k, bool bpda) {
  return std::make_unique<Median>(k, bpda);
}
TransformPtr blur_squeezer(float sigma) {
  return std::make_unique<Blur>(sigma);
}

std::vector<TransformPtr> make_squeezers(const SqueezeChoice& c, bool bpda) {
  std::vector<TransformPtr> out;
  if (c.bits > 0) out.push_back(bit_depth_squeezer(c.bits, bpda));
  if (c.median > 0) out.push_back(median_squeezer(c.median, bpda));
  if (c.blur > 0.0f) out.push_back(blur_squeezer(c.blur));
  return out;
}

}  // namespace advx
