// advx eval on a sequence dataset (engine/eval/sequence_eval.h): taken when --dataset names a
// sequence dataset or --model is a sequence model (the engine says which), with the sequence
// attacks' options generated from their parameter tables (engine/seqattacks), as for images.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "cli/command.h"
#include "engine/eval/sequence_eval.h"
#include "engine/seqattacks/seq_attack.h"
#include "engine/seqdefences/seq_defence.h"

namespace advx::cli {

Tables seq_defence_tables() {
  Tables t;
  for (const SeqDefenceSpec& d : seq_defences()) t.emplace_back(d.name, &d.params);
  return t;
}

Tables seq_attack_tables() {
  Tables t;
  for (const SeqAttackSpec& a : seq_attacks()) t.emplace_back(a.name, &a.params);
  return t;
}

void sequence_eval_options(Command& c) {
  c.table_options(seq_attack_tables());
  std::string help = "\n  sequence datasets (--dataset ";
  for (const SequenceTask& t : sequence_tasks()) help += (&t == &sequence_tasks().front() ? "" : "|") + t.alias;
  help += "): ";
  for (const SeqAttackSpec& a : seq_attacks()) help += "\n  " + a.name + ": " + a.summary + " (" + a.citation + ")";
  c.append_help("attack", help);
  c.table_options(seq_defence_tables());
  std::string dhelp = "\n  sequence datasets: ";
  for (const SeqDefenceSpec& d : seq_defences()) dhelp += "\n  " + d.name + ": " + d.summary + " (" + d.citation + ")";
  c.append_help("defence", dhelp);
}

bool sequence_eval_applies(const Command& a) {
  return find_sequence_task(a.str("dataset")) != nullptr || is_sequence_model_file(model_path(a.str("model")));
}

namespace {

void put_params(nlohmann::ordered_json& j, const std::vector<ParamSpec>& table, const ParamValues& v) {
  for (const ParamSpec& p : table)
    if (p.type == ParamType::Choice)
      j[p.key] = p.choices[static_cast<size_t>(v.integer(p.key))];
    else if (p.type == ParamType::Int)
      j[p.key] = static_cast<long long>(v.number(p.key));
    else
      j[p.key] = v.number(p.key);
}

int print_sequence_defence(const Command& a, const std::string& arch, const SequenceTask& task,
                           const SeqAttackSpec& attack, const SeqEvalConfig& cfg, const SeqDefenceSpec& dspec,
                           const ParamValues& dparams, const SeqDefended& d, const SeqDefenceResult& r) {
  auto arm_json = [&](const SeqDefenceArm& m) {
    nlohmann::ordered_json j;
    j["attacked"] = m.attacked;
    j[task.success_name] = m.success_rate;
    j[std::string(seq_edited_name(attack.edit)) + "_mean"] = m.edits_mean;
    if (r.detects) {
      j["detect_rate"] = m.detect_rate;
      j["undetected_" + task.success_name] = m.undetected_success;
      j["roc_auc"] = m.roc_auc;
    }
    return j;
  };
  if (a.has("json")) {
    nlohmann::ordered_json j;
    j["model"] = model_label(model_path(a.str("model")));  // as given: the file's stem
    j["arch"] = arch;
    j["dataset"] = task.dataset;
    j["attack"] = attack.name;
    put_params(j, attack.params, cfg.params);
    j["seed"] = cfg.seed;
    j["defence"] = dspec.name;
    nlohmann::ordered_json dj;
    put_params(dj, dspec.params, dparams);
    j["defence_params"] = dj;
    j["split"] = "held-out (even-indexed) test samples; thresholds on the odd-indexed ones";
    j["n"] = r.n;
    j["bare_clean_acc"] = r.bare_clean_acc;
    j["clean_acc"] = r.clean_acc;
    if (r.detects) {
      j["score"] = d.score_name;
      j["threshold"] = r.threshold;
      j["target_fpr"] = r.target_fpr;
      j["validation_fpr"] = r.validation_fpr;
      j["fpr"] = r.fpr;
    }
    j["bare_" + task.success_name] = r.bare_success_rate;
    j["oblivious"] = arm_json(r.oblivious);
    j["adaptive"] = arm_json(r.adaptive);
    j["adaptive_detector_term"] = r.adaptive_detector_term;
    j["adaptive_note"] = d.note;
    j["seconds"] = r.seconds;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("model %s behind %s (%s), %d held-out %s test samples, attack %s %s\n", arch.c_str(), dspec.name.c_str(),
              describe(dspec.params, dparams).c_str(), r.n, task.dataset.c_str(), attack.name.c_str(),
              describe(attack.params, cfg.params).c_str());
  std::printf("  clean accuracy        %.4f defended, %.4f bare\n", r.clean_acc, r.bare_clean_acc);
  if (r.detects)
    std::printf("  detector (%s)  threshold %.4g: FPR %.4f held out (%.4f asked, %.4f on validation)\n",
                d.score_name.c_str(), r.threshold, r.fpr, r.target_fpr, r.validation_fpr);
  auto arm_line = [&](const char* what, const SeqDefenceArm& m) {
    std::printf("  %-9s %-11s %.4f of %d attacked", what, task.success_name.c_str(), m.success_rate, m.attacked);
    if (r.detects)
      std::printf("; detected %.4f of the successful, undetected success %.4f, ROC-AUC %.4f", m.detect_rate,
                  m.undetected_success, m.roc_auc);
    std::printf("\n");
  };
  std::printf("  bare      %-11s %.4f (the oblivious adversarials on the model they were made on)\n",
              task.success_name.c_str(), r.bare_success_rate);
  arm_line("oblivious", r.oblivious);
  arm_line("adaptive", r.adaptive);
  std::printf("  (%s)\n  seconds               %.2f\n", d.note.c_str(), r.seconds);
  return 0;
}

}  // namespace

int run_sequence_eval(const Command& a) {
  // Every argument is checked before anything is loaded or computed.
  const std::string path = model_path(a.str("model"));
  for (const char* opt : {"no-bpda", "source-model", "target"})
    ADVX_REQUIRE(!a.has(opt), std::string("--") + opt +
                                  " is not available for sequence models yet (no sequence transfer, targeted attack "
                                  "or exact-gradient option is registered); leave it out");
  const std::string dname = a.str("defence", "none");
  const SeqDefenceSpec* dspec = nullptr;
  if (dname != "none") {
    dspec = find_seq_defence(dname);
    ADVX_REQUIRE(dspec, (find_defence(dname) ? "--defence " + dname + " is an image defence"
                                             : "unknown --defence '" + dname + "'") +
                            "; sequence datasets take: none, " + seq_defence_names());
  }
  const std::string name = a.str("attack", "none");
  const SeqAttackSpec* spec = nullptr;
  if (name != "none") {
    spec = find_seq_attack(name);
    ADVX_REQUIRE(spec,
                 find_attack(name)
                     ? "--attack " + name + " is an image attack; sequence datasets take: none, " + seq_attack_names()
                     : "unknown --attack '" + name + "'; sequence datasets take: none, " + seq_attack_names());
  }
  const std::string owner = spec ? "--attack " + spec->name : "a run without --attack";
  const std::vector<ParamSpec> none;
  std::vector<ParamSpec> taken = spec ? spec->params : none;
  if (dspec) taken.insert(taken.end(), dspec->params.begin(), dspec->params.end());
  const std::string towner = owner + (dspec ? " and --defence " + dspec->name : "");
  a.reject_others(taken, towner, seq_attack_tables());
  a.reject_others(taken, towner, seq_defence_tables());
  a.reject_others(taken, towner, attack_tables());
  a.reject_others(taken, towner, defence_tables());
  ADVX_REQUIRE(!dspec || spec, "--defence " + (dspec ? dspec->name : "") +
                                   " is measured against an attack: give --attack (" + seq_attack_names() + ")");
  ADVX_REQUIRE(spec || !a.has("seed"), "--seed needs an --attack (" + seq_attack_names() + ")");
  SeqEvalConfig cfg;
  cfg.attack = spec;
  if (spec) cfg.params = a.params(spec->params, owner);
  cfg.seed = static_cast<std::uint64_t>(a.integer("seed", 0, 0, 2147483647));
  ADVX_REQUIRE(!a.has("save-adv") || spec, "--save-adv needs an --attack (" + seq_attack_names() + ")");

  ADVX_REQUIRE(is_sequence_model_file(path), "model '" + path + "' is not a sequence model, and --dataset " +
                                                 a.str("dataset") +
                                                 " is a sequence dataset: use a model from assets/models/sequence "
                                                 "(sms_lstm for sms, api_lstm for malbehavd)");
  std::map<std::string, std::string> meta;
  SequenceModel model = load_sequence_model(path, &meta);
  const SequenceTask* task =
      find_sequence_task(a.str("dataset", meta.count("advx.dataset") ? meta["advx.dataset"] : ""));
  ADVX_REQUIRE(task, "--dataset " + a.str("dataset") + " is not a sequence dataset; model '" + path +
                         "' is a sequence model: give --dataset sms or malbehavd");
  const SequenceDataset data = load_dataset_for(*task, resolve_data_dir(a.str("data")), meta, path);
  auto words = [&](const TokenSeq& s) {
    std::vector<std::string> out;
    out.reserve(s.size());
    for (std::int32_t id : s) out.push_back(data.vocab[static_cast<size_t>(id)]);
    return out;
  };
  // --save-adv: one JSON object per line, written whole or not at all (a clear error).
  auto save_lines = [&](const std::vector<nlohmann::ordered_json>& lines) {
    std::ofstream f(a.str("save-adv"));
    ADVX_REQUIRE(f,
                 "cannot write --save-adv file '" + a.str("save-adv") + "': check the folder exists and is writable");
    for (const nlohmann::ordered_json& j : lines) f << j.dump() << "\n";
    ADVX_REQUIRE(f.good(), "writing --save-adv file '" + a.str("save-adv") + "' failed (disk full?)");
  };
  if (dspec) {
    const ParamValues dparams = a.params(dspec->params, "--defence " + dspec->name);
    const SequenceSplit validation = sequence_validation_split(data.test), held = sequence_held_out_split(data.test);
    cfg.n = a.integer("n", held.size(), 1, held.size());
    const SeqDefended defended = build_seq_defence(*dspec, {data.train, validation, task->dataset}, model, dparams);
    const SeqDefenceResult r = evaluate_sequence_defence(model, defended, *task, held, cfg);
    if (a.has("save-adv")) {
      // Both arms' adversarials; pred and success are the defended model's, flagged the detector's.
      std::vector<nlohmann::ordered_json> lines;
      for (const auto& [arm_name, arm] : {std::pair<const char*, const SeqDefenceArm*>{"oblivious", &r.oblivious},
                                          std::pair<const char*, const SeqDefenceArm*>{"adaptive", &r.adaptive}})
        for (size_t k = 0; k < arm->adv.size(); ++k) {
          const int h = arm->held_out_index[k];
          nlohmann::ordered_json j;
          j["arm"] = arm_name, j["index"] = held_out_test_index(h), j["held_out_index"] = h;
          j["label"] = held.labels[static_cast<size_t>(h)], j["pred"] = arm->pred[k];
          j["success"] = arm->success[k] != 0, j["edits"] = arm->edits[k], j["budget"] = arm->budget[k];
          if (r.detects) j["score"] = arm->scores[k], j["flagged"] = arm->scores[k] > r.threshold;
          j["original"] = words(held.sequences[static_cast<size_t>(h)]), j["adversarial"] = words(arm->adv[k]);
          lines.push_back(std::move(j));
        }
      save_lines(lines);
    }
    return print_sequence_defence(a, model.arch(), *task, *spec, cfg, *dspec, dparams, defended, r);
  }
  cfg.n = a.integer("n", data.test.size(), 1, data.test.size());
  const SeqEvalResult r = evaluate_sequences(model, *task, data.test, cfg);
  if (a.has("save-adv")) {
    std::vector<nlohmann::ordered_json> lines;
    for (const SeqEvalSample& s : r.samples) {
      nlohmann::ordered_json j;
      j["index"] = s.index, j["label"] = s.label, j["pred"] = s.pred, j["success"] = s.success;
      j["edits"] = s.edits, j["budget"] = s.budget;
      j["original"] = words(s.original), j["adversarial"] = words(s.adversarial);
      lines.push_back(std::move(j));
    }
    save_lines(lines);
  }

  const std::string edited = spec ? seq_edited_name(spec->edit) : "";
  const std::string source = data.class_names[static_cast<size_t>(task->source_class)];
  if (a.has("json")) {
    nlohmann::ordered_json j;
    j["model"] = model_label(path);  // as given: the file's stem
    j["arch"] = model.arch();
    j["dataset"] = task->dataset;
    j["attack"] = spec ? spec->name : "none";
    if (spec) {
      for (const ParamSpec& p : spec->params)
        if (p.type == ParamType::Int)
          j[p.key] = static_cast<long long>(cfg.params.number(p.key));
        else
          j[p.key] = cfg.params.number(p.key);
      j["seed"] = cfg.seed;
    }
    j["n"] = r.n;
    j["clean_acc"] = r.clean_acc;
    j["adv_acc"] = r.adv_acc;
    if (spec) {
      j["attacked_class"] = source;
      j["attacked"] = r.attacked;
      j["success_rate"] = r.success_rate;
      if (task->success_name != "success_rate") j[task->success_name] = r.success_rate;
      j[edited + "_mean"] = r.edits_mean;
      j[edited + "_mean_success"] = r.edits_mean_success;
      j[edited + "_share_mean"] = r.edit_share_mean;
      j["budget_mean"] = r.budget_mean;
      j["gradient_calls"] = r.gradient_calls;
      j["queries"] = r.queries;
      j["queries_mean"] = r.queries_mean;
    }
    j["seconds"] = r.seconds;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("model %s (%s), %d %s test samples, attack %s%s\n", model.arch().c_str(), path.c_str(), r.n,
              task->dataset.c_str(), spec ? spec->name.c_str() : "none",
              spec ? (" " + describe(spec->params, cfg.params) + ", untargeted").c_str() : "");
  std::printf("  clean accuracy        %.4f\n", r.clean_acc);
  if (spec) {
    std::printf("  adversarial accuracy  %.4f\n", r.adv_acc);
    std::printf("  %-21s %.4f (of %d %s samples the model gets right)\n", task->success_name.c_str(), r.success_rate,
                r.attacked, source.c_str());
    std::printf("  %-21s %.2f per attacked sample (%.2f per success; %.4f of the length; budget %.2f)\n",
                (edited + " tokens").c_str(), r.edits_mean, r.edits_mean_success, r.edit_share_mean, r.budget_mean);
    std::printf("  queries per sample    %.1f (gradient calls %lld)\n", r.queries_mean,
                static_cast<long long>(r.gradient_calls));
  }
  std::printf("  seconds               %.2f\n", r.seconds);
  return 0;
}

}  // namespace advx::cli
