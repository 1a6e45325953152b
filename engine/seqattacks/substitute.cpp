// substitute: words replaced, each by one of its k nearest neighbours in the embedding space (so a
// replacement is a real vocabulary word close to the original, never <pad> or <unk>), chosen by the
// embedding-space gradient and verified by forward passes; each position changes at most once. The
// loop and its math are in greedy.cpp. After Papernot, McDaniel, Swami, Harang 2016
// (arXiv:1604.08275), who substitute words by the gradient's sign over the whole dictionary;
// deviation: candidates are limited to the neighbour list (readability, as the issue asks), and
// every step is verified.
#include "engine/seqattacks/greedy.h"

namespace advx {

SeqAttackSpec substitute_seq_attack() {
  SeqAttackSpec s;
  s.name = "substitute";
  s.title = "Gradient-guided word substitution";
  s.summary = "replace words by embedding-space neighbours chosen by the embedding gradient";
  s.citation = "Papernot et al. 2016, arXiv:1604.08275";
  s.edit = SeqEdit::Substitute;
  s.budget = "budget";
  s.gradient = true;
  s.detector_term = true;
  ParamSpec nearest =
      int_param("nearest", 1, 100, 10, "candidate replacements per word: its k nearest tokens in embedding space");
  ParamSpec candidates = int_param("candidates", 1, 64, 8, "best proposals verified by a forward pass per step");
  candidates.advanced = true;
  s.params = {seq_budget_param(), nearest, candidates};
  s.start = [](const SeqAttackInput& in) {
    GreedyConfig c;
    c.edit = SeqEdit::Substitute;
    c.budget = in.params.number("budget");
    c.neighbours = in.params.integer("nearest");
    c.candidates = in.params.integer("candidates");
    return start_greedy(in, c);
  };
  return s;
}

}  // namespace advx
