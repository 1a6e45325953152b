// The attack interface and registry.
//
// An attack is one file in engine/attacks/ that defines `AttackSpec <name>_attack()` (name, a
// parameter table, its norm, and how to start a run) and one line in engine/attacks/list.inc.
// From the tables come the CLI flags, the URL keys, the playground's controls and the JS options;
// tests/unit/test_registry.cpp checks every registered attack's invariants (budget, [0, 1], the
// caller's input untouched, seeded reproducibility, targeted success = pred == target).
//
// Runs are resumable: step() does one unit of work (a gradient step or a generation, for the whole
// batch), so the playground and the evaluator can slice long runs across frames.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/classifier.h"
#include "engine/objective.h"
#include "engine/params.h"

namespace advx {

enum class Norm { Linf, L2, L0, Patch };
const char* norm_name(Norm n);  // "linf", "l2", "l0", "patch"

struct AttackResult {
  Tensor adv;                       // same shape as the input, every pixel in [0, 1], within the budget
  std::vector<int> pred;            // the attacked classifier's prediction on adv (-1: not evaluated)
  Tensor logits;                    // [N, num_classes]: its logits on adv, from the attack's own evaluation
  std::vector<char> success;        // attack_succeeded(pred, label, target) per sample
  std::int64_t gradient_calls = 0;  // per-sample backward passes (input gradients) spent
  std::int64_t queries = 0;         // per-sample forward passes (model evaluations) spent
};

// What a run starts from. The run keeps references to `model` and `objective` (they must outlive
// it) and copies x and the goal (so the caller's x is never written).
struct AttackInput {
  Classifier& model;
  const Objective& objective;
  const Tensor& x;
  Goal goal;
  ParamValues params;      // checked against the attack's table
  std::uint64_t seed = 0;  // every random choice; same seed, same result
  // Evaluate the final result (pred, logits, success). false skips that forward pass when only the
  // image is wanted (the web API's advx.fgsm); attacks that choose results by evaluating them ignore it.
  bool evaluate = true;
  // At most this many images per model call, and so per step(), for attacks whose unit of work is
  // larger than the batch (a DE generation: images x population); 0 = the attack's own default.
  // It changes how the work is sliced (a UI keeps each step short on a slow model), never the result.
  int max_rows = 0;
};

// What a run can show while it works, for the playground (sample 0 of the batch): the iteration,
// the best objective value per iteration so far, and the candidates it is weighing (e.g. a
// differential-evolution population), each as the pixel positions (y * W + x) it would change.
struct AttackSnapshot {
  int iteration = 0, iterations = 0;
  std::int64_t queries = 0;
  std::vector<double> best_history;          // best objective value after each iteration
  std::vector<std::vector<int>> candidates;  // pixel positions per candidate (empty: nothing to draw)
  int best = -1;                             // index of the best candidate (-1: none)
};

class AttackRun {
 public:
  virtual ~AttackRun() = default;
  // One unit of work; returns true once the run is finished (then result() is final).
  virtual bool step() = 0;
  virtual bool done() const = 0;
  virtual double progress() const = 0;  // 0..1
  virtual const AttackResult& result() const = 0;
  // The run's state for display; the default says only how far it is.
  virtual AttackSnapshot snapshot() const {
    AttackSnapshot s;
    s.iterations = 100;
    s.iteration = static_cast<int>(progress() * 100.0);
    s.queries = result().queries;
    return s;
  }
};

struct AttackSpec {
  std::string name;      // "pgd": the CLI's --attack, the URL's attack=, the JS option
  std::string title;     // "PGD (random start)"
  std::string summary;   // one line for --help and the UI
  std::string citation;  // "Madry et al. 2018, arXiv:1706.06083"
  Norm norm = Norm::Linf;
  std::string budget;    // the parameter that bounds the perturbation ("eps"; "" if none)
  bool gradient = true;  // white-box (input gradients) or black-box (queries only)
  char key = 0;          // keyboard shortcut in the playground (upper case letter), 0 for none
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<AttackRun>(const AttackInput&)> start;
};

// Every registered attack, in engine/attacks/list.inc's order.
const std::vector<AttackSpec>& attacks();
const AttackSpec* find_attack(const std::string& name);  // nullptr if unknown
// Throws advx::Error("unknown attack 'x'; known: fgsm, bim, ...").
const AttackSpec& get_attack(const std::string& name);
std::string attack_names(const std::string& sep = ", ");

// Validates the input (shapes, pixels in [0, 1], labels, targets, parameters) and starts a run.
std::unique_ptr<AttackRun> start_attack(const AttackSpec& spec, const AttackInput& in);
// start_attack, then step() until done.
AttackResult run_attack(const AttackSpec& spec, const AttackInput& in);

// ---- helpers for attack files ------------------------------------------------------------------
// The "eps" parameter of L-infinity attacks (one definition for all of them).
ParamSpec linf_budget_param();
// One forward pass on r.adv fills r.pred, r.logits and r.success (and counts the queries).
void evaluate_result(Classifier& model, const Goal& goal, AttackResult& r);
// A run that does all its work in its first step (one-shot attacks: FGSM-like noise, ...).
std::unique_ptr<AttackRun> one_shot(std::function<AttackResult()> work);

}  // namespace advx

#include "engine/attacks/linf.h"  // the L-infinity loop's typed API (FGSM, BIM, PGD)
