#include "frontend/samples.h"

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/gzip.h"
#include "engine/io/idx.h"

namespace play {

advx::Tensor Samples::image(int i) const {
  advx::Tensor t = images.slice(i, 1);
  t.shape = {1, 1, 28, 28};
  return t;
}

advx::Dataset Samples::head(int n) const {
  advx::Dataset d;
  d.name = "mnist";
  d.images = images;
  d.labels = labels;
  return d.head(n);
}

Samples load_samples(const std::string& dir) {
  Samples s;
  const std::string ip = dir + "/test-images.idx.gz", lp = dir + "/test-labels.idx.gz";
  try {
    advx::IdxArray im = advx::idx_decode(advx::gunzip(advx::read_file(ip), ip), ip);
    advx::IdxArray lb = advx::idx_decode(advx::gunzip(advx::read_file(lp), lp), lp);
    ADVX_REQUIRE(im.type == 0x08 && im.dims.size() == 3 && im.dims[1] == 28 && im.dims[2] == 28,
                 ip + ": expected N x 28 x 28 unsigned bytes");
    ADVX_REQUIRE(lb.type == 0x08 && lb.dims.size() == 1 && lb.dims[0] == im.dims[0], lp + ": labels do not match");
    const int n = im.dims[0];
    s.images = advx::Tensor({n, 1, 28, 28});
    for (size_t i = 0; i < im.u8.size(); ++i) s.images.data[i] = static_cast<float>(im.u8[i]) / 255.0f;
    s.labels.assign(lb.u8.begin(), lb.u8.end());
  } catch (const advx::Error& e) {
    s = Samples{};
    s.error = e.what();
  }
  return s;
}

}  // namespace play
