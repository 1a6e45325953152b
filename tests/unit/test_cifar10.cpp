// CIFAR-10 loading: the stored-zip reader, the exact and JPEG datasets against each other and
// against the pixel values published in shared/data/cifar-10/README.md, and clear errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "engine/data/cifar10.h"
#include "engine/data/dataset.h"
#include "engine/data/dataset_jpeg.h"
#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/image.h"
#include "engine/io/zip.h"
#include "tests/unit/helpers.h"

using namespace advx;
namespace fs = std::filesystem;

namespace {

const std::string& data_dir() {
  static const std::string d = resolve_data_dir("");
  return d;
}

// Loads a dataset once per test run and says how long it took.
const Dataset& cached(const std::string& name, const std::string& split) {
  static std::map<std::string, Dataset> cache;
  const std::string key = name + "/" + split;
  auto it = cache.find(key);
  if (it == cache.end()) {
    const auto t0 = std::chrono::steady_clock::now();
    Dataset d = load_dataset(data_dir(), name, split);
    std::printf("[cifar10] %s %s: %d images loaded in %.2f s\n", name.c_str(), split.c_str(), d.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    it = cache.emplace(key, std::move(d)).first;
  }
  return it->second;
}

// Channel c, row y, column x of image i, as the 8-bit value it was stored as.
int pixel(const Dataset& d, int i, int c, int y, int x) {
  const float v = d.images.data[static_cast<size_t>(((i * 3 + c) * 32 + y) * 32 + x)];
  return static_cast<int>(std::lround(v * 255.0f));
}

const std::string kTestZip = "cifar-10/jpeg/cifar10_test_jpg.zip";

// A data folder under /tmp holding cifar-10/jpeg/ with the given files (relative name -> bytes).
std::string fake_data_dir(const std::string& name, const std::map<std::string, std::vector<std::uint8_t>>& files) {
  const std::string dir = test::temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir + "/cifar-10/jpeg");
  for (const auto& kv : files) write_file(dir + "/" + kv.first, kv.second);
  return dir;
}

void put_le16(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v & 0xFF);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}

}  // namespace

TEST_CASE("crc32 gives the standard check value", "[cifar10]") {
  const std::string s = "123456789";
  CHECK(crc32(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()) == 0xCBF43926u);
  CHECK(crc32(nullptr, 0) == 0u);
}

TEST_CASE("zip reader: the test archive's members, and clear errors on damaged copies", "[cifar10]") {
  const std::vector<std::uint8_t> zip = read_file(data_dir() + "/" + kTestZip);
  const std::vector<ZipMember> members = zip_stored_members(zip, "test.zip");
  REQUIRE(members.size() == 10000);
  CHECK(members[0].name == "test/cat/0000.jpg");
  CHECK(members[0].offset == 30 + members[0].name.size());
  CHECK(zip[members[0].offset] == 0xFF);  // a JPEG starts with FF D8
  CHECK(zip[members[0].offset + 1] == 0xD8);
  CHECK(members.back().name == "test/horse/0999.jpg");

  SECTION("truncated") {
    for (std::size_t keep : {std::size_t{0}, std::size_t{21}, zip.size() / 2, zip.size() - 1}) {
      const std::vector<std::uint8_t> cut(zip.begin(), zip.begin() + static_cast<std::ptrdiff_t>(keep));
      REQUIRE_THROWS_WITH(zip_stored_members(cut, "cut.zip"),
                          Catch::Contains("zip archive 'cut.zip'") && Catch::Contains("truncated"));
    }
  }
  SECTION("a flipped data byte fails the CRC check") {
    std::vector<std::uint8_t> bad = zip;
    bad[members[5].offset + 100] ^= 0x01;
    REQUIRE_THROWS_WITH(zip_stored_members(bad, "bad.zip"),
                        Catch::Contains("member '" + members[5].name + "' fails its CRC-32 check"));
  }
  SECTION("a compressed member is refused") {
    std::vector<std::uint8_t> bad = zip;
    // The first central directory entry starts right after the last member's data; method at +10.
    const std::size_t cd = members.back().offset + members.back().size;
    put_le16(bad, cd + 10, 8);
    REQUIRE_THROWS_WITH(zip_stored_members(bad, "deflated.zip"),
                        Catch::Contains("is compressed (method 8)") && Catch::Contains("ZIP_STORED"));
  }
  SECTION("a local header that disagrees with the central directory") {
    std::vector<std::uint8_t> bad = zip;
    bad[0] = 'X';  // the first local header's signature
    REQUIRE_THROWS_WITH(zip_stored_members(bad, "bad.zip"), Catch::Contains("no local header"));
  }
  SECTION("not a zip at all") {
    const std::vector<std::uint8_t> junk(1000, 0x42);
    REQUIRE_THROWS_WITH(zip_stored_members(junk, "junk.zip"), Catch::Contains("not a zip"));
  }
}

TEST_CASE("the JPEG decoder is for dataset files only: user images are never decoded as JPEG", "[cifar10]") {
  const std::vector<std::uint8_t> zip = read_file(data_dir() + "/" + kTestZip);
  const ZipMember m = zip_stored_members(zip, kTestZip).front();
  const std::vector<std::uint8_t> jpeg(zip.begin() + static_cast<std::ptrdiff_t>(m.offset),
                                       zip.begin() + static_cast<std::ptrdiff_t>(m.offset + m.size));
  std::vector<std::uint8_t> rgb(32 * 32 * 3);
  CHECK(decode_dataset_jpeg(jpeg.data(), jpeg.size(), 32, 32, rgb.data()) == nullptr);
  CHECK(decode_dataset_jpeg(jpeg.data(), jpeg.size(), 28, 28, rgb.data()) != nullptr);  // wrong size
  CHECK(decode_dataset_jpeg(jpeg.data(), jpeg.size() / 2, 32, 32, rgb.data()) != nullptr);
  REQUIRE_THROWS_WITH(decode_image(jpeg, 3, "photo.jpg"),
                      Catch::Contains("cannot decode image 'photo.jpg': it is not a PNG (it looks like a JPEG)"));
}

TEST_CASE("cifar10-exact: counts, labels and the pixel values published for images 0", "[cifar10]") {
  const Dataset& train = cached("cifar10-exact", "train");
  const Dataset& test = cached("cifar10-exact", "test");
  REQUIRE(train.images.shape == Shape{4000, 3, 32, 32});
  REQUIRE(test.images.shape == Shape{1000, 3, 32, 32});
  REQUIRE(train.labels.size() == 4000);
  REQUIRE(test.labels.size() == 1000);
  CHECK(train.name == "cifar10-exact");
  CHECK(train.class_names == cifar10_class_names());
  CHECK(train.class_names.at(6) == "frog");
  CHECK(train.labels[0] == 6);  // a frog
  CHECK(test.labels[0] == 3);   // a cat
  // shared/data/cifar-10/README.md, "Verification": the first red values of row 0.
  const int train_r[] = {59, 43, 50, 68, 98, 119, 139, 145};
  const int test_r[] = {158, 159, 165, 166, 160, 156, 162, 159};
  for (int x = 0; x < 8; ++x) {
    CHECK(pixel(train, 0, 0, 0, x) == train_r[x]);
    CHECK(pixel(test, 0, 0, 0, x) == test_r[x]);
  }
  for (float v : test.images.data) REQUIRE((v >= 0.0f && v <= 1.0f));
  std::vector<int> count(10, 0);
  for (int y : test.labels) ++count[static_cast<size_t>(y)];
  for (int c = 0; c < 10; ++c) CHECK(count[static_cast<size_t>(c)] > 50);  // every class present
}

// [heavy]: decodes all 60,000 JPEGs; skipped under ASan (the fuzzing replay covers the decoder there).
TEST_CASE("cifar10 JPEG: 50,000 / 10,000 images, the first ones match the exact pixels within the JPEG loss",
          "[cifar10][heavy]") {
  const Dataset& test = cached("cifar10", "test");
  REQUIRE(test.images.shape == Shape{10000, 3, 32, 32});
  REQUIRE(test.labels.size() == 10000);
  CHECK(test.name == "cifar10");
  CHECK(test.class_names == cifar10_class_names());
  std::vector<int> count(10, 0);
  for (int y : test.labels) ++count[static_cast<size_t>(y)];
  for (int c = 0; c < 10; ++c) CHECK(count[static_cast<size_t>(c)] == 1000);

  // The README measured a mean absolute error of 5.80 / 255 (Pillow's decoder) on test 0-999.
  const Dataset& exact = cached("cifar10-exact", "test");
  double err = 0.0, worst_image = 0.0;
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(test.labels[static_cast<size_t>(i)] == exact.labels[static_cast<size_t>(i)]);
    double e = 0.0;
    for (int k = 0; k < 3072; ++k) {
      const size_t j = static_cast<size_t>(i) * 3072 + static_cast<size_t>(k);
      e += std::fabs(static_cast<double>(test.images.data[j]) - exact.images.data[j]);
    }
    err += e;
    worst_image = std::max(worst_image, e / 3072.0);
  }
  const double mae = err / (1000.0 * 3072.0) * 255.0;
  std::printf("[cifar10] JPEG vs exact, test 0-999: mean absolute error %.3f / 255, worst image %.3f / 255\n", mae,
              worst_image * 255.0);
  CHECK(mae > 3.0);  // the JPEG loss is there (the two sets are not the same file)
  CHECK(mae < 6.5);
  CHECK(worst_image * 255.0 < 20.0);  // and no image is another image

  const Dataset& train = cached("cifar10", "train");
  REQUIRE(train.images.shape == Shape{50000, 3, 32, 32});
  REQUIRE(train.labels.size() == 50000);
  const Dataset& exact_train = cached("cifar10-exact", "train");
  double terr = 0.0;
  for (int i = 0; i < 4000; ++i) {
    REQUIRE(train.labels[static_cast<size_t>(i)] == exact_train.labels[static_cast<size_t>(i)]);
    for (int k = 0; k < 3072; ++k) {
      const size_t j = static_cast<size_t>(i) * 3072 + static_cast<size_t>(k);
      terr += std::fabs(static_cast<double>(train.images.data[j]) - exact_train.images.data[j]);
    }
  }
  const double tmae = terr / (4000.0 * 3072.0) * 255.0;
  std::printf("[cifar10] JPEG vs exact, train 0-3999: mean absolute error %.3f / 255\n", tmae);
  CHECK(tmae > 3.0);
  CHECK(tmae < 6.5);
}

TEST_CASE("every loader names its classes", "[cifar10]") {
  const Dataset mnist = load_dataset(data_dir(), "mnist", "test").head(10);
  REQUIRE(mnist.class_names.size() == 10);
  CHECK(mnist.class_names[0] == "0");
  CHECK(mnist.class_names[9] == "9");
  CHECK(cifar10_class_names() == std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                                          "frog", "horse", "ship", "truck"});
}

TEST_CASE("cifar10: a missing, altered or truncated file is a clear error before anything is parsed", "[cifar10]") {
  const std::vector<std::uint8_t> csv = read_file(data_dir() + "/cifar-10/jpeg/test_index.csv");
  const std::vector<std::uint8_t> zip = read_file(data_dir() + "/" + kTestZip);

  SECTION("missing files") {
    const std::string dir = fake_data_dir("cifar_missing", {});
    REQUIRE_THROWS_WITH(load_dataset(dir, "cifar10", "test"),
                        Catch::Contains("dataset file '" + dir + "/cifar-10/jpeg/test_index.csv' is missing"));
    REQUIRE_THROWS_WITH(load_dataset(dir, "cifar10-exact", "train"),
                        Catch::Contains("data_batch_1_first4000.bin.gz' is missing"));
    const std::string dir2 = fake_data_dir("cifar_missing_zip", {{"cifar-10/jpeg/test_index.csv", csv}});
    REQUIRE_THROWS_WITH(load_dataset(dir2, "cifar10", "test"), Catch::Contains("cifar10_test_jpg.zip' is missing"));
  }
  SECTION("an altered index fails its sha256") {
    std::vector<std::uint8_t> edited = csv;
    edited[40] = edited[40] == '1' ? '2' : '1';  // a label in the first rows
    const std::string dir = fake_data_dir("cifar_sha", {{"cifar-10/jpeg/test_index.csv", edited}});
    REQUIRE_THROWS_WITH(
        load_dataset(dir, "cifar10", "test"),
        Catch::Contains("test_index.csv' has sha256") &&
            Catch::Contains("expected 011d659c55949e3b5c2db74d4a698dce0e90cdd42f3c7bdfe8adfd5c66a02c1e") &&
            Catch::Contains("copy it again"));
  }
  SECTION("a truncated zip fails its sha256") {
    const std::vector<std::uint8_t> cut(zip.begin(), zip.begin() + static_cast<std::ptrdiff_t>(zip.size() / 3));
    const std::string dir = fake_data_dir(
        "cifar_trunc", {{"cifar-10/jpeg/test_index.csv", csv}, {"cifar-10/jpeg/cifar10_test_jpg.zip", cut}});
    REQUIRE_THROWS_WITH(load_dataset(dir, "cifar10", "test"),
                        Catch::Contains("cifar10_test_jpg.zip' has sha256") && Catch::Contains("corrupt"));
  }
  SECTION("bad names") {
    REQUIRE_THROWS_WITH(load_dataset(data_dir(), "cifar100", "test"),
                        Catch::Contains("unknown dataset 'cifar100'") && Catch::Contains("cifar10-exact"));
    REQUIRE_THROWS_WITH(load_cifar10(data_dir(), "valid"), Catch::Contains("split must be 'train' or 'test'"));
    REQUIRE_THROWS_WITH(load_cifar10_exact(data_dir(), "valid"), Catch::Contains("split must be 'train' or 'test'"));
  }
}
