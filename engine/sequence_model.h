// SequenceModel: a sequence classifier, tokens -> Embedding -> LSTM or GRU (last hidden state) ->
// Linear -> logits. The PyTorch module it mirrors (tests/reference/check_rnn.py, class
// SeqClassifier):
//
//   class SeqClassifier(nn.Module):
//       def __init__(self, rnn, vocab, embed_dim, hidden, classes):
//           self.embedding = nn.Embedding(vocab, embed_dim)
//           self.rnn = (nn.LSTM if rnn == "lstm" else nn.GRU)(embed_dim, hidden, batch_first=True)
//           self.fc = nn.Linear(hidden, classes)
//       def forward(self, ids, lengths):
//           packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True,
//                                         enforce_sorted=False)
//           _, h_n = self.rnn(packed)           # LSTM returns (h_n, c_n)
//           if isinstance(h_n, tuple): h_n = h_n[0]
//           return self.fc(h_n[0])              # h_n [1, N, H]: the last valid step's h
//
// so the parameters are named "embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0",
// "rnn.bias_ih_l0", "rnn.bias_hh_l0", "fc.weight", "fc.bias" with PyTorch's layouts, and a
// safetensors file saved here loads with load_state_dict(strict=True).
//
// For attacks: the differentiable input is the embedded sequence e [N, T, E] (token ids are
// discrete). forward(tokens) keeps e (embedded()); forward_embedded(e, lengths) starts from a given
// (e.g. perturbed) e; backward(dlogits, &d_embedded, ...) gives dL/de, exactly 0 at padding
// positions. Like Sequential, backward never changes forward state, so it may run many times.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/layers/layers.h"
#include "engine/layers/sequence.h"
#include "engine/sequence_classifier.h"

namespace advx {

enum class RnnType { LSTM, GRU };

class SequenceModel : public SequenceClassifier {
 public:
  SequenceModel(RnnType type, int vocab, int embed_dim, int hidden, int num_classes);
  SequenceModel(SequenceModel&&) = default;
  SequenceModel& operator=(SequenceModel&&) = default;

  // "seq-lstm" or "seq-gru" (the "advx.arch" metadata of saved files).
  std::string arch() const { return type == RnnType::LSTM ? "seq-lstm" : "seq-gru"; }
  // PyTorch-default initialisation of every module, in the order embedding, rnn, fc.
  void init(Rng& rng);

  // Logits [N, num_classes] of a token batch. The reference stays valid until the next forward.
  const Tensor& forward(const Tokens& tokens, bool train = false);
  // Logits from an embedded batch e [N, T, E] (finite values) and its lengths, skipping the
  // embedding lookup; a backward after it gives no embedding-weight gradient (there are no ids).
  const Tensor& forward_embedded(const Tensor& embedded, const std::vector<int>& lengths);
  // Given dL/dlogits of the last forward: *d_embedded = dL/de [N, T, E] (when not null); adds
  // every parameter's gradient into its grad (when param_grads). Forward state is not changed.
  void backward(const Tensor& dlogits, Tensor* d_embedded, bool param_grads);

  // dL/de of the summed cross-entropy of `labels` (one forward + one backward, no parameter
  // gradients); returns the logits. Fills per-sample losses when `losses` is not null.
  const Tensor& loss_embedded_gradient(const Tokens& tokens, const std::vector<int>& labels, Tensor& d_embedded,
                                       std::vector<float>* losses = nullptr);
  std::vector<int> predict(const Tokens& tokens);

  // SequenceClassifier (sequence_classifier.h): forward, forward_embedded and backward by another name.
  std::string name() const override { return arch(); }
  int classes() const override { return num_classes; }
  const Tensor& embedding_matrix() const override { return embedding.weight; }
  const Tensor& logits(const Tokens& tokens) override { return forward(tokens); }
  const Tensor& logits_embedded(const Tensor& e, const std::vector<int>& lengths) override {
    return forward_embedded(e, lengths);
  }
  void embedded_gradient(const Tensor& dlogits, Tensor& d_embedded) override { backward(dlogits, &d_embedded, false); }
  // The recurrent cell's gates: G H (E + H), G = 4 (LSTM) or 3 (GRU); the classifier head runs once.
  double macs_per_token() const override;

  const Tensor& embedded() const { return emb_; }  // e of the last forward
  std::vector<Param> params();                     // PyTorch names (above)
  void zero_grad();
  std::int64_t num_params();

  RnnType type;
  int vocab, embed_dim, hidden, num_classes;
  Embedding embedding;
  std::unique_ptr<Recurrent> rnn;
  Linear fc;

 private:
  Tokens tokens_;  // of the last forward(tokens)
  bool from_tokens_ = false;
  bool forwarded_ = false;
  Tensor emb_, h_, logits_, dh_, demb_, dlogits_;
};

// Saves as safetensors with PyTorch's names; metadata gets "advx.arch" and "format" = "pt".
void save_sequence_model(SequenceModel& m, const std::string& path,
                         const std::map<std::string, std::string>& metadata = {});
// Reads a file written by save_sequence_model (sizes from the tensor shapes, type from
// "advx.arch"); advx::Error naming the file and the problem otherwise.
SequenceModel load_sequence_model(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);
// The same from a file's bytes (a download); `path` names them in messages.
SequenceModel load_sequence_model_bytes(const std::vector<std::uint8_t>& bytes, const std::string& path,
                                        std::map<std::string, std::string>* metadata = nullptr);

}  // namespace advx
