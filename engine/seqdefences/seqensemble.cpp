// seqensemble: an RNN ensemble (seq_ensemble.h; Rosenberg et al. 2019, arXiv:1901.09963) of three
// members shipped in assets/models/sequence (recipes in its README.md) in place of the base model,
// for MalbehavD (members api_lstm_*, api_lstm's recipe) and SMS (sms_lstm_*, sms_lstm's recipe):
//   regular      <model>_regular_{2,3,4}: the base model's recipe with seeds 2, 3, 4 on all the training data
//   subsequence  <model>_subsequence_{0,1,2}: each on a third of the training split (i % 3)
//   adversarial  <model>_adversarial_{0,1,2}: each on the training split plus the task's attack (insert /
//                substitute, budget 10%) crafted once on regular_{2,3,4} respectively against its
//                training malware / spam (engine/train/sequence_adversarial.h: ensemble adversarial
//                training, Tramer et al. 2018, arXiv:1705.07204; Goodfellow et al.'s mixed loss)
//   recrafted    <model>_recrafted_{0,1,2}: seeds 5, 6, 7, each adversarially trained with the task's
//                attack re-crafted on the member itself before every epoch (Madry et al. 2018,
//                arXiv:1706.06083; engine/train/sequence_adversarial.h, train_sequence_adversarial)
// soft or hard voting. The base model (seed 1) is not a member: the oblivious attacker's
// adversarials, crafted on it, transfer to the ensemble. The adaptive attacker attacks the whole
// ensemble (exact gradient for soft voting, the soft vote's gradient for hard). No detector.
#include <algorithm>
#include <memory>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/seqdefences/seq_defence.h"
#include "engine/seqdefences/seq_ensemble.h"
#include "engine/sequence_model.h"

namespace advx {

namespace {

const std::vector<std::string>& member_kinds() {
  static const std::vector<std::string> k = {"regular", "subsequence", "adversarial", "recrafted"};
  return k;
}

// The shipped base model whose recipe the members follow, per dataset ("" if none).
std::string member_prefix(const std::string& dataset) {
  if (dataset == "malbehavd-v1") return "api_lstm";
  if (dataset == "sms-spam-collection") return "sms_lstm";
  return "";
}

}  // namespace

std::vector<std::string> seq_ensemble_member_names(const std::string& dataset, const std::string& kind) {
  const std::string prefix = member_prefix(dataset);
  ADVX_REQUIRE(!prefix.empty(), "no RNN ensemble members are shipped for '" + dataset +
                                    "': --defence seqensemble works on --dataset malbehavd and sms");
  ADVX_REQUIRE(std::find(member_kinds().begin(), member_kinds().end(), kind) != member_kinds().end(),
               "no RNN ensemble members of kind '" + kind + "'");
  std::vector<std::string> out;
  for (int i : kind == "regular" ? std::vector<int>{2, 3, 4} : std::vector<int>{0, 1, 2})
    out.push_back("sequence/" + prefix + "_" + kind + "_" + std::to_string(i));
  return out;
}

std::vector<std::string> seq_ensemble_member_files(const std::string& dataset, const std::string& kind) {
  std::vector<std::string> out;
  for (const std::string& name : seq_ensemble_member_names(dataset, kind)) {
    const std::string rel = "assets/models/" + name + ".safetensors";
    const std::string path = file_exists(rel) ? rel : std::string(ADVX_SOURCE_DIR) + "/" + rel;
    ADVX_REQUIRE(file_exists(path), "the ensemble member " + rel +
                                        " is not there: it ships with the repository "
                                        "(assets/models/sequence/README.md has the recipe that makes it)");
    out.push_back(path);
  }
  return out;
}

SeqDefenceSpec seqensemble_seq_defence() {
  SeqDefenceSpec s;
  s.name = "seqensemble";
  s.title = "RNN ensemble";
  s.summary =
      "three LSTMs vote in place of the model: regular (other seeds), subsequence (each on a third of "
      "the training data) or adversarial (trained on adversarials of a regular member), soft or hard";
  s.citation = "Rosenberg et al. 2019, arXiv:1901.09963";
  s.params = {
      choice_param("members", member_kinds(), 0,
                   "which three members: regular (three seeds, all the data), subsequence (each on a third "
                   "of the data), adversarial (the data plus the attack's adversarials of a regular member), "
                   "recrafted (adversarials re-crafted on the member itself every epoch)"),
      choice_param("vote", {"soft", "hard"}, 0, "soft: mean probability; hard: majority of the members' argmax")};
  s.build = [](const SeqDefenceContext& ctx, SequenceClassifier& base, const ParamValues& p) {
    const std::string kind = member_kinds()[static_cast<size_t>(p.integer("members"))];
    std::vector<std::unique_ptr<SequenceClassifier>> keep;
    std::vector<SequenceClassifier*> members;
    const std::vector<std::string> names = seq_ensemble_member_names(ctx.dataset, kind);
    // The caller's copies (the playground's model store), else the files.
    const std::vector<std::string> files = ctx.model ? names : seq_ensemble_member_files(ctx.dataset, kind);
    for (size_t m = 0; m < names.size(); ++m) {
      if (ctx.model) {
        members.push_back(&ctx.model(names[m]));
      } else {
        keep.push_back(std::make_unique<SequenceModel>(load_sequence_model(files[m])));
        members.push_back(keep.back().get());
      }
      ADVX_REQUIRE(members.back()->vocab_size() == base.vocab_size(),
                   "ensemble member " + names[m] + " has a vocabulary of " +
                       std::to_string(members.back()->vocab_size()) + " tokens, the model " +
                       std::to_string(base.vocab_size()) + ": retrain it on the default split");
    }
    SeqDefended d;
    d.owned =
        std::make_unique<SequenceEnsemble>(members, p.integer("vote") == 1 ? Vote::Hard : Vote::Soft, std::move(keep));
    d.note = p.integer("vote") == 1 ? "adaptive: the whole ensemble, through the soft vote's gradient (hard vote)"
                                    : "adaptive: the whole ensemble, exact gradient of the soft vote";
    return d;
  };
  return s;
}

}  // namespace advx
