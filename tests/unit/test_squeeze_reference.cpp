// Writes what tests/reference/check_squeeze.py compares with numpy and scipy (Xu et al.'s own
// squeezers: np.rint for bit depth, scipy.ndimage.median_filter(mode="reflect") for the median): the
// first 100 MNIST test images, plus random grey images (ties and mid-grey values), and the engine's
// squeezed versions.
//
// Hidden from the normal run ([.] tag); tests/reference/run.sh runs it:
//   ADVX_SQUEEZE_DUMP=/tmp/squeeze.safetensors build/native/advx_tests "[.squeeze-reference]"
// Tensor names: "images" [N, 1, 28, 28] and "bits<b>" (b = 1, 4, 5), "median<k>" (k = 2, 3).
#include <catch2/catch.hpp>
#include <cstdlib>

#include "engine/data/dataset.h"
#include "engine/defences/squeezers.h"
#include "engine/io/safetensors.h"
#include "tests/unit/helpers.h"

using namespace advx;

TEST_CASE("Dump squeezed images for the numpy/scipy cross-check", "[.squeeze-reference]") {
  const char* env = std::getenv("ADVX_SQUEEZE_DUMP");
  const std::string path = env && *env ? env : "/tmp/advx_squeeze_reference.safetensors";
  const Dataset test = load_dataset(resolve_data_dir(""), "mnist", "test").head(100);
  const Tensor noise = test::random_images(20, 5);
  Tensor x({120, 1, 28, 28});
  std::copy(test.images.data.begin(), test.images.data.end(), x.data.begin());
  std::copy(noise.data.begin(), noise.data.end(), x.data.begin() + 100 * 784);
  // Exact halves and quarters in the random images, where rounding and ties decide.
  for (std::size_t i = 100 * 784; i < x.data.size(); i += 7) x.data[i] = static_cast<float>(i % 5) / 4.0f;
  TensorFile f;
  f.tensors["images"] = x;
  for (int b : {1, 4, 5}) bit_depth_squeezer(b, true)->forward(x, f.tensors["bits" + std::to_string(b)]);
  for (int k : {2, 3}) median_squeezer(k, true)->forward(x, f.tensors["median" + std::to_string(k)]);
  safetensors_save(f, path);
  REQUIRE(f.tensors.size() == 6);
}
