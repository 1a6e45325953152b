#include "engine/data/dataset.h"

#include <cstdlib>
#include <map>

#include "engine/data/cifar10.h"
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
      {"cifar-10/lossless/test_batch_first1000.bin.gz",
       "481869234567c4835abc7c5f640eb4c2dd6fb841f09ea94a7f989d31f337e06c"},
      {"cifar-10/lossless/data_batch_1_first4000.bin.gz",
       "0bb145d179ecb2a750190e62493390eeb7162bf39f48bbe8e48630dd27a8a1ba"},
      {"cifar-10/jpeg/cifar10_test_jpg.zip", "413aba858b7f82e3beb762a9a459015e0c42671b41a85fe2e70404f74efba2c3"},
      {"cifar-10/jpeg/cifar10_train_jpg.zip", "7b3d93837451249637ccbe4545e6ab98169b97298bd24a0cc88ca2eb12ab82de"},
      {"cifar-10/jpeg/test_index.csv", "011d659c55949e3b5c2db74d4a698dce0e90cdd42f3c7bdfe8adfd5c66a02c1e"},
      {"cifar-10/jpeg/train_index.csv", "c87a81295377c0b168d9394e8155a8e8f624440f84e7d0d23f071da0f0ea70a0"},
  };
  return m;
}

}  // namespace

std::vector<std::uint8_t> read_verified(const std::string& dir, const std::string& rel) {
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
  return bytes;
}

namespace {

std::vector<std::uint8_t> read_checked(const std::string& dir, const std::string& rel) {
  return gunzip(read_verified(dir, rel), dir + "/" + rel);
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace

Dataset Dataset::head(int n) const {
  if (n <= 0 || n >= size()) return *this;
  return slice(0, n);
}

Dataset Dataset::slice(int begin, int n) const {
  ADVX_REQUIRE(begin >= 0 && n >= 0 && begin + n <= size(),
               "dataset '" + name + "': samples [" + std::to_string(begin) + ", " + std::to_string(begin + n) +
                   ") are outside its " + std::to_string(size()));
  Dataset d;
  d.name = name;
  d.num_classes = num_classes;
  d.class_names = class_names;
  d.images = images.slice(begin, n);
  d.labels.assign(labels.begin() + begin, labels.begin() + begin + n);
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
  ADVX_REQUIRE(name == "mnist" || name == "fashion-mnist" || name == "cifar10" || name == "cifar10-exact",
               "unknown dataset '" + name + "'; known: mnist, fashion-mnist, cifar10, cifar10-exact");
  ADVX_REQUIRE(split == "train" || split == "test", "split must be 'train' or 'test', got '" + split + "'");
  if (name == "cifar10") return load_cifar10(data_dir, split);
  if (name == "cifar10-exact") return load_cifar10_exact(data_dir, split);
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
  if (name == "mnist")
    for (int c = 0; c < 10; ++c) d.class_names.push_back(std::to_string(c));
  else
    d.class_names = fashion_mnist_class_names();
  return d;
}

}  // namespace advx
