// The patch application operator of the adversarial patch (Brown, Mané, Roy, Abadi, Gilmer 2017,
// "Adversarial Patch", arXiv:1712.09665: their A(p, x, l, t), patch p on image x at location l
// under transformation t).
//
// A patch P [C, S, S] is placed on an image x [C, H, W] as a square of side s image pixels, centred
// at (cy, cx), rotated by theta. Pixel (i, j) of the image has its centre at (i, j); pixel (a, b) of
// the patch at (a, b). Image pixel q = (i, j) maps into the patch at
//     (pa, pb) = R(-theta) (q - c) / k + ((S - 1) / 2, (S - 1) / 2),   k = s / S,
// that is  pb = ( cos theta (j - cx) + sin theta (i - cy)) / k + (S - 1) / 2
//          pa = (-sin theta (j - cx) + cos theta (i - cy)) / k + (S - 1) / 2.
// The mask M(q) is 1 where (pa, pb) lies in the patch's square [-1/2, S - 1/2)^2, else 0, and
//     y = (1 - M) * x + M * B(P; pa, pb)
// where B samples P bilinearly at (pa, pb), clamped to [0, S - 1] (the edge pixels extend to the
// square's border): B = sum_k w_k P[idx_k], four taps, w_k >= 0, sum w_k = 1.
//
// For a fixed placement y is linear in P and in x, so the Jacobians are exact and simple:
//     dL/dx = (1 - M) * dL/dy                 (the image shows through outside the patch only)
//     dL/dP[idx] += sum over covered q of w_k(q) * dL/dy(q)   (per channel, summed over the batch)
// Outside the patch y = x bit for bit; inside, y is a convex combination of patch pixels, so y stays
// in [0, 1] whenever P and x do. An axis-aligned placement at k = 1 on whole pixels copies the patch
// exactly.
//
// Deviations from Brown et al., stated: the patch is a square (theirs is round), and the mask is
// hard (a pixel is the patch's or the image's; no soft edge), so the pixels that can change are
// exactly those whose centre lies in the placed square: the budget "a share of the image area"
// reads as pixels.
// The placement (position, scale, angle) is drawn, not learned, so no gradient w.r.t. it is needed.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/rng.h"
#include "engine/tensor.h"

namespace advx {

struct PatchPlacement {
  double cy = 0.0, cx = 0.0;  // centre on the image, pixel coordinates
  double side = 1.0;          // side of the placed square in image pixels (> 0)
  double angle = 0.0;         // rotation in radians
};

// Differentiable application of one patch to a batch, each sample with its own placement.
//   place(): per-sample placements for images [C, H, W] and a patch of S x S; computes the mask
//            and the bilinear taps once (reused by forward and backward, any number of times).
//   forward(): y = A(P, x) for x [N, C, H, W] (N = number of placements), P [C, S, S].
//   backward(): dx = (1 - M) dy (if dx), dP += J_P^T dy summed over the batch (if dpatch: ADDED,
//               as layers add their weight gradients). Never changes the placement.
class PatchApplier {
 public:
  void place(const std::vector<PatchPlacement>& where, int channels, int height, int width, int patch_size);
  void forward(const Tensor& patch, const Tensor& x, Tensor& y) const;
  void backward(const Tensor& dy, Tensor* dx, Tensor* dpatch) const;
  // The pixel positions (i * W + j) the patch covers on sample n (its mask), in row-major order.
  std::vector<int> covered(int n) const;
  int samples() const { return static_cast<int>(first_.size()) - 1; }
  int patch_size() const { return s_; }
  const Shape& image_shape() const { return image_; }

 private:
  struct Tap {
    int pixel;   // i * W + j on the image
    int idx[4];  // patch positions a * S + b of the four bilinear taps
    float w[4];  // their weights, >= 0, summing to 1
  };
  void check(const Tensor& x, const char* what) const;
  Shape image_;  // [C, H, W]
  int s_ = 0;
  std::vector<Tap> taps_;         // every covered pixel of every sample, sample by sample
  std::vector<int> first_ = {0};  // taps of sample n: [first_[n], first_[n + 1])
};

// The distribution of placements (Brown et al.'s "expectation over transformations", after Athalye,
// Engstrom, Ilyas, Kwok 2018, arXiv:1707.07397): the square's nominal side covers `area` of the
// image, side = sqrt(area * H * W); the angle is uniform in [-rotation, rotation] degrees; the side
// is uniform in nominal * [1 - scale_jitter, 1 + scale_jitter] (0: exactly the area); the centre is
// uniform over the positions that keep the rotated square inside the image (the image's centre when
// none does).
struct PatchEot {
  double area = 0.1;
  double rotation = 20.0;  // degrees
  double scale_jitter = 0.0;
};
// Throws advx::Error unless area is in (0, 1], rotation in [0, 180], scale_jitter in [0, 0.9].
void check_eot(const PatchEot& e);
// sqrt(area * h * w): the nominal side in image pixels.
double patch_side(double area, int h, int w);
// The patch's resolution S for an area share: the nominal side rounded, at least 1 (so a patch
// placed at its nominal side has about one patch pixel per image pixel).
int patch_resolution(double area, int h, int w);
// One placement; four draws from `rng` whatever the settings (angle, scale, row, column), so the
// sequence of placements does not depend on which settings are zero.
PatchPlacement sample_placement(Rng& rng, const PatchEot& e, int h, int w);

}  // namespace advx
