#include "frontend/samples.h"

#include "engine/error.h"
#include "engine/io/gzip.h"

namespace play {

advx::Tensor Samples::image(int i) const {
  return set.images.slice(i, 1);
}

advx::Dataset Samples::head(int n) const {
  return set.head(n);
}

Samples decode_samples(const std::vector<std::uint8_t>& gz, const std::string& dataset, const advx::Shape& shape,
                       const std::vector<std::string>& classes, const std::string& source) {
  ADVX_REQUIRE(shape.size() == 3 && shape[0] > 0 && shape[1] > 0 && shape[2] > 0 && advx::shape_size(shape) < (1 << 20),
               source + ": sample shape " + advx::shape_str(shape) + " is not [C, H, W]");
  ADVX_REQUIRE(!classes.empty() && classes.size() <= 256, source + ": the manifest lists no class names");
  const std::vector<std::uint8_t> raw = advx::gunzip(gz, source);
  const std::size_t per = static_cast<std::size_t>(advx::shape_size(shape));
  ADVX_REQUIRE(!raw.empty() && raw.size() % (per + 1) == 0,
               source + ": " + std::to_string(raw.size()) + " bytes are not whole records of 1 label + " +
                   std::to_string(per) + " pixels (truncated, or not this dataset's sample)");
  const int n = static_cast<int>(raw.size() / (per + 1));
  Samples s;
  advx::Dataset& d = s.set;
  d.name = dataset;
  d.class_names = classes;
  d.num_classes = static_cast<int>(classes.size());
  d.images = advx::Tensor({n, shape[0], shape[1], shape[2]});
  d.labels.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::uint8_t* r = raw.data() + static_cast<std::size_t>(i) * (per + 1);
    ADVX_REQUIRE(r[0] < classes.size(), source + ": record " + std::to_string(i) + " has label " +
                                            std::to_string(r[0]) + ", but there are " + std::to_string(classes.size()) +
                                            " classes");
    d.labels[static_cast<std::size_t>(i)] = r[0];
    float* dst = d.images.ptr() + static_cast<std::int64_t>(i) * static_cast<std::int64_t>(per);
    for (std::size_t j = 0; j < per; ++j) dst[j] = static_cast<float>(r[1 + j]) / 255.0f;
  }
  return s;
}

}  // namespace play
