// SequenceModel (sequence_model.h): Embedding -> LSTM / GRU -> Linear, with the activations of the
// last forward kept (emb_ [N, T, E], h_ [N, H], logits_ [N, C]) so backward can run many times.
//
// Backward, from dL/dz (z = logits):
//   dL/dh = dL/dz W_fc                     (Linear::backward)
//   dL/de = BPTT of the recurrent layer     (Recurrent::backward; 0 at padding positions)
//   dL/dW_emb[v] += sum of dL/de at the positions holding token v   (Embedding::backward)
#include "engine/sequence_model.h"

#include <cmath>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/safetensors.h"
#include "engine/loss.h"

namespace advx {
namespace {

std::unique_ptr<Recurrent> make_rnn(RnnType type, int embed_dim, int hidden) {
  if (type == RnnType::LSTM) return std::make_unique<LSTM>(embed_dim, hidden);
  return std::make_unique<GRU>(embed_dim, hidden);
}

}  // namespace

SequenceModel::SequenceModel(RnnType t, int v, int e, int h, int c)
    : type(t), vocab(v), embed_dim(e), hidden(h), num_classes(c), embedding(v, e), rnn(make_rnn(t, e, h)), fc(h, c) {
  ADVX_REQUIRE(c >= 2, "SequenceModel: need at least 2 classes, got " + std::to_string(c));
}

void SequenceModel::init(Rng& rng) {
  embedding.init(rng);
  rnn->init(rng);
  fc.init(rng);
}

const Tensor& SequenceModel::forward(const Tokens& tokens, bool /*train*/) {
  embedding.forward(tokens, emb_);  // checks ids and lengths
  tokens_ = tokens;
  from_tokens_ = true;
  rnn->forward(emb_, tokens.lengths, h_);
  fc.forward(h_, logits_, false);
  forwarded_ = true;
  return logits_;
}

const Tensor& SequenceModel::forward_embedded(const Tensor& embedded, const std::vector<int>& lengths) {
  ADVX_REQUIRE(embedded.rank() == 3 && embedded.dim(2) == embed_dim,
               "embedded input has shape " + shape_str(embedded.shape) + "; model '" + arch() + "' expects [N, T, " +
                   std::to_string(embed_dim) + "]");
  for (std::int64_t i = 0; i < embedded.size(); ++i)
    ADVX_REQUIRE(std::isfinite(embedded.data[static_cast<size_t>(i)]),
                 "embedded input value " + std::to_string(i) + " is not finite; every value must be a finite number");
  emb_ = embedded;
  from_tokens_ = false;
  rnn->forward(emb_, lengths, h_);
  fc.forward(h_, logits_, false);
  forwarded_ = true;
  return logits_;
}

void SequenceModel::backward(const Tensor& dlogits, Tensor* d_embedded, bool param_grads) {
  ADVX_REQUIRE(forwarded_, "SequenceModel: backward called before forward");
  ADVX_REQUIRE(dlogits.shape == logits_.shape, "SequenceModel: gradient shape " + shape_str(dlogits.shape) +
                                                   " != logits shape " + shape_str(logits_.shape));
  fc.backward(h_, logits_, dlogits, &dh_, param_grads);
  const bool emb_grads = param_grads && from_tokens_;
  Tensor* de = d_embedded ? d_embedded : (emb_grads ? &demb_ : nullptr);
  rnn->backward(emb_, h_, dh_, de, param_grads);
  if (emb_grads) embedding.backward(tokens_, *de, true);
}

const Tensor& SequenceModel::loss_embedded_gradient(const Tokens& tokens, const std::vector<int>& labels,
                                                    Tensor& d_embedded, std::vector<float>* losses) {
  const Tensor& logits = forward(tokens);
  for (int y : labels)
    ADVX_REQUIRE(y >= 0 && y < num_classes,
                 "label " + std::to_string(y) + " is out of range: classes are 0.." + std::to_string(num_classes - 1));
  cross_entropy(logits, labels, Reduction::Sum, &dlogits_, losses);
  backward(dlogits_, &d_embedded, false);
  return logits;
}

std::vector<int> SequenceModel::predict(const Tokens& tokens) {
  return argmax_rows(forward(tokens));
}

std::vector<Param> SequenceModel::params() {
  std::vector<Param> out;
  for (const Param& p : embedding.params()) out.push_back({"embedding." + p.name, p.value, p.grad});
  for (const Param& p : rnn->params()) out.push_back({"rnn." + p.name, p.value, p.grad});
  for (const Param& p : fc.params()) out.push_back({"fc." + p.name, p.value, p.grad});
  return out;
}

void SequenceModel::zero_grad() {
  for (Param& p : params()) p.grad->fill(0.0f);
}

std::int64_t SequenceModel::num_params() {
  std::int64_t n = 0;
  for (Param& p : params()) n += p.value->size();
  return n;
}

void save_sequence_model(SequenceModel& m, const std::string& path,
                         const std::map<std::string, std::string>& metadata) {
  TensorFile f;
  f.metadata = metadata;
  f.metadata["advx.arch"] = m.arch();
  f.metadata["format"] = "pt";
  for (const Param& p : m.params()) f.tensors[p.name] = *p.value;
  safetensors_save(f, path);
}

SequenceModel load_sequence_model(const std::string& path, std::map<std::string, std::string>* metadata) {
  return load_sequence_model_bytes(read_file(path), path, metadata);
}

SequenceModel load_sequence_model_bytes(const std::vector<std::uint8_t>& bytes, const std::string& path,
                                        std::map<std::string, std::string>* metadata) {
  TensorFile f = safetensors_decode(bytes, path);
  auto arch = f.metadata.find("advx.arch");
  ADVX_REQUIRE(arch != f.metadata.end() && (arch->second == "seq-lstm" || arch->second == "seq-gru"),
               "weights file '" + path + "' is not a sequence model: its 'advx.arch' metadata is " +
                   (arch == f.metadata.end() ? std::string("missing") : "'" + arch->second + "'") +
                   "; expected 'seq-lstm' or 'seq-gru' (save it with save_sequence_model)");
  const RnnType type = arch->second == "seq-lstm" ? RnnType::LSTM : RnnType::GRU;
  const int gates = type == RnnType::LSTM ? 4 : 3;
  auto shape_of = [&](const std::string& name, size_t rank) -> const Shape& {
    auto it = f.tensors.find(name);
    ADVX_REQUIRE(it != f.tensors.end(), "weights file '" + path + "' lacks tensor '" + name + "'");
    ADVX_REQUIRE(it->second.shape.size() == rank && it->second.shape[0] > 0,
                 "weights file '" + path + "': tensor '" + name + "' has shape " + shape_str(it->second.shape));
    return it->second.shape;
  };
  const Shape& emb = shape_of("embedding.weight", 2);
  const Shape& whh = shape_of("rnn.weight_hh_l0", 2);
  const Shape& fcw = shape_of("fc.weight", 2);
  ADVX_REQUIRE(whh[0] % gates == 0, "weights file '" + path + "': rnn.weight_hh_l0 " + shape_str(whh) + " is not [" +
                                        std::to_string(gates) + "H, H]");
  SequenceModel m(type, emb[0], emb[1], whh[0] / gates, fcw[0]);
  for (const Param& p : m.params()) {
    auto it = f.tensors.find(p.name);
    ADVX_REQUIRE(it != f.tensors.end(), "weights file '" + path + "' lacks tensor '" + p.name + "'");
    ADVX_REQUIRE(it->second.shape == p.value->shape, "weights file '" + path + "': tensor '" + p.name + "' has shape " +
                                                         shape_str(it->second.shape) + ", expected " +
                                                         shape_str(p.value->shape));
    p.value->data = it->second.data;
    f.tensors.erase(it);
  }
  ADVX_REQUIRE(f.tensors.empty(), "weights file '" + path + "' has tensor '" +
                                      (f.tensors.empty() ? "" : f.tensors.begin()->first) + "' that a " + arch->second +
                                      " model does not use");
  if (metadata) *metadata = f.metadata;
  return m;
}

double SequenceModel::macs_per_token() const {
  const double gates = type == RnnType::LSTM ? 4.0 : 3.0;
  return gates * hidden * (embed_dim + hidden);
}

}  // namespace advx
