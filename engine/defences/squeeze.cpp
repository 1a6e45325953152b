// Feature squeezing as an input transformation (Xu, Evans, Qi 2018, NDSS, arXiv:1704.01155):
//
//   defended(x) = f(S_k(... S_1(x)))      S_i: the chosen squeezers in the order bit depth, median, blur
//
// Xu et al. use squeezers mainly to DETECT (engine/defences/squeeze_detect.cpp); they also report the
// accuracy of the model on squeezed inputs, which is this defence. With more than one squeezer we
// apply them in sequence (Xu et al. evaluate each alone). Bit-depth reduction to 1 bit is the binary
// threshold at 0.5 (engine/defences/threshold.cpp) up to rounding at exactly 0.5. The adaptive
// attacker goes through BPDA (identity) for bit depth and the median, exactly through the blur
// (Athalye, Carlini, Wagner 2018, arXiv:1802.00420, broke feature squeezing this way; Xu et al.'s own
// adaptive analysis is He et al. 2017, arXiv:1706.04701).
#include <memory>

#include "engine/defences/defence.h"
#include "engine/defences/squeezers.h"
#include "engine/pipeline.h"

namespace advx {

DefenceSpec squeeze_defence() {
  DefenceSpec d;
  d.name = "squeeze";
  d.title = "feature squeezing";
  d.summary = "the model classifies the squeezed input (bit depth, median filter, blur)";
  d.citation = "Xu, Evans, Qi 2018, arXiv:1704.01155; BPDA: Athalye, Carlini, Wagner 2018, arXiv:1802.00420";
  d.note =
      "Squeezing removes small perturbations an oblivious attacker did not plan for. Bit depth and the median are "
      "not usefully differentiable, so a plain gradient attack on them is masked; BPDA attacks through them and "
      "on MNIST still loses to the 1-bit squeezer's rounding at small eps, as binarisation does.";
  d.params = squeeze_params();
  d.build = [](const DefenceContext&, Classifier& base, const ParamValues& p,
               bool bpda) -> std::unique_ptr<Classifier> {
    auto pipe = std::make_unique<Pipeline>(base);
    for (TransformPtr& t : make_squeezers(squeeze_choice(p), bpda)) pipe->add(std::move(t));
    return pipe;
  };
  return d;
}

}  // namespace advx
