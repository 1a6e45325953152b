// MNIST-style preprocessing of drawn digits (engine/preprocess.h).
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/error.h"
#include "engine/preprocess.h"

using advx::Tensor;

namespace {

// A [1, h, w] image with a filled rectangle of value v at [x0, x1) x [y0, y1).
Tensor rect_image(int h, int w, int x0, int y0, int x1, int y1, float v = 1.0f) {
  Tensor t({1, h, w});
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) t.data[static_cast<size_t>(y) * w + x] = v;
  return t;
}

float sum(const Tensor& t) {
  float s = 0.0f;
  for (float v : t.data) s += v;
  return s;
}

}  // namespace

TEST_CASE("ink_bbox finds the half-open box of pixels above the threshold", "[preprocess]") {
  Tensor img = rect_image(112, 112, 30, 10, 50, 90);
  img.data[5 * 112 + 5] = 0.01f;  // below threshold: ignored
  advx::InkBox b = advx::ink_bbox(img, 0.05f);
  CHECK(b.x0 == 30);
  CHECK(b.y0 == 10);
  CHECK(b.x1 == 50);
  CHECK(b.y1 == 90);
  CHECK(advx::ink_bbox(Tensor({1, 8, 8}), 0.05f).empty());
}

TEST_CASE("fit_to_box keeps the aspect ratio and the longer side becomes the box size", "[preprocess]") {
  Tensor tall({1, 80, 20}, 1.0f);
  Tensor fitted = advx::fit_to_box(tall, 20);
  REQUIRE(fitted.shape == advx::Shape{1, 20, 5});
  for (float v : fitted.data) CHECK(v == Approx(1.0f));  // area averaging keeps a constant image constant

  Tensor small({1, 10, 5}, 0.5f);
  Tensor up = advx::fit_to_box(small, 20);
  REQUIRE(up.shape == advx::Shape{1, 20, 10});
  for (float v : up.data) CHECK(v == Approx(0.5f));
}

TEST_CASE("shrinking by area averaging preserves mean intensity", "[preprocess]") {
  Tensor img({1, 100, 100});
  for (size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>((i * 7919) % 101) / 100.0f;
  Tensor out = advx::fit_to_box(img, 20);
  REQUIRE(out.shape == advx::Shape{1, 20, 20});
  CHECK(sum(out) / 400.0f == Approx(sum(img) / 10000.0f).epsilon(1e-4));
}

TEST_CASE("center_by_mass puts the centre of mass at the field's centre", "[preprocess]") {
  Tensor blob = rect_image(20, 10, 0, 0, 4, 20);  // mass in the left part
  int ox = 0, oy = 0;
  Tensor out = advx::center_by_mass(blob, 28, &ox, &oy);
  float cx = 0, cy = 0;
  advx::center_of_mass(out, cx, cy);
  CHECK(std::fabs(cx - 13.5f) <= 0.5f);
  CHECK(std::fabs(cy - 13.5f) <= 0.5f);
  CHECK(sum(out) == Approx(sum(blob)));  // nothing cut
}

TEST_CASE("mnist_preprocess: crop, fit 20x20, centre by mass in 28x28", "[preprocess]") {
  // A drawn vertical bar in the top-left corner of a 112x112 canvas.
  Tensor canvas = rect_image(112, 112, 4, 2, 24, 82);
  canvas.shape = {1, 1, 112, 112};
  advx::PreprocessInfo info;
  Tensor out = advx::mnist_preprocess(canvas, {}, &info);
  REQUIRE(out.shape == advx::Shape{1, 1, 28, 28});
  CHECK(info.box.x0 == 4);
  CHECK(info.box.y1 == 82);
  CHECK(info.fit_h == 20);
  CHECK(info.fit_w == 5);
  advx::InkBox b = advx::ink_bbox(out, 0.05f);
  CHECK(b.height() == 20);
  CHECK(b.width() == 5);
  float cx = 0, cy = 0;
  advx::center_of_mass(out, cx, cy);
  CHECK(std::fabs(cx - 13.5f) <= 0.5f);
  CHECK(std::fabs(cy - 13.5f) <= 0.5f);
  for (float v : out.data) {
    CHECK(v >= 0.0f);
    CHECK(v <= 1.0f);
  }
}

TEST_CASE("mnist_preprocess is stable on an already-centred 20x20 digit", "[preprocess]") {
  Tensor img = rect_image(28, 28, 4, 4, 24, 24, 0.8f);
  Tensor out = advx::mnist_preprocess(img);
  REQUIRE(out.shape == advx::Shape{1, 28, 28});
  for (size_t i = 0; i < img.data.size(); ++i) CHECK(out.data[i] == Approx(img.data[i]));
}

TEST_CASE("mnist_preprocess: empty input gives zeros, bad input throws advx::Error", "[preprocess]") {
  Tensor out = advx::mnist_preprocess(Tensor({1, 50, 50}));
  REQUIRE(out.shape == advx::Shape{1, 28, 28});
  CHECK(sum(out) == 0.0f);
  CHECK_THROWS_AS(advx::mnist_preprocess(Tensor({3, 28, 28})), advx::Error);
  Tensor nan_img({1, 28, 28});
  nan_img.data[3] = std::nanf("");
  CHECK_THROWS_AS(advx::mnist_preprocess(nan_img), advx::Error);
}
