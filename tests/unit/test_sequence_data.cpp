// Sequence datasets (engine/data/sequences.h): the documented counts, the split, deduplication,
// the tokenizer, the training-only vocabulary, truncation, batches and error messages.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <set>

#include "engine/data/dataset.h"
#include "engine/data/sequences.h"
#include "engine/error.h"
#include "engine/io/file.h"
#include "helpers.h"

using namespace advx;

namespace {

const std::string& data_dir() {
  static const std::string d = resolve_data_dir("");
  return d;
}

std::vector<std::uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

std::vector<int> class_counts(const SequenceSplit& s, int classes) {
  std::vector<int> c(static_cast<size_t>(classes), 0);
  for (int y : s.labels) ++c[static_cast<size_t>(y)];
  return c;
}

// Every line appears in exactly one split.
void check_disjoint(const SequenceDataset& d, int total) {
  std::set<int> lines(d.train.lines.begin(), d.train.lines.end());
  for (int l : d.test.lines) REQUIRE(lines.insert(l).second);
  REQUIRE(static_cast<int>(lines.size()) == total);
  REQUIRE(std::is_sorted(d.train.lines.begin(), d.train.lines.end()));
  REQUIRE(std::is_sorted(d.test.lines.begin(), d.test.lines.end()));
}

}  // namespace

TEST_CASE("SMS tokenizer: lower-case words, apostrophes inside words dropped, non-ASCII characters alone",
          "[seqdata]") {
  using V = std::vector<std::string>;
  CHECK(sms_tokenize("Go until jurong point, crazy.. Available only") ==
        V{"go", "until", "jurong", "point", "crazy", "available", "only"});
  CHECK(sms_tokenize("I don't know, I'm OK") == V{"i", "dont", "know", "im", "ok"});
  CHECK(sms_tokenize("'quoted' it's rock 'n' roll'") == V{"quoted", "its", "rock", "n", "roll"});
  CHECK(sms_tokenize("WIN \xC2\xA3"
                     "1000 cash!! 08712300220") == V{"win", "\xC2\xA3", "1000", "cash", "08712300220"});
  CHECK(sms_tokenize("\xC3\x9C"
                     "ber") == V{"\xC3\x9C", "ber"});  // "Über": non-ASCII is not lower-cased
  CHECK(sms_tokenize("&lt;#&gt; txt:-)2day") == V{"lt", "gt", "txt", "2day"});
  CHECK(sms_tokenize(":-) :-)").empty());
  CHECK(sms_tokenize("").empty());
}

TEST_CASE("SMS Spam Collection: counts, stratified 80/20 split, vocabulary from the training split", "[seqdata]") {
  const SequenceDataset d = load_sequence_dataset(data_dir(), "sms-spam-collection");
  REQUIRE(d.class_names == std::vector<std::string>{"ham", "spam"});
  REQUIRE(d.train.size() + d.test.size() == 5574);
  REQUIRE(d.train.size() == 4460);
  REQUIRE(d.test.size() == 1114);
  CHECK(class_counts(d.train, 2) == std::vector<int>{3862, 598});
  CHECK(class_counts(d.test, 2) == std::vector<int>{965, 149});  // round(20% of 4827), round(20% of 747)
  check_disjoint(d, 5574);
  REQUIRE(d.vocab[0] == "<pad>");
  REQUIRE(d.vocab[1] == "<unk>");
  CHECK(d.vocab_size() == 3736);
  CHECK(d.vocab[2] == "i");  // the most frequent training word
  // Lengths within [1, 64] (the default max_len), no padding id inside a sequence.
  for (const SequenceSplit* s : {&d.train, &d.test})
    for (const auto& seq : s->sequences) {
      REQUIRE(!seq.empty());
      REQUIRE(seq.size() <= 64);
      for (std::int32_t id : seq) REQUIRE((id >= kUnkId && id < d.vocab_size()));
    }

  // The vocabulary comes from the training split only: recount from the raw file.
  const auto raw = parse_sms_spam(read_file(data_dir() + "/sms-spam-collection/SMSSpamCollection"), "sms");
  REQUIRE(raw.size() == 5574);
  std::map<std::string, int> train_count;
  std::set<std::string> test_words;
  std::set<int> train_lines(d.train.lines.begin(), d.train.lines.end());
  for (const RawSequence& r : raw) {
    for (const std::string& w : r.tokens) {
      if (train_lines.count(r.line))
        ++train_count[w];
      else
        test_words.insert(w);
    }
  }
  for (int id = 2; id < d.vocab_size(); ++id) REQUIRE(train_count[d.vocab[static_cast<size_t>(id)]] >= 2);
  int test_only = 0;
  for (const std::string& w : test_words)
    if (!train_count.count(w)) {
      ++test_only;
      REQUIRE(d.id(w) == kUnkId);
    }
  CHECK(test_only > 100);
  // Counts never increase along the ids (frequency order).
  for (int id = 3; id < d.vocab_size(); ++id)
    REQUIRE(train_count[d.vocab[static_cast<size_t>(id) - 1]] >= train_count[d.vocab[static_cast<size_t>(id)]]);
  // The two messages without a token became one <unk>.
  int unk_only = 0;
  for (const SequenceSplit* s : {&d.train, &d.test})
    for (const auto& seq : s->sequences) unk_only += seq == std::vector<std::int32_t>{kUnkId} ? 1 : 0;
  CHECK(unk_only >= 2);
}

TEST_CASE("Sequence datasets: the split is deterministic, and the seed and options change what they say", "[seqdata]") {
  const SequenceDataset a = load_sequence_dataset(data_dir(), "sms-spam-collection");
  const SequenceDataset b = load_sequence_dataset(data_dir(), "sms-spam-collection");
  REQUIRE(a.train.lines == b.train.lines);
  REQUIRE(a.train.sequences == b.train.sequences);
  REQUIRE(a.vocab == b.vocab);
  SequenceOptions o;
  o.seed = 2;
  const SequenceDataset c = load_sequence_dataset(data_dir(), "sms-spam-collection", o);
  REQUIRE(c.train.lines != a.train.lines);
  REQUIRE(class_counts(c.test, 2) == class_counts(a.test, 2));  // same sizes, other samples
  o = {};
  o.min_count = 1;
  o.max_len = 10;
  const SequenceDataset e = load_sequence_dataset(data_dir(), "sms-spam-collection", o);
  REQUIRE(e.train.lines == a.train.lines);
  REQUIRE(e.vocab_size() > a.vocab_size());
  int truncated = 0;
  for (const auto& seq : e.train.sequences) {
    REQUIRE(seq.size() <= 10);
    truncated += seq.size() == 10;
  }
  CHECK(truncated > 1000);
  o = {};
  o.test_percent = 101;
  REQUIRE_THROWS_WITH(load_sequence_dataset(data_dir(), "sms-spam-collection", o), Catch::Contains("[0, 100]"));
}

TEST_CASE("MalbehavD-V1: the README's statistics, dedup by sha256, stratified split, API vocabulary", "[seqdata]") {
  const std::string path = data_dir() + "/malbehavd-v1/MalBehavD-V1-dataset.csv";
  const auto raw = parse_malbehavd(read_file(path), path);
  // README: 2570 rows, 1285 + 1285, lengths 2..175 (mean 43.2), 291 API names, 26 repeated sha256
  // values over 53 rows, no conflicting labels.
  REQUIRE(raw.size() == 2570);
  std::map<std::string, std::vector<const RawSequence*>> by_sha;
  std::set<std::string> apis;
  size_t shortest = 1000, longest = 0, total = 0, malware = 0;
  for (const RawSequence& r : raw) {
    by_sha[r.key].push_back(&r);
    apis.insert(r.tokens.begin(), r.tokens.end());
    shortest = std::min(shortest, r.tokens.size());
    longest = std::max(longest, r.tokens.size());
    total += r.tokens.size();
    malware += static_cast<size_t>(r.label);
  }
  CHECK(malware == 1285);
  CHECK(shortest == 2);
  CHECK(longest == 175);
  CHECK(static_cast<double>(total) / 2570.0 == Approx(43.2).margin(0.05));
  CHECK(apis.size() == 291);
  int repeated = 0, rows_repeated = 0;
  for (const auto& kv : by_sha)
    if (kv.second.size() > 1) {
      ++repeated;
      rows_repeated += static_cast<int>(kv.second.size());
      for (const RawSequence* r : kv.second) REQUIRE(r->label == kv.second[0]->label);
    }
  CHECK(repeated == 26);
  CHECK(rows_repeated == 53);

  const SequenceDataset d = load_sequence_dataset(data_dir(), "malbehavd-v1");
  REQUIRE(d.class_names == std::vector<std::string>{"benign", "malware"});
  REQUIRE(d.duplicates_removed == 27);
  REQUIRE(d.train.size() + d.test.size() == 2543);
  REQUIRE(d.train.size() == 2035);
  REQUIRE(d.test.size() == 508);
  CHECK(class_counts(d.train, 2) == std::vector<int>{1021, 1014});
  CHECK(class_counts(d.test, 2) == std::vector<int>{255, 253});
  // Dedup kept the first row of every sample: the kept lines are exactly the first lines per sha256.
  std::set<int> first_lines;
  for (const auto& kv : by_sha) first_lines.insert(kv.second[0]->line);
  std::set<int> kept(d.train.lines.begin(), d.train.lines.end());
  kept.insert(d.test.lines.begin(), d.test.lines.end());
  REQUIRE(kept == first_lines);
  check_disjoint(d, 2543);
  // API vocabulary from the training split: 288 names there (3 occur only in test traces).
  CHECK(d.vocab_size() == 2 + 288);
  REQUIRE(d.vocab[0] == "<pad>");
  REQUIRE(d.vocab[1] == "<unk>");
  CHECK(d.vocab[2] == "NtClose");
  // No truncation by default: lengths as in the file.
  size_t max_len = 0;
  for (const SequenceSplit* s : {&d.train, &d.test})
    for (size_t i = 0; i < s->sequences.size(); ++i) {
      const RawSequence& r = raw[static_cast<size_t>(s->lines[i]) - 2];  // line 1 is the header
      REQUIRE(s->sequences[i].size() == r.tokens.size());
      for (size_t k = 0; k < r.tokens.size(); ++k)
        REQUIRE((d.vocab[static_cast<size_t>(s->sequences[i][k])] == r.tokens[k] || s->sequences[i][k] == kUnkId));
      max_len = std::max(max_len, s->sequences[i].size());
    }
  CHECK(max_len == 175);
}

TEST_CASE("make_batch pads with id 0 to the longest selected sequence", "[seqdata]") {
  SequenceSplit s;
  s.sequences = {{5, 6, 7}, {8}, {9, 10}};
  s.labels = {0, 1, 0};
  s.lines = {1, 2, 3};
  const Tokens t = make_batch(s, std::vector<int>{1, 2});
  REQUIRE(t.n == 2);
  REQUIRE(t.t == 2);
  REQUIRE(t.ids == std::vector<std::int32_t>{8, 0, 9, 10});
  REQUIRE(t.lengths == std::vector<int>{1, 2});
  const Tokens all = make_batch(s, 0, 3);
  REQUIRE(all.t == 3);
  REQUIRE(all.ids == std::vector<std::int32_t>{5, 6, 7, 8, 0, 0, 9, 10, 0});
  REQUIRE_THROWS_WITH(make_batch(s, std::vector<int>{3}), Catch::Contains("outside the split"));
}

TEST_CASE("Sequence dataset errors: missing file, wrong sha256, malformed lines named by number", "[seqdata][errors]") {
  const std::string dir = test::temp_path("seqdata");
  REQUIRE(std::system(
              ("rm -rf " + dir + " && mkdir -p " + dir + "/sms-spam-collection " + dir + "/malbehavd-v1").c_str()) ==
          0);
  REQUIRE_THROWS_WITH(load_sequence_dataset(dir, "sms-spam-collection"),
                      Catch::Contains("is missing") && Catch::Contains("SMSSpamCollection"));
  REQUIRE_THROWS_WITH(load_sequence_dataset(dir, "malbehavd-v1"), Catch::Contains("MalBehavD-V1-dataset.csv"));
  write_file(dir + "/sms-spam-collection/SMSSpamCollection", bytes_of("ham\thello\n"));
  REQUIRE_THROWS_WITH(load_sequence_dataset(dir, "sms-spam-collection"),
                      Catch::Contains("sha256") && Catch::Contains("copy it again"));
  REQUIRE_THROWS_WITH(load_sequence_dataset(dir, "imdb"), Catch::Contains("unknown sequence dataset"));

  REQUIRE_THROWS_WITH(parse_sms_spam(bytes_of("ham\tok\nspam no tab here\n"), "f"),
                      Catch::Contains("'f' line 2") && Catch::Contains("no tab"));
  REQUIRE_THROWS_WITH(parse_sms_spam(bytes_of("ham\tok\nham\tok\nSpam\tx\n"), "f"),
                      Catch::Contains("line 3") && Catch::Contains("'Spam'"));
  REQUIRE(parse_sms_spam(bytes_of("ham\tok\r\nspam\tWIN\r\n"), "f").size() == 2);  // CRLF tolerated

  const std::string header = "sha256,labels,0,1,2\r\n";
  const std::string sha(64, 'a');
  REQUIRE(parse_malbehavd(bytes_of(header + sha + ",1,NtClose,NtOpenKey,,\r\n"), "m")[0].tokens ==
          std::vector<std::string>{"NtClose", "NtOpenKey"});
  REQUIRE_THROWS_WITH(parse_malbehavd(bytes_of("id,label\r\n"), "m"),
                      Catch::Contains("line 1") && Catch::Contains("header"));
  REQUIRE_THROWS_WITH(parse_malbehavd(bytes_of(header + sha + ",1,A\r\nxyz,0,A\r\n"), "m"),
                      Catch::Contains("line 3") && Catch::Contains("sha256"));
  REQUIRE_THROWS_WITH(parse_malbehavd(bytes_of(header + sha + ",2,A\r\n"), "m"),
                      Catch::Contains("line 2") && Catch::Contains("label '2'"));
  REQUIRE_THROWS_WITH(parse_malbehavd(bytes_of(header + sha + ",0,A,,B\r\n"), "m"),
                      Catch::Contains("line 2") && Catch::Contains("empty cell (column 4)"));
  REQUIRE_THROWS_WITH(parse_malbehavd(bytes_of(header + sha + ",0,,\r\n"), "m"),
                      Catch::Contains("line 2") && Catch::Contains("no API call"));
  REQUIRE_THROWS_WITH(parse_malbehavd(bytes_of(header + sha + ",0\r\n"), "m"), Catch::Contains("2 cells"));
  REQUIRE_THROWS_WITH(parse_malbehavd(bytes_of(header + sha + ",0,\"A,B\"\r\n"), "m"), Catch::Contains("quoted"));
}
