// Sequence datasets for the sequence classifiers (engine/sequence_model.h), read from the shared
// data folder (never downloaded), each file checked by sha256 first:
//
//   "sms-spam-collection"  SMS Spam Collection v.1 (Almeida, Gomez Hidalgo, Yamakami, DocEng 2011):
//                          5574 messages, 4827 ham (label 0) and 747 spam (label 1), words as tokens.
//   "malbehavd-v1"         MalbehavD-V1 (Maniriho, Mahmood, Chowdhury, JNCA 2023): Windows API-call
//                          traces, 2570 rows, 0 = benign, 1 = malware, API names as tokens.
//
// What a loader does, in order (each step fixed, so that every number is comparable):
//  1. Parse; any malformed line is an advx::Error naming the file and the line.
//  2. malbehavd-v1 only: deduplicate by the sha256 column (the sha256 of the executable, so one
//     sample), keeping its first row: 26 samples have more than one row (53 rows; same label each
//     time, identical traces for 15 of them), so 27 rows go and 2543 traces remain, 1276 benign and
//     1267 malware. Without it, one executable could sit in both the training and the test split.
//  3. A stratified split: per class, the samples in file order are shuffled by Fisher-Yates with
//     advx::Rng(seed) (classes in label order, one Rng), the first round(n_c * test_percent / 100)
//     go to test, the rest to train; both splits are then kept in file order. Default seed 1 and
//     20%: SMS 4460 train / 1114 test, MalbehavD 2035 / 508.
//  4. The vocabulary from the training split only: id 0 = "<pad>" (padding, never a token of a
//     sequence), id 1 = "<unk>" (any token not in the vocabulary), then every token seen at least
//     min_count times in the training sequences (all their tokens, before truncation), by
//     descending count, ties in byte order.
//  5. Encoding: tokens -> ids, then truncation to the first max_len tokens (max_len 0: none).
//
// The SMS tokenizer (sms_tokenize), precisely:
//  - ASCII letters are lower-cased; a maximal run of ASCII letters and digits is a word;
//  - an ASCII apostrophe ' between two letters/digits is dropped and the word goes on
//    ("don't" -> "dont", "I'm" -> "im"); anywhere else it separates;
//  - every non-ASCII character (one UTF-8 sequence: a lead byte and its continuation bytes) is a
//    token of its own, kept as it is ("£" in "£1000" -> "£", "1000"; "Ü" is not lower-cased);
//  - every other byte (space, ASCII punctuation, control) separates tokens;
//  - a message with no token at all (2 in the corpus: ":)" and ":-) :-)") becomes one "<unk>".
// Defaults: SMS min_count 2, max_len 64 (33 of the 5574 messages are longer; at most 189 tokens);
// MalbehavD min_count 1, max_len 0 (traces are 2 to 175 calls, all kept whole).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/io/sha256.h"
#include "engine/layers/sequence.h"

namespace advx {

constexpr std::int32_t kPadId = 0;
constexpr std::int32_t kUnkId = 1;

struct SequenceSplit {
  std::vector<std::vector<std::int32_t>> sequences;  // token ids, length >= 1, no padding
  std::vector<int> labels;
  std::vector<int> lines;  // 1-based line of each sample in the source file
  // Each sample as text (the loaders fill it; empty in splits built by hand): the SMS as in the
  // file; a trace's calls one per line. tokenize_text() of it gives the sample's tokens again.
  std::vector<std::string> texts;
  int size() const { return static_cast<int>(labels.size()); }
};

struct SequenceDataset {
  std::string name;
  std::vector<std::string> class_names;       // label -> name
  std::vector<std::string> vocab;             // id -> token
  std::map<std::string, std::int32_t> index;  // token -> id (the inverse of vocab)
  SequenceSplit train, test;
  int duplicates_removed = 0;  // rows dropped by deduplication
  int num_classes() const { return static_cast<int>(class_names.size()); }
  int vocab_size() const { return static_cast<int>(vocab.size()); }
  std::int32_t id(const std::string& token) const;  // kUnkId if not in the vocabulary
};

struct SequenceOptions {
  std::uint64_t seed = 1;  // the split's shuffle
  int test_percent = 20;   // per class, rounded to the nearest sample
  int min_count = -1;      // vocabulary threshold; -1: the dataset's default (SMS 2, MalbehavD 1)
  int max_len = -1;        // truncation; 0: none; -1: the dataset's default (SMS 64, MalbehavD 0)
};

// name "sms-spam-collection" or "malbehavd-v1". Throws advx::Error saying what is wrong (missing
// file, sha256 mismatch, malformed line, bad option) and how to fix it.
SequenceDataset load_sequence_dataset(const std::string& data_dir, const std::string& name,
                                      const SequenceOptions& options = {});
// The same from the file's bytes (the playground's copy): checked against the same sha256 first;
// `source` names the bytes in messages.
SequenceDataset sequence_dataset_from_bytes(const std::string& name, const std::vector<std::uint8_t>& bytes,
                                            const std::string& source, const SequenceOptions& options = {});
// The file a dataset is read from, relative to the data folder ("sms-spam-collection/SMSSpamCollection").
std::string sequence_dataset_file(const std::string& name);

// One parsed sample before the split and the vocabulary.
struct RawSequence {
  std::vector<std::string> tokens;
  int label = 0;
  int line = 0;      // 1-based
  std::string key;   // the sha256 column (MalbehavD), empty for SMS
  std::string text;  // the sample as text (SequenceSplit::texts)
};
// sequence_dataset_from_bytes in steps, for a UI that keeps drawing while a dataset is read (the
// playground's sequence view): each step() does a bounded piece (256 KB of the checksum, about 64 KB
// of lines parsed, the split, 512 samples counted for the vocabulary or encoded), so the whole load
// spreads over frames. sequence_dataset_from_bytes is this load stepped to the end: the same dataset.
class SequenceDatasetLoad {
 public:
  SequenceDatasetLoad(const std::string& name, std::vector<std::uint8_t> bytes, std::string source,
                      const SequenceOptions& options = {});
  // One piece; true once the dataset is complete. Throws advx::Error as the one-call loader does.
  bool step();
  double progress() const;  // 0 .. 1
  SequenceDataset take();   // once step() returned true; once

 private:
  enum class Stage { kHash, kParse, kSplit, kCount, kEncode, kDone };
  std::vector<std::uint8_t> bytes_;
  std::string source_, expected_sha_;
  bool sms_ = false;
  int min_count_ = 1, max_len_ = 0, test_percent_ = 20;
  std::uint64_t seed_ = 1;
  Stage stage_ = Stage::kHash;
  std::size_t pos_ = 0;  // bytes hashed, then bytes parsed
  Sha256 sha_;
  int line_ = 0;  // lines parsed
  std::vector<RawSequence> raw_;
  std::vector<int> train_idx_, test_idx_;
  int at_ = 0;  // samples counted, then encoded
  std::map<std::string, int> counts_;
  SequenceDataset d_;
  bool taken_ = false;
};

// The parsers alone (no checksum), `source` naming the file in messages.
std::vector<RawSequence> parse_sms_spam(const std::vector<std::uint8_t>& bytes, const std::string& source);
std::vector<RawSequence> parse_malbehavd(const std::vector<std::uint8_t>& bytes, const std::string& source);
std::vector<std::string> sms_tokenize(const std::string& text);
// API names of a trace typed as text: separated by whitespace or commas.
std::vector<std::string> trace_tokenize(const std::string& text);
// A text's tokens as the dataset's loader reads them (sms_tokenize or trace_tokenize), before the
// vocabulary and truncation; and the truncation the loader applies by default (0: none).
std::vector<std::string> tokenize_text(const std::string& name, const std::string& text);
int default_max_len(const std::string& name);
// Step 3 above: indices into `labels` of the test and training samples, each ascending.
void stratified_split(const std::vector<int>& labels, int num_classes, int test_percent, std::uint64_t seed,
                      std::vector<int>& train, std::vector<int>& test);

// A padded batch of the given samples of `split`: T = the longest of them, ids padded with kPadId.
Tokens make_batch(const SequenceSplit& split, const std::vector<int>& indices);
// Samples [begin, begin + count) of `split`.
Tokens make_batch(const SequenceSplit& split, int begin, int count);

}  // namespace advx
