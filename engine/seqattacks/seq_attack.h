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
#include <cstdint>
#include <functional>
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

struct SeqAttackResult {
  std::vector<TokenSeq> adv;        // per sample, every token a vocabulary id >= 2 except the original's own
  std::vector<int> pred;            // the model's prediction on adv
  std::vector<char> success;        // goal.succeeded(i, pred[i])
  std::vector<int> edits;           // tokens inserted or substituted (<= the budget)
  std::vector<int> budget;          // the allowed number of edits per sample
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
};

struct SeqAttackSpec {
  std::string name;      // "insert": the CLI's --attack
  std::string title;     // "Gradient-guided insertion"
  std::string summary;   // one line for --help
  std::string citation;  // "Rosenberg et al. 2018, arXiv:1707.05970"
  SeqEdit edit = SeqEdit::Insert;
  std::string budget;    // the parameter that bounds the edits ("budget")
  bool gradient = true;  // white-box (embedding gradients) or black-box (queries only)
  std::vector<ParamSpec> params;
  std::function<SeqAttackResult(const SeqAttackInput&)> run;
};

const std::vector<SeqAttackSpec>& seq_attacks();
const SeqAttackSpec* find_seq_attack(const std::string& name);  // nullptr if unknown
std::string seq_attack_names(const std::string& sep = ", ");

// Validates the input (sequences, labels, targets, parameters) and runs the attack.
SeqAttackResult run_seq_attack(const SeqAttackSpec& spec, const SeqAttackInput& in);

// ---- helpers for attack files ------------------------------------------------------------------
// The "budget" parameter (share F of the length), one definition for every sequence attack.
ParamSpec seq_budget_param();
// ceil(F * length - 1e-9): the edits a budget F allows in a sequence of `length` tokens.
int edit_budget(double fraction, int length);
// A padded batch of `seqs` (T = the longest).
void pack_tokens(const std::vector<const TokenSeq*>& seqs, Tokens& out);
// One batched forward on r.adv fills r.pred and r.success (and counts the queries).
void evaluate_seq_result(SequenceClassifier& model, const Goal& goal, SeqAttackResult& r);

}  // namespace advx
