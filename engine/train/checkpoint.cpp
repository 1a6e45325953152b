// Training checkpoints (engine/train/trainer.h): one safetensors file.
//
//   tensors   "model.<name>"         the weights, PyTorch names ("model.0.weight")
//             "optim.<slot>.<name>"  the optimiser's buffers (Adam's m and v, SGD's velocity)
//             "order"                the shuffling order, sample ids as float32 (exact below 2^24)
//             "prev.<name>"          TrainConfig::overfit_check: the weights of the last epoch that
//                                    passed the check (what a stop goes back to)
//   metadata  "advx.checkpoint"      JSON: version, arch, config, position (epoch, batch, phase),
//                                    Rng states (text), optimiser step count, the epoch's running
//                                    sums, the history
// Floats go through JSON as doubles (exact for float32 and, with nlohmann's shortest round-trip
// output, for the running sums too).
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/safetensors.h"
#include "engine/train/trainer.h"

namespace advx {
namespace {

constexpr int kVersion = 1;

nlohmann::json params_json(const ParamValues& v) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, x] : v.all()) j[k] = x;
  return j;
}

ParamValues params_from(const nlohmann::json& j) {
  ParamValues v;
  for (const auto& [k, x] : j.items()) v.set(k, x.get<double>());
  return v;
}

nlohmann::json to_json(const TrainConfig& c) {
  nlohmann::json j;
  j["epochs"] = c.epochs;
  j["batch"] = c.batch;
  j["optimizer"] = c.optimizer;
  j["lr"] = static_cast<double>(c.lr);
  j["lr_decay"] = static_cast<double>(c.lr_decay);
  j["lr_schedule"] = lr_schedule_name(c.lr_schedule);
  j["momentum"] = static_cast<double>(c.momentum);
  j["seed"] = c.seed;
  j["limit"] = c.limit;
  j["part"] = c.part;
  j["parts"] = c.parts;
  j["augment"] = c.augment;
  j["augment_pad"] = c.augment_pad;
  j["adv"] = {{"attack", c.adv.attack},
              {"params", params_json(c.adv.params)},
              {"clean_weight", static_cast<double>(c.adv.clean_weight)},
              {"source", c.adv.source}};
  j["eval"] = {
      {"n", c.eval.n}, {"attack", c.eval.attack}, {"params", params_json(c.eval.params)}, {"seed", c.eval.seed}};
  // Written only when set, so the record of a run without them is what it always was.
  if (c.eval.batch != EpochEval{}.batch) j["eval"]["batch"] = c.eval.batch;
  if (c.micro_batch != 0) j["micro_batch"] = c.micro_batch;
  if (c.nesterov) j["nesterov"] = true;
  if (c.weight_decay != 0.0f) j["weight_decay"] = static_cast<double>(c.weight_decay);
  if (!c.lr_milestones.empty()) j["lr_milestones"] = c.lr_milestones;
  if (c.standardize) j["standardize"] = true;
  if (c.shards != 1) j["shards"] = c.shards;
  if (c.overfit_check != 0) {
    j["overfit_check"] = c.overfit_check;
    j["overfit_drop"] = static_cast<double>(c.overfit_drop);
  }
  return j;
}

TrainConfig from_json(const nlohmann::json& j) {
  TrainConfig c;
  c.epochs = j.at("epochs").get<int>();
  c.batch = j.at("batch").get<int>();
  c.optimizer = j.at("optimizer").get<std::string>();
  c.lr = j.at("lr").get<float>();
  c.lr_decay = j.at("lr_decay").get<float>();
  const std::string s = j.at("lr_schedule").get<std::string>();
  ADVX_REQUIRE(s == "exp" || s == "cyclic" || s == "step", "unknown learning-rate schedule '" + s + "'");
  c.lr_schedule = s == "cyclic" ? LrSchedule::Cyclic : s == "step" ? LrSchedule::Step : LrSchedule::Exp;
  c.momentum = j.at("momentum").get<float>();
  c.seed = j.at("seed").get<std::uint64_t>();
  c.limit = j.at("limit").get<int>();
  c.part = j.at("part").get<int>();
  c.parts = j.at("parts").get<int>();
  c.augment = j.at("augment").get<bool>();
  c.augment_pad = j.at("augment_pad").get<int>();
  const nlohmann::json& a = j.at("adv");
  c.adv.attack = a.at("attack").get<std::string>();
  c.adv.params = params_from(a.at("params"));
  c.adv.clean_weight = a.at("clean_weight").get<float>();
  c.adv.source = a.at("source").get<std::string>();
  const nlohmann::json& e = j.at("eval");
  c.eval.n = e.at("n").get<int>();
  c.eval.attack = e.at("attack").get<std::string>();
  c.eval.params = params_from(e.at("params"));
  c.eval.seed = e.at("seed").get<std::uint64_t>();
  if (e.contains("batch")) c.eval.batch = e.at("batch").get<int>();
  if (j.contains("micro_batch")) c.micro_batch = j.at("micro_batch").get<int>();
  if (j.contains("nesterov")) c.nesterov = j.at("nesterov").get<bool>();
  if (j.contains("weight_decay")) c.weight_decay = j.at("weight_decay").get<float>();
  if (j.contains("lr_milestones")) c.lr_milestones = j.at("lr_milestones").get<std::vector<int>>();
  if (j.contains("standardize")) c.standardize = j.at("standardize").get<bool>();
  if (j.contains("shards")) c.shards = j.at("shards").get<int>();
  if (j.contains("overfit_check")) {
    c.overfit_check = j.at("overfit_check").get<int>();
    c.overfit_drop = j.at("overfit_drop").get<float>();
  }
  return c;
}

nlohmann::json read_record(const TensorFile& f, const std::string& path) {
  auto it = f.metadata.find("advx.checkpoint");
  ADVX_REQUIRE(it != f.metadata.end(), path +
                                           " is not an advx training checkpoint (no 'advx.checkpoint' metadata); "
                                           "checkpoints are written by advx train --checkpoint");
  try {
    nlohmann::json j = nlohmann::json::parse(it->second);
    ADVX_REQUIRE(j.at("version").get<int>() == kVersion,
                 path + " is a checkpoint of another version of advx; start the run again");
    return j;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": damaged checkpoint record (" + e.what() + ")");
  }
}

Trainer::Phase phase_from(const std::string& s) {
  if (s == "train") return Trainer::Phase::Train;
  if (s == "evaluate") return Trainer::Phase::Evaluate;
  if (s == "done") return Trainer::Phase::Done;
  throw Error("damaged checkpoint: unknown phase '" + s + "'");
}

}  // namespace

std::string config_to_json(const TrainConfig& cfg) {
  return to_json(cfg).dump();
}

TrainConfig config_from_json(const std::string& text) {
  try {
    return from_json(nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("damaged training configuration (") + e.what() + ")");
  }
}

TrainConfig checkpoint_config(const std::string& path, std::string* arch, std::string* dataset) {
  const TensorFile f = safetensors_load(path);
  const nlohmann::json j = read_record(f, path);
  try {
    if (arch) *arch = j.at("arch").get<std::string>();
    if (dataset) *dataset = j.at("dataset").get<std::string>();
    return from_json(j.at("config"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": damaged checkpoint record (" + e.what() + ")");
  }
}

void Trainer::save_checkpoint(const std::string& path) const {
  ADVX_REQUIRE(part_ == 0, "a checkpoint is written between batches only (this step ended part " +
                               std::to_string(part_) + " of a micro-batched batch); save after the batch");
  for (const LayerPtr& l : m_.layers)
    ADVX_REQUIRE(l->kind() != "Dropout",
                 "checkpoints do not cover a Dropout layer's random state; model '" + m_.arch + "' has one");
  TensorFile f;
  for (const Param& p : params_) f.tensors["model." + p.name] = *p.value;
  const OptimizerState os = opt_->state(params_);
  for (const auto& [name, buf] : os.buffers) {
    Tensor t({static_cast<int>(buf.size())});
    std::copy(buf.begin(), buf.end(), t.data.begin());
    f.tensors["optim." + name] = std::move(t);
  }
  Tensor order({samples()});
  for (int i = 0; i < samples(); ++i)
    order.data[static_cast<size_t>(i)] = static_cast<float>(order_[static_cast<size_t>(i)]);
  f.tensors["order"] = std::move(order);
  for (size_t i = 0; i < prev_weights_.size(); ++i) f.tensors["prev." + params_[i].name] = prev_weights_[i];
  nlohmann::json j;
  j["version"] = kVersion;
  j["arch"] = m_.arch;
  j["dataset"] = data_.name;
  j["config"] = to_json(cfg_);
  j["samples"] = samples();
  j["epoch"] = epoch_;
  j["batch"] = batch_;
  // A run saved while preparing resumes into the phase it would have entered.
  j["phase"] = phase_name(phase_ == Phase::Prepare ? resume_phase_ : phase_);
  j["rng"] = rng_.state();
  j["aug_rng"] = aug_rng_.state();
  j["optim_steps"] = os.steps;
  j["loss_sum"] = loss_sum_;
  j["seconds"] = seconds_;
  j["correct"] = correct_;
  j["seen"] = seen_;
  nlohmann::json h = nlohmann::json::array();
  for (const EpochStats& s : history_) {
    h.push_back({{"epoch", s.epoch},
                 {"loss", s.loss},
                 {"train_acc", s.train_acc},
                 {"seconds", s.seconds},
                 {"eval_n", s.eval_n},
                 {"clean_acc", s.clean_acc},
                 {"robust_acc", s.robust_acc}});
    if (s.check_n > 0) {
      h.back()["check_n"] = s.check_n;
      h.back()["check_acc"] = s.check_acc;
      h.back()["stopped"] = s.stopped;
    }
  }
  j["history"] = h;
  f.metadata["advx.checkpoint"] = j.dump();
  f.metadata["advx.arch"] = m_.arch;
  safetensors_save(f, path);
}

void Trainer::load_checkpoint(const std::string& path) {
  const TensorFile f = safetensors_load(path);
  const nlohmann::json j = read_record(f, path);
  try {
    ADVX_REQUIRE(j.at("arch").get<std::string>() == m_.arch,
                 path + " is a checkpoint of '" + j.at("arch").get<std::string>() + "', not of '" + m_.arch + "'");
    ADVX_REQUIRE(j.at("dataset").get<std::string>() == data_.name,
                 path + " trained on '" + j.at("dataset").get<std::string>() + "', this run on '" + data_.name + "'");
    ADVX_REQUIRE(j.at("config") == to_json(cfg_), path + " was written by a run with another configuration (" +
                                                      j.at("config").dump() + "); resume it with that one");
    ADVX_REQUIRE(j.at("samples").get<int>() == samples(),
                 path + " trained on " + std::to_string(j.at("samples").get<int>()) +
                     " samples per epoch, this run has " + std::to_string(samples()) + ": another training set");
    for (const Param& p : params_) {
      auto it = f.tensors.find("model." + p.name);
      ADVX_REQUIRE(it != f.tensors.end() && it->second.shape == p.value->shape,
                   path + ": weight 'model." + p.name + "' is missing or mis-shaped");
    }
    OptimizerState os;
    os.steps = j.at("optim_steps").get<std::int64_t>();
    for (const auto& [name, t] : f.tensors)
      if (name.rfind("optim.", 0) == 0) os.buffers[name.substr(6)].assign(t.data.begin(), t.data.end());
    auto order = f.tensors.find("order");
    ADVX_REQUIRE(order != f.tensors.end() && order->second.size() == samples(),
                 path + ": the shuffling order is missing");
    std::vector<Tensor> prev;
    if (cfg_.overfit_check > 0 && f.tensors.count("prev." + params_.front().name))
      for (const Param& p : params_) {
        auto it = f.tensors.find("prev." + p.name);
        ADVX_REQUIRE(it != f.tensors.end() && it->second.shape == p.value->shape,
                     path + ": the previous epoch's weight 'prev." + p.name + "' is missing or mis-shaped");
        prev.push_back(it->second);
      }
    const int epoch = j.at("epoch").get<int>(), batch = j.at("batch").get<int>();
    ADVX_REQUIRE(
        epoch >= 1 && epoch <= cfg_.epochs + 1 && batch >= 0 && batch <= batches_,
        path + ": damaged position (epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch) + ")");
    // Everything checked: now change state.
    opt_->set_state(params_, os);
    for (const Param& p : params_) *p.value = f.tensors.at("model." + p.name);
    for (int i = 0; i < samples(); ++i)
      order_[static_cast<size_t>(i)] = static_cast<int>(order->second.data[static_cast<size_t>(i)]);
    rng_.set_state(j.at("rng").get<std::string>());
    aug_rng_.set_state(j.at("aug_rng").get<std::string>());
    epoch_ = epoch, batch_ = batch;
    prev_weights_ = std::move(prev);
    loss_sum_ = j.at("loss_sum").get<double>();
    seconds_ = j.at("seconds").get<double>();
    correct_ = j.at("correct").get<long>();
    seen_ = j.at("seen").get<long>();
    history_.clear();
    for (const nlohmann::json& h : j.at("history")) {
      EpochStats s;
      s.epoch = h.at("epoch").get<int>();
      s.loss = h.at("loss").get<double>();
      s.train_acc = h.at("train_acc").get<double>();
      s.seconds = h.at("seconds").get<double>();
      s.eval_n = h.at("eval_n").get<int>();
      s.clean_acc = h.at("clean_acc").get<double>();
      s.robust_acc = h.at("robust_acc").get<double>();
      if (h.contains("check_n")) {
        s.check_n = h.at("check_n").get<int>();
        s.check_acc = h.at("check_acc").get<double>();
        s.stopped = h.at("stopped").get<bool>();
      }
      history_.push_back(s);
    }
    eval_.reset();
    resume_phase_ = phase_from(j.at("phase").get<std::string>());
    // The static adversarial set is not in the file: craft it again first (deterministic).
    phase_ = source_ && prepared_ < count_ ? Phase::Prepare : resume_phase_;
    if (phase_ == Phase::Evaluate) end_epoch();  // the epoch's evaluation and check restart
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": damaged checkpoint record (" + e.what() + ")");
  }
}

}  // namespace advx
