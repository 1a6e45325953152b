// The sequence datasets' parsers: the SMS Spam Collection's TSV and its tokenizer, MalbehavD's CSV;
// then the seeded stratified split on what parsed. The first byte picks the parser.
#include "engine/data/sequences.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::vector<std::uint8_t> bytes = advx::fuzz::bytes_of(data + 1, size - 1);
  std::vector<advx::RawSequence> rows;
  advx::fuzz::refused_or_ok([&] {
    switch (data[0] % 3) {
      case 0:
        rows = advx::parse_sms_spam(bytes, "fuzz");
        break;
      case 1:
        rows = advx::parse_malbehavd(bytes, "fuzz");
        break;
      default:
        for (const std::string& t : advx::sms_tokenize(std::string(bytes.begin(), bytes.end())))
          if (t.empty()) __builtin_trap();
    }
  });
  std::vector<int> labels, train, test;
  for (const advx::RawSequence& r : rows) labels.push_back(r.label);
  advx::fuzz::refused_or_ok([&] { advx::stratified_split(labels, 2, 20, 1, train, test); });
  if (!rows.empty() && train.size() + test.size() != rows.size()) __builtin_trap();
  return 0;
}
