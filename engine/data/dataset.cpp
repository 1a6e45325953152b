#include "engine/data/dataset.h"

#include <cstdlib>
#include <map>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/gzip.h"
#include "engine/io/idx.h"
#include "engine/io/sha256.h"

namespace advx {
namespace {

// sha256 of the official files, as listed in shared/data/*/README.md.
const std::map<std::string, std::string>& known_sha256() {
  static const std::map<std::string, std::string> m = {
      {"mnist/train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
      {"mnist/train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
      {"mnist/t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
      {"mnist/t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
      {"fashion-mnist/train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"},
      {"fashion-mnist/train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"},
      {"fashion-mnist/t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"},
      {"fashion-mnist/t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"},
  };
  return m;
}

std::vector<std::uint8_t> read_checked(const std::string& dir, const std::string& rel) {
  const std::string path = dir + "/" + rel;
  ADVX_REQUIRE(file_exists(path), "dataset file '" + path + "' is missing; the data folder should hold " + rel +
                                      " (see shared/data/README.md)");
  std::vector<std::uint8_t> bytes = read_file(path);
  auto it = known_sha256().find(rel);
  if (it != known_sha256().end()) {
    const std::string got = sha256_hex(bytes);
    ADVX_REQUIRE(got == it->second, "dataset file '" + path + "' has sha256 " + got + ", expected " + it->second +
                                        ": the file is corrupt or not the official one; copy it again");
  }
  return gunzip(bytes, path);
}

}  // namespace

Dataset Dataset::head(int n) const {
  if (n <= 0 || n >= size()) return *this;
  Dataset d;
  d.name = name;
  d.num_classes = num_classes;
  d.images = images.slice(0, n);
  d.labels.assign(labels.begin(), labels.begin() + n);
  return d;
}

std::string resolve_data_dir(const std::string& flag) {
  if (!flag.empty()) {
    ADVX_REQUIRE(file_exists(flag), "data folder '" + flag + "' (from --data) does not exist");
    return flag;
  }
  if (const char* env = std::getenv("ADVX_DATA"); env && *env) {
    ADVX_REQUIRE(file_exists(env), std::string("data folder '") + env + "' (from $ADVX_DATA) does not exist");
    return env;
  }
  std::vector<std::string> tried = {"../shared/data"};
#ifdef ADVX_SOURCE_DIR
  tried.push_back(std::string(ADVX_SOURCE_DIR) + "/../shared/data");
#endif
  for (const std::string& d : tried)
    if (file_exists(d + "/mnist")) return d;
  std::string list;
  for (const std::string& d : tried) list += "\n  " + d;
  throw Error(
      "no data folder found. Pass --data DIR or set ADVX_DATA to the folder holding mnist/ (the "
      "shared/data folder beside the repo). Looked in:" +
      list);
}

Dataset load_dataset(const std::string& data_dir, const std::string& name, const std::string& split) {
  ADVX_REQUIRE(name == "mnist" || name == "fashion-mnist",
               "unknown dataset '" + name + "'; known: mnist, fashion-mnist");
  ADVX_REQUIRE(split == "train" || split == "test", "split must be 'train' or 'test', got '" + split + "'");
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string img_rel = name + "/" + prefix + "-images-idx3-ubyte.gz";
  const std::string lbl_rel = name + "/" + prefix + "-labels-idx1-ubyte.gz";
  const IdxArray img = idx_decode(read_checked(data_dir, img_rel), data_dir + "/" + img_rel);
  const IdxArray lbl = idx_decode(read_checked(data_dir, lbl_rel), data_dir + "/" + lbl_rel);
  ADVX_REQUIRE(img.type == 0x08 && img.dims.size() == 3 && lbl.type == 0x08 && lbl.dims.size() == 1 &&
                   img.dims[0] == lbl.dims[0],
               "dataset '" + name + "' " + split + ": images " + shape_str(img.dims) + " and labels " +
                   shape_str(lbl.dims) + " do not match");
  Dataset d;
  d.name = name;
  const int n = img.dims[0];
  d.images = Tensor({n, 1, img.dims[1], img.dims[2]});
  for (size_t i = 0; i < img.u8.size(); ++i) d.images.data[i] = static_cast<float>(img.u8[i]) / 255.0f;
  d.labels.assign(lbl.u8.begin(), lbl.u8.end());
  for (int y : d.labels) ADVX_REQUIRE(y >= 0 && y < 10, "dataset '" + name + "': label out of range");
  return d;
}

}  // namespace advx
