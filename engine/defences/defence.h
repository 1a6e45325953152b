// The defence interface and registry.
//
// A defence is one file in engine/defences/ that defines `DefenceSpec <name>_defence()` and one line
// in engine/defences/list.inc. It builds a defended Classifier around a base model: a Pipeline of
// transforms (thresholding, squeezing, reconstruction), and later ensembles and detectors. Every
// defence is measured three ways (engine/eval/evaluate.h):
//   clean      the defended model on clean inputs
//   oblivious  adversarials crafted on the bare model, scored on the defended one
//   adaptive   adversarials crafted on the defended model itself (through BPDA where a step is not
//              differentiable), scored on it: the number that says something about robustness
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/classifier.h"
#include "engine/params.h"

namespace advx {

struct DefenceSpec {
  std::string name;      // "threshold": --defence, defence=, the JS option
  std::string title;     // "binary threshold"
  std::string summary;   // one line for --help and the UI
  std::string citation;  // the paper
  std::string note;      // what to expect, said honestly (shown in the UI next to the numbers)
  std::vector<ParamSpec> params;
  // The defended classifier in front of `base` (not owned: it must outlive the result).
  // bpda = true: non-differentiable steps backpropagate as the identity (the adaptive attacker's
  // view); false: their true gradient (zero almost everywhere: gradient masking).
  std::function<std::unique_ptr<Classifier>(Classifier& base, const ParamValues& params, bool bpda)> build;
};

const std::vector<DefenceSpec>& defences();
const DefenceSpec* find_defence(const std::string& name);
const DefenceSpec& get_defence(const std::string& name);  // throws listing the known names
std::string defence_names(const std::string& sep = ", ");

// Checks the parameters against the table, then builds.
std::unique_ptr<Classifier> build_defence(const DefenceSpec& spec, Classifier& base, const ParamValues& params,
                                          bool bpda);

}  // namespace advx
