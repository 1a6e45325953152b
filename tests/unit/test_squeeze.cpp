// Feature squeezing: the squeezers against hand-computed (and scipy's) values, their backward passes
// (BPDA, the median's true gradient, the blur's exact one against finite differences), and the
// `squeeze` defence built from its table.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/defences/defence.h"
#include "engine/defences/squeezers.h"
#include "engine/error.h"
#include "engine/models.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

Tensor image(int h, int w, const std::vector<float>& v) {
  Tensor t({1, 1, h, w});
  t.data.assign(v.begin(), v.end());
  return t;
}

double dot(const Tensor& a, const Tensor& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.data.size(); ++i) s += static_cast<double>(a.data[i]) * b.data[i];
  return s;
}

// <r, T(x)> against finite differences in x, entry by entry (a linear or piecewise-linear T).
void check_transform_gradient(Transform& t, Tensor x, double tol) {
  Tensor y, dx;
  t.forward(x, y);
  Rng rng(5);
  Tensor r(y.shape);
  for (float& v : r.data) v = rng.uniform(-1.0f, 1.0f);
  t.backward(x, y, r, dx);
  Tensor dx2;
  t.backward(x, y, r, dx2);
  REQUIRE(dx.data == dx2.data);  // callable again: same result
  const float h = 1e-3f;
  for (std::size_t i = 0; i < x.data.size(); ++i) {
    const float old = x.data[i];
    Tensor yp, ym;
    x.data[i] = old + h;
    t.forward(x, yp);
    x.data[i] = old - h;
    t.forward(x, ym);
    x.data[i] = old;
    const double numeric = (dot(r, yp) - dot(r, ym)) / (2.0 * h);
    INFO(t.name() << " dx[" << i << "]: analytic " << dx.data[i] << " numeric " << numeric);
    CHECK(std::fabs(numeric - dx.data[i]) <= tol);
  }
}

}  // namespace

TEST_CASE("bit depth: rint(x (2^b - 1)) / (2^b - 1), half to even as numpy", "[squeeze]") {
  const Tensor x = image(1, 6, {0.0f, 0.2f, 0.5f, 0.5001f, 0.74f, 1.0f});
  Tensor y;
  bit_depth_squeezer(1, true)->forward(x, y);
  CHECK(y.data == FloatVec{0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f});  // rint(0.5) = 0, as np.rint
  bit_depth_squeezer(3, true)->forward(x, y);
  // 7 levels: 0.2 * 7 = 1.4 -> 1; 0.5 * 7 = 3.5 -> 4 (half to even); 0.74 * 7 = 5.18 -> 5
  CHECK(y.data[1] == Approx(1.0 / 7));
  CHECK(y.data[2] == Approx(4.0 / 7));
  CHECK(y.data[4] == Approx(5.0 / 7));
  bit_depth_squeezer(8, true)->forward(x, y);
  CHECK(y.data[1] == Approx(51.0 / 255));
  REQUIRE_THROWS_WITH(bit_depth_squeezer(9, true), Catch::Contains("bit depth must be 1..8"));
}

TEST_CASE("median 2x2 and 3x3 equal scipy.ndimage.median_filter(mode='reflect'), the 2x2 anchored bottom-right",
          "[squeeze]") {
  // scipy.ndimage.median_filter(x, size=2 / 3, mode="reflect") on this 4x4 image (computed with
  // Debian's python3-scipy; tests/reference/check_squeeze.py checks MNIST digits the same way).
  const Tensor x = image(4, 4, {5, 1, 7, 3, 2, 8, 4, 6, 9, 0, 11, 13, 12, 15, 10, 14});
  Tensor y;
  median_squeezer(2, true)->forward(x, y);
  CHECK(y.data == FloatVec{5, 5, 7, 7, 5, 5, 7, 6, 9, 8, 8, 11, 12, 12, 11, 13});
  // e.g. y[1][1]: rows 0-1, columns 0-1 = {5, 1, 2, 8}, sorted 1 2 5 8, rank 2 (upper median) = 5.
  median_squeezer(3, true)->forward(x, y);
  CHECK(y.data == FloatVec{5, 5, 4, 4, 5, 5, 6, 6, 9, 9, 10, 11, 12, 11, 13, 13});
  REQUIRE_THROWS_WITH(median_squeezer(4, true), Catch::Contains("median window must be 2 or 3"));
}

TEST_CASE(
    "squeezer backward: BPDA identity, zero for bit depth, the median's selection and the blur's exact "
    "gradient against finite differences",
    "[squeeze][grad]") {
  Rng rng(3);
  Tensor x({2, 2, 5, 6});
  // Distinct values spaced well apart, so a step of h never changes a median's selection.
  std::vector<int> perm(x.data.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
  for (std::size_t i = perm.size() - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
  for (std::size_t i = 0; i < perm.size(); ++i) x.data[i] = 0.005f * static_cast<float>(perm[i]);
  Tensor dy(x.shape), dx, y;
  for (float& v : dy.data) v = rng.uniform(-1.0f, 1.0f);
  for (auto& t : {bit_depth_squeezer(2, true), median_squeezer(2, true), median_squeezer(3, true)}) {
    t->forward(x, y);
    t->backward(x, y, dy, dx);
    REQUIRE(dx.data == dy.data);
    REQUIRE(t->gradient_kind() == GradientKind::StraightThrough);
  }
  TransformPtr bits = bit_depth_squeezer(2, false);
  bits->forward(x, y);
  bits->backward(x, y, dy, dx);
  for (float v : dx.data) REQUIRE(v == 0.0f);
  REQUIRE(bits->gradient_kind() == GradientKind::Zero);
  for (int k : {2, 3}) {
    TransformPtr med = median_squeezer(k, false);
    REQUIRE(med->gradient_kind() == GradientKind::Exact);
    check_transform_gradient(*med, x, 2e-3);
  }
  for (float sigma : {0.5f, 1.0f, 2.5f}) {
    TransformPtr blur = blur_squeezer(sigma);
    REQUIRE(blur->gradient_kind() == GradientKind::Exact);
    check_transform_gradient(*blur, x, 2e-3);
  }
}

TEST_CASE("blur: a constant image stays constant (mass normalised at the border), mass is spread symmetrically",
          "[squeeze]") {
  Tensor c({1, 1, 7, 9}, 0.6f), y;
  blur_squeezer(1.5f)->forward(c, y);
  for (float v : y.data) CHECK(v == Approx(0.6f).margin(1e-6));
  Tensor dot_img({1, 1, 9, 9}, 0.0f);
  dot_img.data[4 * 9 + 4] = 1.0f;
  blur_squeezer(1.0f)->forward(dot_img, y);
  CHECK(y.data[4 * 9 + 3] == Approx(y.data[4 * 9 + 5]));
  CHECK(y.data[3 * 9 + 4] == Approx(y.data[5 * 9 + 4]));
  CHECK(y.data[4 * 9 + 4] > y.data[4 * 9 + 5]);
}

TEST_CASE("squeeze defence: the chosen squeezers in order before the model, clear errors", "[squeeze]") {
  Sequential m = make_model("small", 4);
  const DefenceSpec& spec = get_defence("squeeze");
  ParamValues p = defaults(spec.params);  // 1 bit and the 2x2 median
  std::unique_ptr<Classifier> d = build_defence(spec, disk_context(""), m, p, true);
  REQUIRE(d->name() == "1-bit > median 2x2 > small");
  REQUIRE(d->gradient_kind() == GradientKind::StraightThrough);
  const Tensor x = test::random_images(3, 6);
  Tensor s1, s2;
  bit_depth_squeezer(1, true)->forward(x, s1);
  median_squeezer(2, true)->forward(s1, s2);
  const Tensor z = d->logits(x);
  REQUIRE(z.data == m.logits(s2).data);
  REQUIRE(build_defence(spec, disk_context(""), m, p, false)->gradient_kind() == GradientKind::Zero);
  p.set("bits", 0), p.set("median", 0), p.set("blur", 1.0);
  REQUIRE(build_defence(spec, disk_context(""), m, p, false)->gradient_kind() == GradientKind::Exact);
  p.set("blur", 0.0);
  REQUIRE_THROWS_WITH(build_defence(spec, disk_context(""), m, p, true), Catch::Contains("at least one squeezer"));
  p.set("bits", 9);
  REQUIRE_THROWS_WITH(build_defence(spec, disk_context(""), m, p, true), Catch::Contains("bits must be"));
}
