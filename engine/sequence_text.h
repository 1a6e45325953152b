// Text in, token ids out, for a saved sequence model (engine/sequence_model.h), and an attack's
// edits back as text: what the playground shows while a message is typed and what its JS API takes
// and returns. A model's metadata names its dataset ("advx.dataset": the dataset's tokenizer and
// truncation, engine/data/sequences.h) and holds its vocabulary ("advx.vocab", one token per line,
// line k = id k), so a typed message becomes exactly the ids the dataset's loader gives it.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/seqattacks/seq_attack.h"
#include "engine/sequence_classifier.h"

namespace advx {

struct EncodedText {
  std::vector<std::string> tokens;  // what the model reads, in order (SMS words lower-cased)
  TokenSeq ids;                     // one per token, >= 1 of them
  std::vector<int> unknown;         // positions of tokens the vocabulary lacks (read as <unk>)
  int dropped = 0;                  // tokens past the dataset's maximum length (not read)
  bool empty = false;               // the text had no token: one <unk>, as the loader does
};

// An attack's result as text: the adversarial's tokens (the original's own spelling where a token
// was kept, the vocabulary's where the attack put one), the positions the attack put a token at
// (substituted or inserted), and the tokens as text that encodes to the same ids again.
struct TextEdit {
  std::vector<std::string> tokens;
  std::vector<int> edited;
  std::string text;
};

class TextCodec {
 public:
  TextCodec() = default;
  // From a sequence model's metadata. advx::Error naming `source` if "advx.dataset" is not a
  // sequence dataset or "advx.vocab" is missing.
  TextCodec(const std::map<std::string, std::string>& metadata, const std::string& source);
  const std::string& dataset() const { return dataset_; }
  // "advx.classes" (comma separated), else "0", "1", ...
  const std::vector<std::string>& classes() const { return classes_; }
  int vocab_size() const { return static_cast<int>(vocab_.size()); }
  const std::string& token(std::int32_t id) const;  // throws for an id outside the vocabulary
  EncodedText encode(const std::string& text) const;
  // Tokens as text: SMS words separated by spaces, trace calls one per line.
  std::string join(const std::vector<std::string>& tokens) const;
  // `adv` is `original.ids` after an attack that edits by `edit`: the same length with some ids
  // replaced (Substitute), or the original's ids in order with others added (Insert; a token is
  // matched to the earliest original one it can be, so of two equal neighbours the later counts as
  // the added one). Throws if adv is not such an edit.
  TextEdit describe(const EncodedText& original, const TokenSeq& adv, SeqEdit edit) const;

 private:
  std::string dataset_;
  std::vector<std::string> vocab_, classes_;
  std::map<std::string, std::int32_t> index_;
  int max_len_ = 0;
};

// Class probabilities (the softmax of the logits) of one sequence of ids.
std::vector<float> sequence_probabilities(SequenceClassifier& model, const TokenSeq& ids);

}  // namespace advx
