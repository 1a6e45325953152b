// The feature squeezers of Xu, Evans, Qi 2018 ("Feature Squeezing: Detecting Adversarial Examples in
// Deep Neural Networks", NDSS, arXiv:1704.01155) as Transforms (engine/pipeline.h), shared by the
// `squeeze` defence (classify the squeezed input) and the `squeeze_detect` detector (flag inputs whose
// prediction moves when squeezed).
//
//   bit depth b    y = rint(x (2^b - 1)) / (2^b - 1)        (Xu's reduce_precision_py; rint rounds
//                                                          half to even, as numpy's: 1 bit maps 0.5 to 0)
//   median k x k   y[i][j] = the element of rank floor(k^2 / 2) (0-based, ascending) of the window
//                  rows i - floor(k/2) .. i + k - 1 - floor(k/2), columns likewise, per channel; outside
//                  the image the edge is mirrored (x[-1] = x[0], x[H] = x[H-1]). This is
//                  scipy.ndimage.median_filter(size=k, mode="reflect"), which Xu's code calls: for the
//                  even 2x2 window the pixel sits at the window's BOTTOM-RIGHT (rows i-1..i, columns
//                  j-1..j) and the median of the 4 values is the upper middle one (rank 2), not a mean.
//   Gaussian blur  y = G_sigma * x, separable, radius ceil(3 sigma), normalised by the kernel mass
//                  inside the image at each position (no darkened border). Not one of Xu's squeezers
//                  (they use a median and, for colour images, non-local means); added as the smooth one.
// Backward: bit depth is piecewise constant (true gradient 0: masking) and BPDA's identity stands in
// for the adaptive attacker (Athalye, Carlini, Wagner 2018, arXiv:1802.00420). The median is
// piecewise linear: its true gradient routes dy to the selected pixel of each window (ties go to the
// first in window order); with BPDA it is the identity too. The blur is linear: its backward is
// exact (the transposed blur) either way.
#pragma once
#include <vector>

#include "engine/params.h"
#include "engine/pipeline.h"

namespace advx {

struct SqueezeChoice {
  int bits = 0;       // 1..8; 0: off
  int median = 0;     // 2 or 3 (window side); 0: off
  float blur = 0.0f;  // sigma in pixels; 0: off
  int count() const { return (bits > 0) + (median > 0) + (blur > 0.0f); }
  std::string describe() const;  // "1-bit, median 2x2"
};

// The parameter table entries "bits", "median", "blur" (one definition for both defences).
std::vector<ParamSpec> squeeze_params();
SqueezeChoice squeeze_choice(const ParamValues& v);

TransformPtr bit_depth_squeezer(int bits, bool bpda);
TransformPtr median_squeezer(int k, bool bpda);
TransformPtr blur_squeezer(float sigma);
// The enabled squeezers in the order bit depth, median, blur.
std::vector<TransformPtr> make_squeezers(const SqueezeChoice& c, bool bpda);

}  // namespace advx
