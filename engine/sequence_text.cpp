// TextCodec (sequence_text.h): the dataset's tokenizer and truncation, the model's vocabulary.
#include "engine/sequence_text.h"

#include "engine/data/sequences.h"
#include "engine/error.h"
#include "engine/loss.h"

namespace advx {

TextCodec::TextCodec(const std::map<std::string, std::string>& meta, const std::string& source) {
  const auto ds = meta.find("advx.dataset");
  ADVX_REQUIRE(ds != meta.end(), "model '" + source + "' has no 'advx.dataset' metadata: its tokenizer is unknown");
  dataset_ = ds->second;
  max_len_ = default_max_len(dataset_);  // throws for a dataset that is not a sequence dataset
  const auto v = meta.find("advx.vocab");
  ADVX_REQUIRE(v != meta.end() && !v->second.empty(),
               "model '" + source + "' has no 'advx.vocab' metadata: its token ids cannot be read as words");
  size_t start = 0;
  while (true) {
    const size_t nl = v->second.find('\n', start);
    vocab_.push_back(v->second.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  ADVX_REQUIRE(vocab_.size() > static_cast<size_t>(kUnkId), "model '" + source + "': its vocabulary has " +
                                                                std::to_string(vocab_.size()) +
                                                                " tokens; it needs at least <pad> and <unk>");
  for (size_t i = 0; i < vocab_.size(); ++i) index_.emplace(vocab_[i], static_cast<std::int32_t>(i));
  const auto c = meta.find("advx.classes");
  if (c != meta.end() && !c->second.empty()) {
    size_t s = 0;
    while (true) {
      const size_t comma = c->second.find(',', s);
      classes_.push_back(c->second.substr(s, comma == std::string::npos ? std::string::npos : comma - s));
      if (comma == std::string::npos) break;
      s = comma + 1;
    }
  }
}

const std::string& TextCodec::token(std::int32_t id) const {
  ADVX_REQUIRE(id >= 0 && static_cast<size_t>(id) < vocab_.size(),
               "token id " + std::to_string(id) + " is outside the vocabulary (ids 0.." +
                   std::to_string(static_cast<int>(vocab_.size()) - 1) + ")");
  return vocab_[static_cast<size_t>(id)];
}

EncodedText TextCodec::encode(const std::string& text) const {
  ADVX_REQUIRE(!vocab_.empty(), "TextCodec: no vocabulary (built from a model's metadata?)");
  EncodedText e;
  std::vector<std::string> all = tokenize_text(dataset_, text);
  if (max_len_ > 0 && static_cast<int>(all.size()) > max_len_) {
    e.dropped = static_cast<int>(all.size()) - max_len_;
    all.resize(static_cast<size_t>(max_len_));
  }
  for (std::string& tok : all) {
    const auto it = index_.find(tok);
    // As the loader: a token outside the vocabulary, or a literal "<pad>", reads as <unk>.
    const bool known = it != index_.end() && it->second != kPadId;
    if (!known) e.unknown.push_back(static_cast<int>(e.ids.size()));
    e.ids.push_back(known ? it->second : kUnkId);
    e.tokens.push_back(std::move(tok));
  }
  if (e.ids.empty()) {
    e.empty = true;
    e.tokens = {vocab_[static_cast<size_t>(kUnkId)]};
    e.ids = {kUnkId};
    e.unknown = {0};
  }
  return e;
}

std::string TextCodec::join(const std::vector<std::string>& tokens) const {
  const char* sep = max_len_ > 0 ? " " : "\n";  // SMS (truncated) or traces (whole)
  std::string out;
  for (const std::string& t : tokens) {
    if (t.empty()) continue;
    out += (out.empty() ? "" : sep) + t;
  }
  return out;
}

TextEdit TextCodec::describe(const EncodedText& original, const TokenSeq& adv, SeqEdit edit) const {
  const TokenSeq& o = original.ids;
  ADVX_REQUIRE(original.tokens.size() == o.size(), "describe: the original's tokens and ids differ in number");
  TextEdit r;
  // The original's spelling of a kept token ("" for the placeholder of an empty text).
  auto kept = [&](size_t j) { return original.empty ? std::string() : original.tokens[j]; };
  if (edit == SeqEdit::Substitute) {
    ADVX_REQUIRE(adv.size() == o.size(), "describe: a substitution keeps the length (" + std::to_string(o.size()) +
                                             " tokens), the adversarial has " + std::to_string(adv.size()));
    for (size_t i = 0; i < adv.size(); ++i) {
      if (adv[i] == o[i]) {
        r.tokens.push_back(kept(i));
      } else {
        r.tokens.push_back(token(adv[i]));
        r.edited.push_back(static_cast<int>(i));
      }
    }
  } else {
    // Greedy alignment: a token that matches the next original one is that one, others are added.
    size_t j = 0;
    for (size_t i = 0; i < adv.size(); ++i) {
      if (j < o.size() && adv[i] == o[j]) {
        r.tokens.push_back(kept(j++));
      } else {
        r.tokens.push_back(token(adv[i]));
        r.edited.push_back(static_cast<int>(i));
      }
    }
    ADVX_REQUIRE(j == o.size(), "describe: the adversarial does not hold the original's " + std::to_string(o.size()) +
                                    " tokens in order; it is not an insertion");
  }
  r.text = join(r.tokens);
  for (std::string& t : r.tokens)
    if (t.empty()) t = vocab_[static_cast<size_t>(kUnkId)];
  return r;
}

std::vector<float> sequence_probabilities(SequenceClassifier& model, const TokenSeq& ids) {
  ADVX_REQUIRE(!ids.empty(), "a sequence needs at least one token");
  for (std::int32_t id : ids)
    ADVX_REQUIRE(id > 0 && id < model.vocab_size(), "token id " + std::to_string(id) + " is not in the model's " +
                                                        std::to_string(model.vocab_size()) + "-token vocabulary");
  Tokens t;
  pack_tokens({&ids}, t);
  const Tensor p = softmax(model.logits(t));
  return std::vector<float>(p.data.begin(), p.data.end());
}

}  // namespace advx
