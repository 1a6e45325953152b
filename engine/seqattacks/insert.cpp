// insert: API calls added to a malware trace, never removed or reordered, each chosen (call and
// position) from the embedding-space gradient and verified by forward passes; the loop and its math
// are in greedy.cpp. After Rosenberg, Shabtai, Rokach, Elovici 2018 (arXiv:1707.05970: insertion
// only, so the malware keeps its behaviour) and Papernot, McDaniel, Swami, Harang 2016
// (arXiv:1604.08275: gradient in the embedding space, projected to a real token). Deviations: see
// greedy.cpp (the position is chosen, not random; every step verified).
#include "engine/seqattacks/greedy.h"

namespace advx {

SeqAttackSpec insert_seq_attack() {
  SeqAttackSpec s;
  s.name = "insert";
  s.title = "Gradient-guided insertion";
  s.summary = "insert tokens (API calls) chosen by the embedding gradient; the original tokens all stay, in order";
  s.citation = "Rosenberg et al. 2018, arXiv:1707.05970; Papernot et al. 2016, arXiv:1604.08275";
  s.edit = SeqEdit::Insert;
  s.budget = "budget";
  s.gradient = true;
  s.detector_term = true;
  ParamSpec positions = int_param("positions", 1, 256, 16, "insertion gaps probed by the gradient per step");
  positions.advanced = true;
  ParamSpec candidates = int_param("candidates", 1, 64, 8, "best proposals verified by a forward pass per step");
  candidates.advanced = true;
  s.params = {seq_budget_param(), positions, candidates};
  s.start = [](const SeqAttackInput& in) {
    GreedyConfig c;
    c.edit = SeqEdit::Insert;
    c.budget = in.params.number("budget");
    c.positions = in.params.integer("positions");
    c.candidates = in.params.integer("candidates");
    return start_greedy(in, c);
  };
  return s;
}

}  // namespace advx
