// advx eval: accuracy of a model, optionally behind a defence, clean and under a registered attack.
// With --defence: clean accuracy of the defended model, the oblivious attacker (crafted on the bare
// model, scored on the defended one) and, with --adaptive, the attacker that attacks the defended
// model itself. With --source-model: black-box transfer (crafted on another model). A detecting
// defence adds its detection numbers (fpr on the clean test images, detect_rate, roc_auc) beside the
// accuracies; its threshold comes from the validation split (the odd-indexed test images), so it is
// evaluated on the held-out even-indexed ones (--n counts those: test images 0, 2, 4, ...).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>

#include "cli/command.h"
#include "engine/data/dataset.h"
#include "engine/detect/detector.h"
#include "engine/eval/evaluate.h"
#include "engine/io/file.h"
#include "engine/io/idx.h"
#include "engine/io/model_io.h"

namespace advx::cli {

void setup_eval(Command& c) {
  c.option("model", "a shipped model (cnn, small, ...) or a .safetensors file", "NAME|FILE");
  c.option("dataset",
           "test set: the model's own (from its metadata; mnist if none recorded); sms or malbehavd for a "
           "sequence model",
           "NAME");
  attack_options(c);
  sequence_eval_options(c);
  c.option("source-model", "craft the adversarials on this model, score them on --model (black-box transfer)",
           "NAME|FILE");
  c.option("n",
           "evaluate the first N test images or sequences (default: all; a detecting defence: the first N even-indexed "
           "ones)",
           "N");
  c.option("batch", "images per engine call (default 256)", "B");
  c.flag("json", "one JSON object: clean_acc, adv_acc, success_rate, norms, queries, seconds, ...");
  c.option("save-adv",
           "write the adversarial images as float32 IDX (N x 28 x 28, or N x C x H x W); sequences: JSON lines "
           "(index, label, pred, original, adversarial; with --defence also arm, held_out_index and the detector's "
           "score and flagged)",
           "FILE");
  c.option("data", "the data folder (default $ADVX_DATA, else ../shared/data)", "DIR");
}

namespace {

void add_params(nlohmann::ordered_json& j, const std::vector<ParamSpec>& table, const ParamValues& v) {
  for (const ParamSpec& p : table) {
    const double x = v.number(p.key);
    if (p.type == ParamType::Bool)
      j[p.key] = x != 0.0;
    else if (p.type == ParamType::Choice)
      j[p.key] = format_value(p, x);
    else if (p.type == ParamType::Int)
      j[p.key] = static_cast<long long>(x);
    else
      j[p.key] = x;
  }
}

void add_result(nlohmann::ordered_json& j, const EvalResult& r, bool attacked) {
  j["n"] = r.n;
  j["clean_acc"] = r.clean_acc;
  j["adv_acc"] = r.adv_acc;
  if (!attacked) return;
  j["success_rate"] = r.success_rate;
  j["attacked"] = r.attacked;
  j["linf_mean"] = r.linf_mean;
  j["linf_max"] = r.linf_max;
  j["l2_mean"] = r.l2_mean;
  j["l0_mean"] = r.l0_mean;
  j["gradient_calls"] = r.gradient_calls;
  j["queries"] = r.queries;
  j["queries_mean"] = r.queries_mean;
}

// Detection numbers under `prefix` ("" for the shown run, "oblivious_", "adaptive_").
void add_detection(nlohmann::ordered_json& j, const EvalDetection& d, bool attacked, const std::string& prefix) {
  if (prefix.empty()) {
    j["detector"] = d.score;
    j["threshold"] = d.threshold;
    j["threshold_from"] = d.calibrated;
    j["target_fpr"] = d.target_fpr;
    j["validation_fpr"] = d.validation_fpr;
    j["fpr"] = d.fpr;
  }
  if (!attacked) return;
  j[prefix + "detect_rate"] = d.detect_rate;
  j[prefix + "detect_rate_all"] = d.detect_rate_all;
  j[prefix + "successful_adversarials"] = d.successful;
  j[prefix + "undetected_success_rate"] = d.undetected_success;
  j[prefix + "roc_auc"] = d.roc_auc;  // NaN (no successful adversarial) is written as null
  j[prefix + "roc_auc_all"] = d.roc_auc_all;
}

// Milliseconds per single-image query (classify, and score when it detects) of the defended model and,
// as the peer measured in the same run, the bare one: calls alternate between the two on the same
// images (so a busy moment on a shared machine hits both), 31 each after a warm-up; the medians.
std::pair<double, double> ms_per_query(Classifier& defended, Classifier& bare, const Dataset& d) {
  auto* det = dynamic_cast<DetectorDefence*>(&defended);
  std::vector<double> a, b;
  std::vector<float> s;
  auto time = [](auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int i = 0; i < 32; ++i) {
    const Tensor x = d.images.slice(i % d.size(), 1);
    const double ta = time([&] {
      if (det)
        det->forward(x, &s);
      else
        defended.logits(x);
    });
    const double tb = time([&] { bare.logits(x); });
    if (i > 0) a.push_back(ta), b.push_back(tb);
  }
  std::nth_element(a.begin(), a.begin() + 15, a.end());
  std::nth_element(b.begin(), b.begin() + 15, b.end());
  return {a[15], b[15]};
}

}  // namespace

int run_eval(const Command& a) {
  if (sequence_eval_applies(a)) return run_sequence_eval(a);
  // Every argument is checked before anything is loaded or computed.
  const std::string path = model_path(a.str("model"));
  const AttackChoice atk = attack_choice(a);
  a.reject_others(atk.spec ? atk.spec->params : std::vector<ParamSpec>{},
                  atk.spec ? "--attack " + atk.spec->name : "a run without --attack", seq_attack_tables());
  const DefenceChoice def = defence_choice(a);
  ADVX_REQUIRE(!a.has("source-model") || atk.spec, "--source-model needs an --attack (" + attack_names() + ")");
  ADVX_REQUIRE(!a.has("save-adv") || atk.spec, "--save-adv needs an --attack (" + attack_names() + ")");
  const int batch = a.integer("batch", 256, 1, 100000);
  std::map<std::string, std::string> meta;
  Sequential model = load_model(path, &meta);
  const int target = a.integer("target", -1, 0, model.num_classes() - 1);
  std::unique_ptr<Sequential> source;
  if (a.has("source-model")) source = std::make_unique<Sequential>(load_model(model_path(a.str("source-model"))));
  const std::string dataset = a.str("dataset", meta.count("advx.dataset") ? meta["advx.dataset"] : "mnist");
  const Dataset test = load_dataset(resolve_data_dir(a.str("data")), dataset, "test");
  // The defence first: a detecting one set its threshold on the odd-indexed test images, so it is
  // evaluated on the even-indexed ones.
  DefenceContext ctx = disk_context(a.str("data"));
  ctx.dataset = dataset;
  std::unique_ptr<Classifier> defended;
  if (def.spec) defended = build_defence(*def.spec, ctx, model, def.params, true);
  const bool detects = dynamic_cast<DetectorDefence*>(defended.get()) != nullptr;
  const Dataset pool = detects ? held_out_split(test) : test;
  ADVX_REQUIRE(!detects || !a.has("n") || a.integer("n", pool.size(), 1, test.size()) <= pool.size(),
               "--defence " + def.spec->name +
                   " detects: its threshold was set on the odd-indexed test images, so it "
                   "is evaluated on the " +
                   std::to_string(pool.size()) + " even-indexed ones; --n " + std::to_string(pool.size()) + " at most");
  const int n = a.integer("n", pool.size(), 1, pool.size());
  const Dataset d = pool.head(n);
  const std::string images = detects ? "held-out (even-indexed)" : "";

  EvalConfig cfg;
  cfg.target = target;
  cfg.batch = batch;
  cfg.keep_adv = a.has("save-adv");
  if (atk.spec) cfg.attack = registered_attack(*atk.spec, atk.params, atk.seed);

  EvalResult shown, oblivious, adaptive;
  std::string gradient;
  double defence_ms = 0.0, bare_ms = 0.0;
  if (!def.spec) {
    shown = evaluate(model, d, cfg, source.get());
  } else {
    // The defended model's forward does not depend on its backward (BPDA or not): the same object
    // scores the clean and the oblivious evaluations, and with BPDA is the adaptive attacker's target.
    oblivious = evaluate(*defended, d, cfg, source ? source.get() : &model);
    shown = oblivious;
    if (def.adaptive) {
      std::unique_ptr<Classifier> own;
      if (!def.bpda) own = build_defence(*def.spec, ctx, model, def.params, false);
      Classifier& attacked = own ? *own : *defended;
      gradient = gradient_kind_name(attacked.gradient_kind());
      adaptive = evaluate(attacked, d, cfg);
      shown = adaptive;
    }
    // One image at a time, as the live view asks: the defended model and, as the peer in the same
    // run, the bare one.
    std::tie(defence_ms, bare_ms) = ms_per_query(*defended, model, d);
  }
  if (a.has("save-adv")) {
    // MNIST's layout: N x 28 x 28 for grey images (N x C x H x W otherwise), float32 (type 0x0D).
    Tensor adv = shown.adv;
    if (adv.rank() == 4 && adv.dim(1) == 1) adv.shape = {adv.dim(0), adv.dim(2), adv.dim(3)};
    write_file(a.str("save-adv"), idx_encode_f32(adv));
  }

  const double seconds = shown.seconds + (def.adaptive ? oblivious.seconds : 0.0);
  if (a.has("json")) {
    nlohmann::ordered_json j;
    j["model"] = model_label(path);  // as given: "small_fgsmrs", the file's stem
    j["arch"] = model.arch;
    j["dataset"] = dataset;
    j["attack"] = atk.spec ? atk.spec->name : "none";
    if (atk.spec) add_params(j, atk.spec->params, atk.params);
    j["target"] = target;
    if (atk.spec) j["seed"] = atk.seed;
    if (source) j["source_model"] = source->arch;
    if (def.spec) {
      j["defence"] = def.spec->name;
      add_params(j, def.spec->params, def.params);
      j["adaptive"] = def.adaptive;
      if (def.adaptive) j["gradient"] = gradient;
    }
    add_result(j, shown, atk.spec != nullptr);
    if (def.spec && atk.spec) {
      j["oblivious_adv_acc"] = oblivious.adv_acc;
      j["oblivious_success_rate"] = oblivious.success_rate;
      if (def.adaptive) {
        j["adaptive_adv_acc"] = adaptive.adv_acc;
        j["adaptive_success_rate"] = adaptive.success_rate;
      }
    }
    if (shown.detection.on) {
      j.erase("fpr");  // the parameter (the rate asked for) is target_fpr; fpr is the rate measured
      j["images"] = "even-indexed test images 0, 2, ..., " + std::to_string(2 * shown.n - 2);
      add_detection(j, shown.detection, atk.spec != nullptr, "");
      if (atk.spec) add_detection(j, oblivious.detection, true, "oblivious_");
      if (atk.spec && def.adaptive) add_detection(j, adaptive.detection, true, "adaptive_");
    }
    if (def.spec) {
      j["ms_per_query"] = defence_ms;
      j["bare_ms_per_query"] = bare_ms;
    }
    j["seconds"] = seconds;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("model %s (%s)%s, %d %s%s test images, attack %s", model.arch.c_str(), path.c_str(),
              def.spec ? (" behind " + def.spec->name + " " + describe(def.spec->params, def.params)).c_str() : "",
              shown.n, images.empty() ? "" : (images + " ").c_str(), dataset.c_str(),
              atk.spec ? atk.spec->name.c_str() : "none");
  if (atk.spec)
    std::printf(" %s%s", describe(atk.spec->params, atk.params).c_str(),
                target >= 0 ? (" target " + std::to_string(target)).c_str() : " untargeted");
  if (source) std::printf(", crafted on %s", source->arch.c_str());
  std::printf("\n  clean accuracy        %.4f\n", shown.clean_acc);
  if (atk.spec) {
    if (def.spec) {
      std::printf("  oblivious attacker    %.4f  (crafted on %s, scored behind the defence)\n", oblivious.adv_acc,
                  source ? source->arch.c_str() : model.arch.c_str());
      if (def.adaptive)
        std::printf("  adaptive attacker     %.4f  (through the defence, gradient: %s)\n", adaptive.adv_acc,
                    gradient.c_str());
    } else {
      std::printf("  adversarial accuracy  %.4f\n", shown.adv_acc);
    }
    std::printf(
        "  attack success rate   %.4f (of %d attacked)\n  L-inf mean / max      %.4f / %.4f\n  L2 mean / L0 mean     "
        "%.4f / %.1f px\n  queries per image     %.1f\n",
        shown.success_rate, shown.attacked, shown.linf_mean, shown.linf_max, shown.l2_mean, shown.l0_mean,
        shown.queries_mean);
  }
  if (shown.detection.on) {
    const EvalDetection& dd = shown.detection;
    std::printf("  detector              %s > %.4g (set on the %s at fpr %.3f; %.4f there)\n", dd.score.c_str(),
                dd.threshold, dd.calibrated.c_str(), dd.target_fpr, dd.validation_fpr);
    std::printf("  false positives       %.4f of the %d clean test images\n", dd.fpr, shown.n);
    auto line = [](const char* who, const EvalDetection& e) {
      std::printf(
          "  %-21s detects %.4f of %d successful adversarials (%.4f of all attacked), ROC-AUC %.4f; fooled "
          "and undetected %.4f\n",
          who, e.detect_rate, e.successful, e.detect_rate_all, e.roc_auc, e.undetected_success);
    };
    if (atk.spec) line("oblivious attacker", oblivious.detection);
    if (atk.spec && def.adaptive) line("adaptive attacker", adaptive.detection);
  }
  if (def.spec) std::printf("  ms per query          %.2f defended, %.2f bare (one image)\n", defence_ms, bare_ms);
  std::printf("  seconds               %.2f\n", seconds);
  return 0;
}

}  // namespace advx::cli
