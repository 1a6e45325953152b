// Sequence datasets: parsing, deduplication, the seeded stratified split, the training-split
// vocabulary and encoding. The rules are stated in sequences.h; file formats in
// shared/data/sms-spam-collection/README.md and shared/data/malbehavd-v1/README.md.
#include "engine/data/sequences.h"

#include <algorithm>
#include <set>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/sha256.h"
#include "engine/rng.h"

namespace advx {
namespace {

struct DatasetFile {
  const char* name;
  const char* rel;  // path under the data folder
  const char* sha256;
};

// As listed in shared/data/*/README.md.
const DatasetFile kSms = {"sms-spam-collection", "sms-spam-collection/SMSSpamCollection",
                          "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"};
const DatasetFile kMal = {"malbehavd-v1", "malbehavd-v1/MalBehavD-V1-dataset.csv",
                          "1e39c43a014e9b4ee56766ad6bb367ffe8ec4316eb0be75eb182c3b2d15f6364"};

const DatasetFile& dataset_file(const std::string& name) {
  ADVX_REQUIRE(name == kSms.name || name == kMal.name,
               "unknown sequence dataset '" + name + "'; known: " + kSms.name + ", " + kMal.name);
  return name == kSms.name ? kSms : kMal;
}

// Lines of a text file without their line ends (LF or CRLF); a final line end adds no empty line.
// The line of `bytes` at `pos` without its line end (LF or CRLF), pos moved past it; false at the end.
// A final line end adds no empty line.
bool next_line(const std::vector<std::uint8_t>& bytes, std::size_t& pos, std::string& out) {
  if (pos >= bytes.size()) return false;
  const auto begin = bytes.begin() + static_cast<std::ptrdiff_t>(pos);
  const auto nl = std::find(begin, bytes.end(), static_cast<std::uint8_t>('\n'));
  out.assign(begin, nl);
  pos = nl == bytes.end() ? bytes.size() : static_cast<std::size_t>(nl - bytes.begin()) + 1;
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return true;
}

std::string where(const std::string& source, int line) {
  return "'" + source + "' line " + std::to_string(line);
}

bool is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::int32_t SequenceDataset::id(const std::string& token) const {
  auto it = index.find(token);
  return it == index.end() ? kUnkId : it->second;
}

std::vector<std::string> sms_tokenize(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&]() {
    if (!word.empty()) out.push_back(word);
    word.clear();
  };
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_alnum(c)) {
      word.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
      ++i;
    } else if (c == '\'' && !word.empty() && i + 1 < n && is_alnum(static_cast<unsigned char>(text[i + 1]))) {
      ++i;  // an apostrophe inside a word is dropped: don't -> dont
    } else if (c >= 0x80) {
      // One UTF-8 character (lead byte + continuation bytes 10xxxxxx) is a token of its own.
      flush();
      size_t j = i + 1;
      while (j < n && (static_cast<unsigned char>(text[j]) & 0xC0) == 0x80) ++j;
      out.push_back(text.substr(i, j - i));
      i = j;
    } else {
      flush();
      ++i;
    }
  }
  flush();
  return out;
}

std::vector<std::string> trace_tokenize(const std::string& text) {
  std::vector<std::string> out;
  std::string name;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '\f' || c == '\v') {
      if (!name.empty()) out.push_back(name);
      name.clear();
    } else {
      name.push_back(c);
    }
  }
  if (!name.empty()) out.push_back(name);
  return out;
}

std::vector<std::string> tokenize_text(const std::string& name, const std::string& text) {
  return dataset_file(name).name == kSms.name ? sms_tokenize(text) : trace_tokenize(text);
}

int default_max_len(const std::string& name) {
  return dataset_file(name).name == kSms.name ? 64 : 0;
}

std::string sequence_dataset_file(const std::string& name) {
  return dataset_file(name).rel;
}

namespace {

RawSequence parse_sms_line(const std::string& s, int line, const std::string& source) {
  const size_t tab = s.find('\t');
  ADVX_REQUIRE(tab != std::string::npos, where(source, line) + " has no tab; every line must be 'ham<TAB>text' or " +
                                             "'spam<TAB>text' (is this the SMSSpamCollection file?)");
  const std::string label = s.substr(0, tab);
  ADVX_REQUIRE(label == "ham" || label == "spam",
               where(source, line) + " has label '" + label.substr(0, 40) + "'; expected 'ham' or 'spam'");
  RawSequence r;
  r.label = label == "spam" ? 1 : 0;
  r.line = line;
  r.text = s.substr(tab + 1);
  r.tokens = sms_tokenize(r.text);
  return r;
}

void check_malbehavd_header(const std::string& first, const std::string& source) {
  ADVX_REQUIRE(first.rfind("sha256,labels,", 0) == 0,
               where(source, 1) + " is not the header 'sha256,labels,0,1,...'; is this MalBehavD-V1-dataset.csv?");
}

RawSequence parse_malbehavd_line(const std::string& s, int line, const std::string& source) {
  ADVX_REQUIRE(s.find('"') == std::string::npos,
               where(source, line) + " has a quoted field; MalbehavD rows are plain comma-separated names");
  std::vector<std::string> cells;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    cells.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  ADVX_REQUIRE(cells.size() >= 3, where(source, line) + " has " + std::to_string(cells.size()) +
                                      " cells; a row is sha256, label, then at least one API call");
  const std::string& sha = cells[0];
  ADVX_REQUIRE(sha.size() == 64 && std::all_of(sha.begin(), sha.end(),
                                               [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }),
               where(source, line) + ": the first cell '" + sha.substr(0, 70) +
                   "' is not a sample sha256 (64 lower-case hex digits)");
  ADVX_REQUIRE(cells[1] == "0" || cells[1] == "1",
               where(source, line) + ": label '" + cells[1].substr(0, 20) + "' is not 0 (benign) or 1 (malware)");
  RawSequence r;
  r.key = sha;
  r.label = cells[1] == "1" ? 1 : 0;
  r.line = line;
  size_t end = 2;
  while (end < cells.size() && !cells[end].empty()) ++end;
  for (size_t c = end; c < cells.size(); ++c)
    ADVX_REQUIRE(cells[c].empty(), where(source, line) + ": an empty cell (column " + std::to_string(end + 1) +
                                       ") before the API call '" + cells[c].substr(0, 60) + "' in column " +
                                       std::to_string(c + 1) + "; calls must be contiguous, padding only at the end");
  ADVX_REQUIRE(end > 2, where(source, line) + " has no API call");
  r.tokens.assign(cells.begin() + 2, cells.begin() + static_cast<std::ptrdiff_t>(end));
  for (const std::string& call : r.tokens) r.text += (r.text.empty() ? "" : "\n") + call;
  return r;
}

// Whole lines from `pos` until it reaches `stop` or the end (MalbehavD: line 1 is the header), each
// sample appended to `out`; `line` counts the lines read.
void parse_lines(const std::vector<std::uint8_t>& bytes, std::size_t& pos, std::size_t stop, bool sms, int& line,
                 std::vector<RawSequence>& out, const std::string& source) {
  std::string s;
  while (pos < stop && next_line(bytes, pos, s)) {
    ++line;
    if (!sms && line == 1)
      check_malbehavd_header(s, source);
    else
      out.push_back(sms ? parse_sms_line(s, line, source) : parse_malbehavd_line(s, line, source));
  }
}

// After the last line: an empty file, or one without a sample, is an error.
void check_parsed(bool sms, int lines, const std::vector<RawSequence>& out, const std::string& source) {
  if (!sms && lines == 0) check_malbehavd_header(std::string(), source);
  ADVX_REQUIRE(!out.empty(), "'" + source + "' holds no " + (sms ? "messages" : "rows"));
}

}  // namespace

std::vector<RawSequence> parse_sms_spam(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  std::vector<RawSequence> out;
  std::size_t pos = 0;
  int line = 0;
  parse_lines(bytes, pos, bytes.size(), true, line, out, source);
  check_parsed(true, line, out, source);
  return out;
}

std::vector<RawSequence> parse_malbehavd(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  std::vector<RawSequence> out;
  std::size_t pos = 0;
  int line = 0;
  parse_lines(bytes, pos, bytes.size(), false, line, out, source);
  check_parsed(false, line, out, source);
  return out;
}

void stratified_split(const std::vector<int>& labels, int num_classes, int test_percent, std::uint64_t seed,
                      std::vector<int>& train, std::vector<int>& test) {
  ADVX_REQUIRE(test_percent >= 0 && test_percent <= 100,
               "test percentage must be in [0, 100], got " + std::to_string(test_percent));
  train.clear();
  test.clear();
  Rng rng(seed);
  for (int c = 0; c < num_classes; ++c) {
    std::vector<int> idx;
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == c) idx.push_back(static_cast<int>(i));
    // Fisher-Yates with our own Rng: the same split on every platform.
    for (size_t i = idx.size(); i-- > 1;)
      std::swap(idx[i], idx[static_cast<size_t>(rng.below(static_cast<std::uint64_t>(i) + 1))]);
    const size_t n_test = (idx.size() * static_cast<size_t>(test_percent) + 50) / 100;  // round half up
    test.insert(test.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n_test));
    train.insert(train.end(), idx.begin() + static_cast<std::ptrdiff_t>(n_test), idx.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(test.begin(), test.end());
}

SequenceDataset load_sequence_dataset(const std::string& data_dir, const std::string& name,
                                      const SequenceOptions& options) {
  const DatasetFile& file = dataset_file(name);
  const std::string path = data_dir + "/" + file.rel;
  ADVX_REQUIRE(file_exists(path), "dataset file '" + path + "' is missing; the data folder should hold " + file.rel +
                                      " (see shared/data/" + file.name + "/README.md)");
  return sequence_dataset_from_bytes(name, read_file(path), path, options);
}

SequenceDataset sequence_dataset_from_bytes(const std::string& name, const std::vector<std::uint8_t>& bytes,
                                            const std::string& source, const SequenceOptions& options) {
  SequenceDatasetLoad load(name, bytes, source, options);
  while (!load.step()) {
  }
  return load.take();
}

// ---- the load in steps --------------------------------------------------------------------------

namespace {
constexpr std::size_t kHashBytes = 256 * 1024;  // a step's share of the checksum
constexpr std::size_t kParseBytes = 64 * 1024;  // ... of the parse (whole lines, at least one)
constexpr int kSamples = 512;                   // ... of the vocabulary count and of the encoding
}  // namespace

SequenceDatasetLoad::SequenceDatasetLoad(const std::string& name, std::vector<std::uint8_t> bytes, std::string source,
                                         const SequenceOptions& options)
    : bytes_(std::move(bytes)), source_(std::move(source)) {
  const DatasetFile& file = dataset_file(name);
  sms_ = &file == &kSms;
  expected_sha_ = file.sha256;
  min_count_ = options.min_count >= 0 ? options.min_count : (sms_ ? 2 : 1);
  max_len_ = options.max_len >= 0 ? options.max_len : default_max_len(name);
  test_percent_ = options.test_percent;
  seed_ = options.seed;
  ADVX_REQUIRE(min_count_ >= 1, "vocabulary min_count must be >= 1, got " + std::to_string(min_count_));
  d_.name = name;
  d_.class_names = sms_ ? std::vector<std::string>{"ham", "spam"} : std::vector<std::string>{"benign", "malware"};
}

bool SequenceDatasetLoad::step() {
  switch (stage_) {
    case Stage::kHash: {  // the file's sha256, a slice at a time
      const std::size_t n = std::min(kHashBytes, bytes_.size() - pos_);
      sha_.update(bytes_.data() + pos_, n);
      pos_ += n;
      if (pos_ < bytes_.size()) return false;
      const std::string got = sha_.hex();
      ADVX_REQUIRE(got == expected_sha_, "dataset file '" + source_ + "' has sha256 " + got + ", expected " +
                                             expected_sha_ +
                                             ": the file is corrupt or not the official one; copy it again");
      pos_ = 0;
      stage_ = Stage::kParse;
      return false;
    }
    case Stage::kParse: {  // whole lines, about kParseBytes a step
      parse_lines(bytes_, pos_, pos_ + kParseBytes, sms_, line_, raw_, source_);
      if (pos_ < bytes_.size()) return false;
      check_parsed(sms_, line_, raw_, source_);
      stage_ = Stage::kSplit;
      return false;
    }
    case Stage::kSplit: {
      if (!sms_) {  // deduplicate by sample sha256, first row wins
        std::set<std::string> seen;
        std::vector<RawSequence> kept;
        for (RawSequence& r : raw_)
          if (seen.insert(r.key).second) kept.push_back(std::move(r));
        d_.duplicates_removed = static_cast<int>(raw_.size() - kept.size());
        raw_ = std::move(kept);
      }
      std::vector<int> labels;
      labels.reserve(raw_.size());
      for (const RawSequence& r : raw_) labels.push_back(r.label);
      stratified_split(labels, d_.num_classes(), test_percent_, seed_, train_idx_, test_idx_);
      at_ = 0;
      stage_ = Stage::kCount;
      return false;
    }
    case Stage::kCount: {  // the vocabulary from the training split only
      const int end = std::min(static_cast<int>(train_idx_.size()), at_ + kSamples);
      for (; at_ < end; ++at_)
        for (const std::string& tok : raw_[static_cast<size_t>(train_idx_[static_cast<size_t>(at_)])].tokens)
          ++counts_[tok];
      if (at_ < static_cast<int>(train_idx_.size())) return false;
      std::vector<std::pair<std::string, int>> kept;
      for (const auto& kv : counts_)
        if (kv.second >= min_count_) kept.push_back(kv);
      std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
      d_.vocab = {"<pad>", "<unk>"};
      for (const auto& kv : kept) d_.vocab.push_back(kv.first);
      for (size_t i = 0; i < d_.vocab.size(); ++i) d_.index[d_.vocab[i]] = static_cast<std::int32_t>(i);
      counts_.clear();
      at_ = 0;
      stage_ = Stage::kEncode;
      return false;
    }
    case Stage::kEncode: {  // the training samples, then the test samples
      const int n_train = static_cast<int>(train_idx_.size()), n_all = n_train + static_cast<int>(test_idx_.size());
      const int end = std::min(n_all, at_ + kSamples);
      for (; at_ < end; ++at_) {
        const bool train = at_ < n_train;
        const int i = train ? train_idx_[static_cast<size_t>(at_)] : test_idx_[static_cast<size_t>(at_ - n_train)];
        SequenceSplit& out = train ? d_.train : d_.test;
        const RawSequence& r = raw_[static_cast<size_t>(i)];
        std::vector<std::int32_t> ids;
        for (const std::string& tok : r.tokens) {
          if (max_len_ > 0 && static_cast<int>(ids.size()) == max_len_) break;
          const std::int32_t id = d_.id(tok);
          ids.push_back(id == kPadId ? kUnkId : id);  // a literal "<pad>" token is unknown, never padding
        }
        if (ids.empty()) ids.push_back(kUnkId);  // a message without tokens
        out.sequences.push_back(std::move(ids));
        out.labels.push_back(r.label);
        out.lines.push_back(r.line);
        out.texts.push_back(r.text);
      }
      if (at_ < n_all) return false;
      raw_.clear();
      bytes_.clear();
      bytes_.shrink_to_fit();
      stage_ = Stage::kDone;
      return true;
    }
    case Stage::kDone:
      return true;
  }
  return true;
}

double SequenceDatasetLoad::progress() const {
  // The checksum and the parse by bytes (most of the time), then the count and the encoding by samples.
  const double nb = std::max<double>(1.0, static_cast<double>(bytes_.size()));
  const double ns = std::max<double>(1.0, static_cast<double>(train_idx_.size() + test_idx_.size()));
  switch (stage_) {
    case Stage::kHash:
      return 0.3 * static_cast<double>(pos_) / nb;
    case Stage::kParse:
      return 0.3 + 0.4 * static_cast<double>(pos_) / nb;
    case Stage::kSplit:
      return 0.7;
    case Stage::kCount:
      return 0.7 + 0.1 * at_ / std::max<double>(1.0, static_cast<double>(train_idx_.size()));
    case Stage::kEncode:
      return 0.8 + 0.2 * at_ / ns;
    case Stage::kDone:
      return 1.0;
  }
  return 1.0;
}

SequenceDataset SequenceDatasetLoad::take() {
  ADVX_REQUIRE(stage_ == Stage::kDone && !taken_, taken_
                                                      ? "the sequence dataset was taken already"
                                                      : "the sequence dataset is still loading (step() it to the end)");
  taken_ = true;
  return std::move(d_);
}

Tokens make_batch(const SequenceSplit& split, const std::vector<int>& indices) {
  Tokens t;
  t.n = static_cast<int>(indices.size());
  for (int i : indices) {
    ADVX_REQUIRE(i >= 0 && i < split.size(), "make_batch: sample " + std::to_string(i) + " is outside the split's " +
                                                 std::to_string(split.size()) + " samples");
    t.t = std::max(t.t, static_cast<int>(split.sequences[static_cast<size_t>(i)].size()));
  }
  t.ids.assign(static_cast<size_t>(t.n) * static_cast<size_t>(t.t), kPadId);
  t.lengths.resize(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    const auto& seq = split.sequences[static_cast<size_t>(indices[k])];
    std::copy(seq.begin(), seq.end(), t.ids.begin() + static_cast<std::ptrdiff_t>(k * static_cast<size_t>(t.t)));
    t.lengths[k] = static_cast<int>(seq.size());
  }
  return t;
}

Tokens make_batch(const SequenceSplit& split, int begin, int count) {
  std::vector<int> idx(static_cast<size_t>(std::max(count, 0)));
  for (int k = 0; k < count; ++k) idx[static_cast<size_t>(k)] = begin + k;
  return make_batch(split, idx);
}

}  // namespace advx
