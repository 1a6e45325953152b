#include "engine/data/cifar10.h"

#include <cstdint>
#include <unordered_map>

#include "engine/data/dataset_jpeg.h"
#include "engine/error.h"
#include "engine/io/gzip.h"
#include "engine/io/zip.h"
#include "engine/parallel.h"

namespace advx {
namespace {

constexpr int kSide = 32, kPlane = kSide * kSide, kPixels = 3 * kPlane;  // one image: 3 x 32 x 32
constexpr int kRecord = 1 + kPixels;                                     // binary record: label + pixels

void require_split(const std::string& split) {
  ADVX_REQUIRE(split == "train" || split == "test", "split must be 'train' or 'test', got '" + split + "'");
}

Dataset empty_cifar10(const std::string& name, int n) {
  Dataset d;
  d.name = name;
  d.num_classes = 10;
  d.class_names = cifar10_class_names();
  d.images = Tensor({n, 3, kSide, kSide});
  d.labels.resize(static_cast<std::size_t>(n));
  return d;
}

// A non-negative decimal integer of at most 9 digits, or -1.
int parse_int(const std::string& s) {
  if (s.empty() || s.size() > 9) return -1;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

struct IndexRow {
  int label = 0;
  std::string member;
};

// `index,label,label_name,member`, one row per image in original order: row i must have index i,
// a label 0-9 whose name is label_name, and a member under <split>/<label_name>/.
std::vector<IndexRow> parse_index(const std::vector<std::uint8_t>& csv, const std::string& split,
                                  const std::string& path) {
  const std::vector<std::string>& names = cifar10_class_names();
  std::vector<IndexRow> rows;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < csv.size()) {
    std::size_t end = pos;
    while (end < csv.size() && csv[end] != '\n') ++end;
    std::string line(csv.begin() + static_cast<std::ptrdiff_t>(pos), csv.begin() + static_cast<std::ptrdiff_t>(end));
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = "'" + path + "' line " + std::to_string(line_no);
    if (line_no == 1) {
      ADVX_REQUIRE(line == "index,label,label_name,member",
                   where + " should be the header 'index,label,label_name,member', got '" + line + "'");
      continue;
    }
    if (line.empty() && pos >= csv.size()) break;
    std::vector<std::string> f(1);
    for (char c : line) {
      if (c == ',')
        f.emplace_back();
      else
        f.back() += c;
    }
    ADVX_REQUIRE(f.size() == 4, where + " should have 4 fields (index,label,label_name,member), got '" + line + "'");
    const int index = parse_int(f[0]), label = parse_int(f[1]);
    ADVX_REQUIRE(index == static_cast<int>(rows.size()), where + ": index '" + f[0] + "', expected " +
                                                             std::to_string(rows.size()) + " (rows in original order)");
    ADVX_REQUIRE(label >= 0 && label < 10, where + ": label '" + f[1] + "' is not a class 0-9");
    const std::string& name = names[static_cast<std::size_t>(label)];
    ADVX_REQUIRE(f[2] == name, where + ": label " + f[1] + " is named '" + f[2] + "', expected '" + name + "'");
    const std::string dir = split + "/" + name + "/";
    ADVX_REQUIRE(f[3].rfind(dir, 0) == 0, where + ": member '" + f[3] + "' is not under " + dir);
    rows.push_back({label, f[3]});
  }
  ADVX_REQUIRE(!rows.empty(), "'" + path + "' lists no images");
  return rows;
}

}  // namespace

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

Dataset load_cifar10(const std::string& data_dir, const std::string& split) {
  require_split(split);
  const std::string csv_rel = "cifar-10/jpeg/" + split + "_index.csv";
  const std::string zip_rel = "cifar-10/jpeg/cifar10_" + split + "_jpg.zip";
  const std::string csv_path = data_dir + "/" + csv_rel, zip_path = data_dir + "/" + zip_rel;
  // read_verified checks each sha256 before anything below parses a byte.
  const std::vector<IndexRow> rows = parse_index(read_verified(data_dir, csv_rel), split, csv_path);
  const std::vector<std::uint8_t> zip = read_verified(data_dir, zip_rel);
  const std::vector<ZipMember> members = zip_stored_members(zip, zip_path);

  std::unordered_map<std::string, std::size_t> by_name;
  by_name.reserve(members.size());
  for (std::size_t k = 0; k < members.size(); ++k)
    ADVX_REQUIRE(by_name.emplace(members[k].name, k).second,
                 "'" + zip_path + "' holds member '" + members[k].name + "' twice");
  ADVX_REQUIRE(rows.size() == members.size(), "'" + csv_path + "' lists " + std::to_string(rows.size()) +
                                                  " images but '" + zip_path + "' holds " +
                                                  std::to_string(members.size()) + " files");
  const int n = static_cast<int>(rows.size());
  Dataset d = empty_cifar10("cifar10", n);
  std::vector<const ZipMember*> member_of(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto it = by_name.find(rows[i].member);
    ADVX_REQUIRE(it != by_name.end(), "'" + csv_path + "' row " + std::to_string(i) + " names member '" +
                                          rows[i].member + "', which is not in '" + zip_path + "'");
    member_of[i] = &members[it->second];
    d.labels[i] = rows[i].label;
  }

  // Decoding is most of the time (about 50 us an image): split over the threads. Nothing in the
  // parallel region throws; a failure is recorded per image and reported afterwards.
  std::vector<const char*> failure(rows.size(), nullptr);
  parallel_rows(
      n, 1.0,
      [&](int begin, int end) {
        std::uint8_t rgb[kPixels];  // HWC as the decoder gives it
        for (int i = begin; i < end; ++i) {
          const ZipMember& m = *member_of[static_cast<std::size_t>(i)];
          const char* why = decode_dataset_jpeg(zip.data() + m.offset, m.size, kSide, kSide, rgb);
          if (why) {
            failure[static_cast<std::size_t>(i)] = why;
            continue;
          }
          float* out = d.images.ptr() + static_cast<std::int64_t>(i) * kPixels;
          for (int p = 0; p < kPlane; ++p)
            for (int c = 0; c < 3; ++c) out[c * kPlane + p] = static_cast<float>(rgb[p * 3 + c]) / 255.0f;
        }
      },
      64.0);
  for (std::size_t i = 0; i < rows.size(); ++i)
    ADVX_REQUIRE(failure[i] == nullptr, "'" + zip_path + "': member '" + rows[i].member + "' (image " +
                                            std::to_string(i) + ") is not a 32x32 JPEG: " + failure[i]);
  return d;
}

Dataset load_cifar10_exact(const std::string& data_dir, const std::string& split) {
  require_split(split);
  const std::string rel = split == "train" ? "cifar-10/lossless/data_batch_1_first4000.bin.gz"
                                           : "cifar-10/lossless/test_batch_first1000.bin.gz";
  const int expect = split == "train" ? 4000 : 1000;
  const std::string path = data_dir + "/" + rel;
  const std::vector<std::uint8_t> raw = gunzip(read_verified(data_dir, rel), path);
  ADVX_REQUIRE(raw.size() == static_cast<std::size_t>(expect) * kRecord,
               "'" + path + "' holds " + std::to_string(raw.size()) + " bytes, expected " + std::to_string(expect) +
                   " CIFAR-10 records of " + std::to_string(kRecord) + " bytes");
  Dataset d = empty_cifar10("cifar10-exact", expect);
  for (int i = 0; i < expect; ++i) {
    const std::uint8_t* rec = raw.data() + static_cast<std::size_t>(i) * kRecord;
    ADVX_REQUIRE(rec[0] < 10, "'" + path + "': record " + std::to_string(i) + " has label " + std::to_string(rec[0]) +
                                  ", not a class 0-9");
    d.labels[static_cast<std::size_t>(i)] = rec[0];
    // The record's pixels are already planar R, G, B (CHW).
    float* out = d.images.ptr() + static_cast<std::int64_t>(i) * kPixels;
    for (int k = 0; k < kPixels; ++k) out[k] = static_cast<float>(rec[1 + k]) / 255.0f;
  }
  return d;
}

}  // namespace advx
