// Attacks on sequence classifiers (token sequences: SMS words, API-call traces), registered like
// the image attacks (engine/attacks/attack.h): one file per attack defining
// `SeqAttackSpec <name>_seq_attack()` and one line in engine/seqattacks/list.inc. From each spec's
// parameter table come the CLI flags and --help (cli/), as for the image attacks; no attack name is
// spelled outside the engine.
//
// What differs from images: the input is a list of token-id sequences of different lengths, the
// perturbation is discrete (tokens inserted or substituted, never a value between tokens), and the
// budget is a share F of each sequence's length: at most ceil(F * L - 1e-9) edits for a sequence of
// L tokens (ceil, so F = 1% still allows one call in a short trace; the 1e-9 keeps 0.1 * 20 at 2).
//
// Every edit puts a real vocabulary token (id >= 2): never <pad> (0) or <unk> (1), never an id the
// vocabulary does not have. The caller's sequences are copied, never written. Random choices come
// from Rng(mix_seed(seed, i)) for sample i, so a sample's result does not depend on the rest of the
// batch, and one seed gives one result.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/objective.h"
#include "engine/params.h"
#include "engine/sequence_classifier.h"

namespace advx {

using TokenSeq = std::vector<std::int32_t>;

// What an attack may do to a sequence. A dataset says which edits keep a sample what it is
// (sequence_task.h): malware must keep its behaviour, so its calls may only be added to.
enum class SeqEdit { Insert, Substitute };
const char* seq_edit_name(SeqEdit e);    // "insert", "substitute"
const char* seq_edited_name(SeqEdit e);  // "inserted", "substituted" (report keys: inserted_mean)

// A detector the attacker must evade as well as the classifier: the adaptive attacker of a detecting
// defence (Carlini & Wagner 2017, "Adversarial Examples Are Not Easily Detected", arXiv:1705.07263:
// put the detector in the attacker's objective). With one, an attack's value of a candidate is
//
//     v(x') - weight * max(0, score(x') - threshold)                                        (H)
//
// (v: the classifier objective, larger = closer to the goal), and a sample is done only when its goal
// is reached AND the detector does not flag it (score <= threshold). The hinge makes (H) the
// constrained choice "fool the classifier among the edits that stay unflagged" when weight is large,
// with a graded fallback when every edit is flagged: a score already below the threshold costs
// nothing, so no edit is spent lowering it further. C&W fold the detector into the classifier as an
// extra class or add its loss; the hinge is the discrete analogue of their loss being zero once the
// detector is satisfied.
struct SeqDetectorTerm {
  // The exact score of each sequence (batched); flagged: score > threshold.
  std::function<std::vector<float>(const std::vector<TokenSeq>&)> score;
  double threshold = 0.0;
  double weight = 10.0;  // lambda in (H)
  // Optional, for detectors that are a cheap function of the tokens (a transition model): out[u] =
  // the exact score of `seq` with token u inserted before position `slot` (Insert; slot = size()
  // appends) or written at `slot` (Substitute), for every u in [0, V). Lets an attack rank every
  // proposal by (H) before verifying, rather than only the verified few.
  std::function<void(const TokenSeq& seq, SeqEdit edit, int slot, std::vector<float>& out)> edit_scores;
  double penalty(double s) const { return weight * std::max(0.0, s - threshold); }
  bool flags(double s) const { return s > threshold; }
};

struct SeqAttackResult {
  std::vector<TokenSeq> adv;        // per sample, every token a vocabulary id >= 2 except the original's own
  std::vector<int> pred;            // the model's prediction on adv
  std::vector<char> success;        // goal.succeeded(i, pred[i]): the classifier's (flags: scores)
  std::vector<int> edits;           // tokens inserted or substituted (<= the budget)
  std::vector<int> budget;          // the allowed number of edits per sample
  std::vector<float> scores;        // with a detector term: its score of adv (else empty)
  std::int64_t gradient_calls = 0;  // per-sequence backward passes
  std::int64_t queries = 0;         // per-sequence forward passes (those of gradient calls included)
};

struct SeqAttackInput {
  SequenceClassifier& model;
  const Objective& objective;
  const std::vector<TokenSeq>& sequences;  // each length >= 1, ids in [0, V) and not <pad>
  Goal goal;
  ParamValues params;  // checked against the attack's table
  std::uint64_t seed = 0;
  const SeqDetectorTerm* detector = nullptr;  // set: evade it too (only attacks with detector_term)
};

// A resumable attack: step() does one unit of work (a round of edits, a DE generation) for the
// whole batch, so the playground can slice an attack across frames; result() is final once step()
// returns true. The same work and result as running it through.
class SeqAttackRun {
 public:
  virtual ~SeqAttackRun() = default;
  virtual bool step() = 0;  // true once finished
  virtual bool done() const = 0;
  virtual double progress() const = 0;  // 0..1
  virtual const SeqAttackResult& result() const = 0;
};

struct SeqAttackSpec {
  std::string name;      // "insert": the CLI's --attack
  std::string title;     // "Gradient-guided insertion"
  std::string summary;   // one line for --help
  std::string citation;  // "Rosenberg et al. 2018, arXiv:1707.05970"
  SeqEdit edit = SeqEdit::Insert;
  std::string budget;          // the parameter that bounds the edits ("budget")
  bool gradient = true;        // white-box (embedding gradients) or black-box (queries only)
  bool detector_term = false;  // takes SeqAttackInput::detector (adaptive attacks on detectors)
  std::vector<ParamSpec> params;
  // Starts a run; the input's references (model, objective, sequences, detector) must outlive it.
  std::function<std::unique_ptr<SeqAttackRun>(const SeqAttackInput&)> start;
};

const std::vector<SeqAttackSpec>& seq_attacks();
const SeqAttackSpec* find_seq_attack(const std::string& name);  // nullptr if unknown
std::string seq_attack_names(const std::string& sep = ", ");

// Validates the input (sequences, labels, targets, parameters) and starts a run of the attack.
std::unique_ptr<SeqAttackRun> start_seq_attack(const SeqAttackSpec& spec, const SeqAttackInput& in);
// start_seq_attack, then step() until done.
SeqAttackResult run_seq_attack(const SeqAttackSpec& spec, const SeqAttackInput& in);

// ---- helpers for attack files ------------------------------------------------------------------
// The "budget" parameter (share F of the length), one definition for every sequence attack.
ParamSpec seq_budget_param();
// ceil(F * length - 1e-9): the edits a budget F allows in a sequence of `length` tokens.
int edit_budget(double fraction, int length);
// A padded batch of `seqs` (T = the longest).
void pack_tokens(const std::vector<const TokenSeq*>& seqs, Tokens& out);
// One batched forward on r.adv fills r.pred and r.success (and counts the queries); with a detector
// term also r.scores.
void evaluate_seq_result(SequenceClassifier& model, const Goal& goal, SeqAttackResult& r,
                         const SeqDetectorTerm* detector = nullptr);
// Whether sample i is at its goal: goal.succeeded(i, pred) and, with a detector term, its score
// (the detector's of that sequence) not flagged.
bool seq_goal_reached(const Goal& goal, const SeqDetectorTerm* detector, std::size_t i, int pred, float score);
// (H) on a batch of verified candidates `seqs`: scores <- detector.score(seqs) (counted in queries),
// values[q] -= detector.penalty(scores[q]).
void apply_detector_term(const SeqDetectorTerm& detector, const std::vector<TokenSeq>& seqs, std::vector<float>& values,
                         std::vector<float>& scores, std::int64_t& queries);

}  // namespace advx
