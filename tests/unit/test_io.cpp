// File formats: safetensors, IDX, gzip, sha256, PNG, and the dataset loader's checks.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "engine/data/dataset.h"
#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/gzip.h"
#include "engine/io/idx.h"
#include "engine/io/image.h"
#include "engine/io/model_io.h"
#include "engine/io/safetensors.h"
#include "engine/io/sha256.h"
#include "engine/models.h"
#include "engine/rng.h"
#include "tests/unit/helpers.h"

using namespace advx;

namespace {

std::vector<std::uint8_t> model_bytes(const std::string& arch) {
  Sequential m = make_model(arch, 3);
  const std::string p = test::temp_path(arch + ".safetensors");
  save_model(m, p, {{"advx.test_acc", "0.5"}});
  return read_file(p);
}

// Rewrites the JSON header of a safetensors file (keeping the data) through `edit`.
std::vector<std::uint8_t> edit_header(std::vector<std::uint8_t> b, const std::string& from, const std::string& to) {
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<std::uint64_t>(b[static_cast<size_t>(i)]) << (8 * i);
  std::string h(b.begin() + 8, b.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  const auto pos = h.find(from);
  REQUIRE(pos != std::string::npos);
  h.replace(pos, from.size(), to);
  std::vector<std::uint8_t> out;
  out.reserve(8 + h.size() + b.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(h.size() >> (8 * i)));
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), b.begin() + 8 + static_cast<std::ptrdiff_t>(n), b.end());
  return out;
}

}  // namespace

TEST_CASE("safetensors: a model round-trips exactly, with metadata", "[io]") {
  for (const ArchInfo& a : architectures()) {
    Sequential m = make_model(a.name, 42);
    const std::string p = test::temp_path("rt.safetensors");
    save_model(m, p, {{"advx.test_acc", "0.99"}});
    std::map<std::string, std::string> meta;
    Sequential back = load_model(p, &meta);
    CHECK(back.arch == a.name);
    CHECK(meta["advx.test_acc"] == "0.99");
    auto p1 = m.params(), p2 = back.params();
    REQUIRE(p1.size() == p2.size());
    for (size_t i = 0; i < p1.size(); ++i) {
      CHECK(p1[i].name == p2[i].name);
      CHECK(p1[i].value->data == p2[i].value->data);
    }
  }
}

TEST_CASE("safetensors: PyTorch names and layouts", "[io]") {
  const TensorFile f = safetensors_decode(model_bytes("cnn"), "cnn");
  CHECK(f.tensors.at("0.weight").shape == Shape{32, 1, 5, 5});
  CHECK(f.tensors.at("0.bias").shape == Shape{32});
  CHECK(f.tensors.at("3.weight").shape == Shape{64, 32, 5, 5});
  CHECK(f.tensors.at("7.weight").shape == Shape{1024, 3136});
  CHECK(f.tensors.at("9.weight").shape == Shape{10, 1024});
  CHECK(f.metadata.at("advx.arch") == "cnn");
}

TEST_CASE("safetensors: corrupt, truncated and mismatched files are rejected with a message", "[io][errors]") {
  const std::vector<std::uint8_t> good = model_bytes("small");
  SECTION("empty") {
    REQUIRE_THROWS_WITH(safetensors_decode({}, "w"), Catch::Contains("too short"));
  }
  SECTION("truncated data") {
    std::vector<std::uint8_t> b(good.begin(), good.end() - 100);
    REQUIRE_THROWS_WITH(load_model_bytes(b, "w"), Catch::Contains("truncated"));
  }
  SECTION("truncated header") {
    std::vector<std::uint8_t> b(good.begin(), good.begin() + 40);
    REQUIRE_THROWS_WITH(load_model_bytes(b, "w"), Catch::Contains("truncated"));
  }
  SECTION("huge header length") {
    std::vector<std::uint8_t> b = good;
    b[7] = 0x7f;
    REQUIRE_THROWS_WITH(load_model_bytes(b, "w"), Catch::Contains("header length"));
  }
  SECTION("garbage header") {
    std::vector<std::uint8_t> b = good;
    b[8] = '#';  // first byte of the JSON header
    REQUIRE_THROWS_WITH(load_model_bytes(b, "w"), Catch::Contains("invalid JSON"));
  }
  SECTION("wrong dtype") {
    REQUIRE_THROWS_WITH(load_model_bytes(edit_header(good, "\"F32\"", "\"F16\""), "w"), Catch::Contains("dtype F16"));
  }
  SECTION("shape does not match the bytes") {
    REQUIRE_THROWS_WITH(load_model_bytes(edit_header(good, "[16,1,4,4]", "[16,1,4,5]"), "w"), Catch::Contains("needs"));
  }
  SECTION("wrong architecture for the tensors") {
    REQUIRE_THROWS_WITH(load_model_bytes(edit_header(good, "\"small\"", "\"cnn\""), "w"),
                        Catch::Contains("has shape [16, 1, 4, 4] but 'cnn' needs"));
  }
  SECTION("unknown architecture") {
    REQUIRE_THROWS_WITH(load_model_bytes(edit_header(good, "\"small\"", "\"big!!\""), "w"),
                        Catch::Contains("unknown model architecture"));
  }
  SECTION("NaN weights") {
    std::vector<std::uint8_t> b = good;
    for (size_t i = 0; i < 4; ++i) b[b.size() - 4 + i] = 0xff;  // last float = NaN
    REQUIRE_THROWS_WITH(load_model_bytes(b, "w"), Catch::Contains("NaN"));
  }
  SECTION("missing file") {
    REQUIRE_THROWS_WITH(load_model("/nonexistent/x.safetensors"), Catch::Contains("cannot open"));
  }
}

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[io]") {
  const std::string abc = "abc";
  CHECK(sha256_hex(reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex(nullptr, 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(reinterpret_cast<const std::uint8_t*>(two.data()), two.size()) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256 in pieces: any split of the bytes gives the one-call hash", "[io]") {
  Rng rng(5);
  std::vector<std::uint8_t> bytes(1000);
  for (std::uint8_t& b : bytes) b = static_cast<std::uint8_t>(rng.below(256));
  for (std::size_t n : {0, 1, 55, 56, 63, 64, 65, 119, 127, 128, 129, 1000}) {
    const std::string whole = sha256_hex(bytes.data(), n);
    for (int trial = 0; trial < 5; ++trial) {
      Sha256 s;
      std::size_t at = 0;
      while (at < n) {
        const std::size_t take = std::min<std::size_t>(n - at, rng.below(trial == 0 ? 2 : 150));
        s.update(bytes.data() + at, take);
        at += take;
      }
      INFO("n " << n << " trial " << trial);
      CHECK(s.hex() == whole);
    }
  }
  Sha256 ended;
  ended.update(bytes.data(), 3);
  (void)ended.hex();
  CHECK_THROWS_WITH(ended.update(bytes.data(), 1), Catch::Contains("after hex()"));
}

TEST_CASE("IDX: float32 round trip and errors", "[io][errors]") {
  Tensor t({2, 3, 4});
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = 0.25f * static_cast<float>(i) - 1.0f;
  const IdxArray a = idx_decode(idx_encode_f32(t), "t");
  CHECK(a.type == 0x0D);
  CHECK(a.dims == t.shape);
  CHECK(a.f32 == std::vector<float>(t.data.begin(), t.data.end()));
  std::vector<std::uint8_t> b = idx_encode_f32(t);
  b.pop_back();
  REQUIRE_THROWS_WITH(idx_decode(b, "t"), Catch::Contains("truncated"));
  b[0] = 9;
  REQUIRE_THROWS_WITH(idx_decode(b, "t"), Catch::Contains("magic"));
}

TEST_CASE("PNG: round trip within 1/255 and clear errors", "[io][errors]") {
  Tensor img({1, 28, 28});
  for (size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>(i % 256) / 255.0f;
  const std::string p = test::temp_path("img.png");
  save_png(p, img);
  const Tensor back = load_image(p, 1);
  REQUIRE(back.shape == img.shape);
  for (size_t i = 0; i < img.data.size(); ++i) REQUIRE(back.data[i] == Approx(img.data[i]).margin(0.5 / 255));
  const std::vector<std::uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8};
  REQUIRE_THROWS_WITH(decode_image(junk, 1, "junk.png"), Catch::Contains("cannot decode image 'junk.png'"));
  std::vector<std::uint8_t> cut = read_file(p);
  cut.resize(cut.size() / 2);
  REQUIRE_THROWS_WITH(decode_image(cut, 1, "cut.png"),
                      Catch::Contains("image 'cut.png'") && Catch::Contains("truncated"));
  REQUIRE_THROWS_WITH(decode_image({}, 1, "empty.png"), Catch::Contains("empty"));
}

TEST_CASE("PNG text chunks: written before IEND, read back, the image unchanged, damage is an error", "[io][errors]") {
  Tensor img({3, 4, 5});
  for (size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>(i % 7) / 6.0f;
  const std::vector<std::uint8_t> plain = encode_png(img);
  REQUIRE(png_text(plain, "plain").empty());
  const std::map<std::string, std::string> text = {{"advx.target", "3"},
                                                   {"advx.recipe", "advx patch train --size 0.1"}};
  const std::vector<std::uint8_t> png = add_png_text(plain, text);
  REQUIRE(png_text(png, "p") == text);
  REQUIRE(decode_image(png, 3, "p").data == decode_image(plain, 3, "plain").data);
  REQUIRE_THROWS_WITH(png_text({1, 2, 3}, "junk"), Catch::Contains("not a PNG"));
  std::vector<std::uint8_t> cut = png;
  cut.resize(png.size() - 20);
  REQUIRE_THROWS_WITH(png_text(cut, "cut"), Catch::Contains("truncated"));
  REQUIRE_THROWS_WITH(add_png_text(plain, {{"", "x"}}), Catch::Contains("1 to 79"));
}

TEST_CASE("MNIST loads, sha256-checked, with the documented statistics", "[io][data]") {
  const Dataset d = load_dataset(resolve_data_dir(""), "mnist", "test");
  REQUIRE(d.size() == 10000);
  std::vector<int> count(10, 0);
  for (int y : d.labels) ++count[static_cast<size_t>(y)];
  CHECK(count == std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
  double mean = 0.0;
  for (float v : d.images.data) mean += v;
  CHECK(mean / static_cast<double>(d.images.size()) * 255.0 == Approx(33.79).margin(0.01));
}

TEST_CASE("dataset errors: missing folder, missing file, wrong checksum, bad gzip", "[io][errors]") {
  REQUIRE_THROWS_WITH(resolve_data_dir("/nonexistent/data"), Catch::Contains("does not exist"));
  const std::string dir = test::temp_path("data");
  REQUIRE(std::system(("rm -rf " + dir + " && mkdir -p " + dir + "/mnist").c_str()) == 0);
  REQUIRE_THROWS_WITH(load_dataset(dir, "mnist", "test"), Catch::Contains("is missing"));
  write_file(dir + "/mnist/t10k-images-idx3-ubyte.gz", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3});
  REQUIRE_THROWS_WITH(load_dataset(dir, "mnist", "test"), Catch::Contains("sha256"));
  REQUIRE_THROWS_WITH(load_dataset(dir, "cifar-100", "test"), Catch::Contains("unknown dataset"));
  std::vector<std::uint8_t> bad = {0x1f, 0x8b, 8,    0,    0, 0, 0, 0, 0, 3, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 9, 0, 0,    0};
  REQUIRE_THROWS_WITH(gunzip(bad, "bad.gz"), Catch::Contains("corrupt"));
}
