// Sequence attacks (engine/seqattacks) on the shipped sequence models and the real test splits:
// insertion only (the original is a subsequence of the adversarial, in order), budgets, every
// written token a vocabulary token (never <pad> or <unk>), the caller's input untouched, seeded
// reproducibility, the success rule, the gradient through the embedded input, and the errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/data/dataset.h"
#include "engine/error.h"
#include "engine/eval/sequence_eval.h"
#include "engine/loss.h"
#include "engine/seqattacks/greedy.h"
#include "engine/seqattacks/seq_attack.h"

using namespace advx;
using Catch::Matchers::Contains;

namespace {

struct Shipped {
  SequenceModel model;
  SequenceDataset data;
};

Shipped& shipped(const std::string& file, const std::string& task_name) {
  static std::map<std::string, std::unique_ptr<Shipped>> cache;
  auto& slot = cache[file];
  if (!slot) {
    const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/" + file + ".safetensors";
    std::map<std::string, std::string> meta;
    SequenceModel m = load_sequence_model(path, &meta);
    SequenceDataset d = load_dataset_for(*find_sequence_task(task_name), resolve_data_dir(""), meta, path);
    slot = std::make_unique<Shipped>(Shipped{std::move(m), std::move(d)});
  }
  return *slot;
}

// The first `count` test samples of class 1 (malware, spam) that the model classifies correctly.
std::vector<TokenSeq> detected(Shipped& s, int count) {
  std::vector<TokenSeq> out;
  for (int i = 0; i < s.data.test.size() && static_cast<int>(out.size()) < count; ++i) {
    if (s.data.test.labels[static_cast<size_t>(i)] != 1) continue;
    if (s.model.predict(make_batch(s.data.test, {i}))[0] == 1)
      out.push_back(s.data.test.sequences[static_cast<size_t>(i)]);
  }
  return out;
}

ParamValues params(const SeqAttackSpec& spec, double budget) {
  ParamValues p = defaults(spec.params);
  p.set("budget", budget);
  return p;
}

bool is_subsequence(const TokenSeq& a, const TokenSeq& b) {
  size_t j = 0;
  for (std::int32_t t : b)
    if (j < a.size() && a[j] == t) ++j;
  return j == a.size();
}

std::vector<int> labels_of(size_t n, int y) {
  return std::vector<int>(n, y);
}

// The prediction of a freshly packed batch: the attack's reported pred must match it.
std::vector<int> predict(SequenceClassifier& m, const std::vector<TokenSeq>& seqs) {
  std::vector<const TokenSeq*> p;
  for (const TokenSeq& s : seqs) p.push_back(&s);
  Tokens t;
  pack_tokens(p, t);
  return argmax_rows(m.logits(t));
}

}  // namespace

TEST_CASE("edit_budget: ceil of the share of the length, robust to rounding", "[seqattack]") {
  CHECK(edit_budget(0.1, 20) == 2);  // 0.1 * 20 = 2.0000000000000004 in double
  CHECK(edit_budget(0.01, 50) == 1);
  CHECK(edit_budget(0.01, 175) == 2);
  CHECK(edit_budget(0.2, 16) == 4);
  CHECK(edit_budget(0.0, 100) == 0);
  CHECK(edit_budget(1.0, 7) == 7);
}

TEST_CASE("insert on api_lstm: insertion only, budget, vocabulary, input untouched, seeded", "[seqattack]") {
  Shipped& s = shipped("api_lstm", "malbehavd");
  const SeqAttackSpec& spec = *find_seq_attack("insert");
  const std::vector<TokenSeq> seqs = detected(s, 24);
  REQUIRE(seqs.size() == 24);
  const std::vector<TokenSeq> copy = seqs;
  const double budget = 0.1;
  SeqAttackInput in{
      s.model, cross_entropy_objective(), seqs, Goal{labels_of(seqs.size(), 1), {}, -1}, params(spec, budget), 7};
  const SeqAttackResult r = run_seq_attack(spec, in);
  CHECK(seqs == copy);
  REQUIRE(r.adv.size() == seqs.size());
  int successes = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    INFO("sample " << i);
    const int allowed = edit_budget(budget, static_cast<int>(seqs[i].size()));
    CHECK(r.budget[i] == allowed);
    CHECK(is_subsequence(seqs[i], r.adv[i]));
    CHECK(static_cast<int>(r.adv[i].size() - seqs[i].size()) == r.edits[i]);
    CHECK(r.edits[i] <= allowed);
    CHECK(r.edits[i] >= 1);  // every sample starts detected and has a budget of at least 1
    // Inserted tokens: the adversarial minus the original (as multisets) are real vocabulary ids.
    std::vector<std::int32_t> a = r.adv[i], o = seqs[i], extra;
    std::sort(a.begin(), a.end()), std::sort(o.begin(), o.end());
    std::set_difference(a.begin(), a.end(), o.begin(), o.end(), std::back_inserter(extra));
    CHECK(static_cast<int>(extra.size()) == r.edits[i]);
    for (std::int32_t t : extra) CHECK((t >= 2 && t < s.model.vocab_size()));
    CHECK(static_cast<bool>(r.success[i]) == (r.pred[i] != 1));
    // Early stop: a success used no more insertions than needed to flip, a failure the whole budget.
    if (!r.success[i]) CHECK(r.edits[i] == allowed);
    successes += r.success[i];
  }
  CHECK(predict(s.model, r.adv) == r.pred);
  CHECK(successes > 0);  // the attack does something on the shipped model
  CHECK(r.gradient_calls > 0);
  CHECK(r.queries > r.gradient_calls);

  const SeqAttackResult again = run_seq_attack(spec, in);
  CHECK(again.adv == r.adv);
  CHECK(again.queries == r.queries);
  // A sample's result does not depend on the rest of the batch (its own Rng, mix_seed(seed, i)).
  const std::vector<TokenSeq> first = {seqs[0]};
  const SeqAttackResult head =
      run_seq_attack(spec, {s.model, cross_entropy_objective(), first, Goal{{1}, {}, -1}, params(spec, budget), 7});
  CHECK(head.adv[0] == r.adv[0]);
}

TEST_CASE("detector term: the attack evades a detector it knows, and is unchanged by one that never flags",
          "[seqattack]") {
  Shipped& s = shipped("api_lstm", "malbehavd");
  const SeqAttackSpec& spec = *find_seq_attack("insert");
  const std::vector<TokenSeq> seqs = detected(s, 16);
  const Goal goal{labels_of(seqs.size(), 1), {}, -1};
  const ParamValues p = params(spec, 0.1);
  const SeqAttackResult plain = run_seq_attack(spec, {s.model, cross_entropy_objective(), seqs, goal, p, 3});
  // A detector that flags the calls the plain attack put into its successful adversarials (those no
  // original here contains): score = how many such calls a sequence has, flagged above 0.5.
  std::vector<char> banned(static_cast<size_t>(s.model.vocab_size()), 0);
  for (size_t i = 0; i < seqs.size(); ++i)
    if (plain.success[i])
      for (std::int32_t t : plain.adv[i]) banned[static_cast<size_t>(t)] = 1;
  for (const TokenSeq& q : seqs)
    for (std::int32_t t : q) banned[static_cast<size_t>(t)] = 0;
  auto count = [&](const TokenSeq& q) {
    return static_cast<float>(
        std::count_if(q.begin(), q.end(), [&](std::int32_t t) { return banned[static_cast<size_t>(t)]; }));
  };
  SeqDetectorTerm det;
  det.score = [&](const std::vector<TokenSeq>& v) {
    std::vector<float> out;
    for (const TokenSeq& q : v) out.push_back(count(q));
    return out;
  };
  det.threshold = 0.5;
  int plain_unflagged = 0;
  for (size_t i = 0; i < seqs.size(); ++i) plain_unflagged += plain.success[i] && count(plain.adv[i]) <= 0.5f;
  // Almost every plain success is flagged by construction (not one whose calls all occur in some original).
  CHECK(plain_unflagged <= 2);
  for (bool exact : {false, true}) {
    INFO((exact ? "with" : "without") << " exact edit scores");
    if (exact)
      det.edit_scores = [&](const TokenSeq& q, SeqEdit, int, std::vector<float>& out) {
        out.assign(banned.size(), count(q));
        for (size_t u = 0; u < banned.size(); ++u) out[u] += banned[u];
      };
    SeqAttackInput in{s.model, cross_entropy_objective(), seqs, goal, p, 3, &det};
    const SeqAttackResult r = run_seq_attack(spec, in);
    REQUIRE(r.scores.size() == seqs.size());
    int unflagged = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      CHECK(r.scores[i] == count(r.adv[i]));
      CHECK(is_subsequence(seqs[i], r.adv[i]));
      CHECK(r.edits[i] <= r.budget[i]);
      // Stopped early only at the goal: fooled and unflagged.
      if (r.edits[i] < r.budget[i]) CHECK((r.success[i] && r.scores[i] <= 0.5f));
      unflagged += r.success[i] && r.scores[i] <= 0.5f;
    }
    CHECK(unflagged > plain_unflagged);  // it found other calls that evade both
  }
  // A detector that never flags (threshold above any score) changes nothing.
  SeqDetectorTerm never = det;
  never.edit_scores = nullptr;
  never.threshold = 1e9;
  const SeqAttackResult same = run_seq_attack(spec, {s.model, cross_entropy_objective(), seqs, goal, p, 3, &never});
  CHECK(same.adv == plain.adv);
}

TEST_CASE("substitute on sms_lstm: neighbours only, budget, never pad/unk, input untouched, seeded", "[seqattack]") {
  Shipped& s = shipped("sms_lstm", "sms");
  const SeqAttackSpec& spec = *find_seq_attack("substitute");
  const std::vector<TokenSeq> seqs = detected(s, 20);
  REQUIRE(seqs.size() == 20);
  const std::vector<TokenSeq> copy = seqs;
  const double budget = 0.2;
  ParamValues p = params(spec, budget);
  p.set("nearest", 5);
  SeqAttackInput in{s.model, cross_entropy_objective(), seqs, Goal{labels_of(seqs.size(), 1), {}, -1}, p, 3};
  const SeqAttackResult r = run_seq_attack(spec, in);
  CHECK(seqs == copy);
  int successes = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    INFO("sample " << i);
    REQUIRE(r.adv[i].size() == seqs[i].size());
    int changed = 0;
    for (size_t j = 0; j < seqs[i].size(); ++j) {
      if (r.adv[i][j] == seqs[i][j]) continue;
      ++changed;
      const std::int32_t t = r.adv[i][j];
      CHECK((t >= 2 && t < s.model.vocab_size()));
      const std::vector<std::int32_t> nn = nearest_tokens(s.model.embedding_matrix(), seqs[i][j], 5);
      CHECK(std::find(nn.begin(), nn.end(), t) != nn.end());
    }
    CHECK(changed == r.edits[i]);
    CHECK(r.edits[i] <= edit_budget(budget, static_cast<int>(seqs[i].size())));
    CHECK(static_cast<bool>(r.success[i]) == (r.pred[i] != 1));
    successes += r.success[i];
  }
  CHECK(successes > 0);
  CHECK(predict(s.model, r.adv) == r.pred);
  CHECK(run_seq_attack(spec, in).adv == r.adv);
}

TEST_CASE("nearest_tokens: k closest real tokens by distance, never itself, <pad> or <unk>", "[seqattack]") {
  Shipped& s = shipped("sms_lstm", "sms");
  const Tensor& w = s.model.embedding_matrix();
  const int e = w.dim(1);
  auto dist = [&](std::int32_t a, std::int32_t b) {
    double d = 0.0;
    for (int j = 0; j < e; ++j) {
      const double x = w.data[static_cast<size_t>(a * e + j)] - w.data[static_cast<size_t>(b * e + j)];
      d += x * x;
    }
    return d;
  };
  for (std::int32_t tok : {1, 2, 17, 500}) {
    const std::vector<std::int32_t> nn = nearest_tokens(w, tok, 10);
    REQUIRE(nn.size() == 10);
    for (size_t k = 0; k < nn.size(); ++k) {
      CHECK(nn[k] >= 2);
      CHECK(nn[k] != tok);
      if (k) CHECK(dist(tok, nn[k - 1]) <= dist(tok, nn[k]));
    }
    // No other token is closer than the last one kept.
    for (std::int32_t u = 2; u < w.dim(0); ++u)
      if (u != tok && std::find(nn.begin(), nn.end(), u) == nn.end()) REQUIRE(dist(tok, u) >= dist(tok, nn.back()));
  }
}

TEST_CASE("Sequence attacks: success rule, samples already at the goal, budget 0, targeted goal", "[seqattack]") {
  Shipped& s = shipped("api_lstm", "malbehavd");
  const SeqAttackSpec& spec = *find_seq_attack("insert");
  const std::vector<TokenSeq> seqs = detected(s, 4);
  // Label 0 while the model says 1: already "misclassified", so nothing is inserted.
  SeqAttackResult r = run_seq_attack(
      spec, {s.model, cross_entropy_objective(), seqs, Goal{labels_of(4, 0), {}, -1}, params(spec, 0.2), 0});
  CHECK(r.adv == seqs);
  CHECK(r.edits == std::vector<int>(4, 0));
  CHECK(r.success == std::vector<char>(4, 1));
  // Budget 0: nothing changes, nothing succeeds.
  r = run_seq_attack(spec,
                     {s.model, cross_entropy_objective(), seqs, Goal{labels_of(4, 1), {}, -1}, params(spec, 0.0), 0});
  CHECK(r.adv == seqs);
  CHECK(r.success == std::vector<char>(4, 0));
  // Targeted: success means pred == target (the target class 1 is already the prediction here).
  r = run_seq_attack(spec, {s.model, cross_entropy_objective(), seqs, Goal{labels_of(4, 0), labels_of(4, 1), -1},
                            params(spec, 0.2), 0});
  CHECK(r.edits == std::vector<int>(4, 0));
  CHECK(r.success == std::vector<char>(4, 1));
  r = run_seq_attack(spec, {s.model, cross_entropy_objective(), seqs, Goal{labels_of(4, 1), labels_of(4, 0), -1},
                            params(spec, 0.2), 0});
  for (size_t i = 0; i < 4; ++i) CHECK(static_cast<bool>(r.success[i]) == (r.pred[i] == 0));
}

TEST_CASE("SequenceClassifier: the attacks' dL/de is the model's own, and matches finite differences", "[seqattack]") {
  Shipped& s = shipped("api_lstm", "malbehavd");
  SequenceClassifier& m = s.model;
  const Tokens batch = make_batch(s.data.test, {300, 301, 302});
  const std::vector<int> labels = {s.data.test.labels[300], s.data.test.labels[301], s.data.test.labels[302]};
  Tensor de_model;
  s.model.loss_embedded_gradient(batch, labels, de_model);
  const Tensor e = s.model.embedded();
  // The interface: logits from the embedded batch, the objective's dv/dz, embedded_gradient.
  Goal goal{labels, {}, -1};
  std::vector<float> v;
  Tensor dz, de;
  cross_entropy_objective().evaluate(m.logits_embedded(e, batch.lengths), goal, v, &dz);
  m.embedded_gradient(dz, de);
  REQUIRE(de.shape == de_model.shape);
  for (size_t i = 0; i < de.data.size(); ++i) REQUIRE(de.data[i] == Approx(de_model.data[i]).margin(1e-6));
  // Directional finite difference of the summed objective along a random direction (valid positions).
  Rng rng(5);
  Tensor dir(e.shape);
  const int t = batch.t, ed = e.dim(2);
  for (int i = 0; i < batch.n; ++i)
    for (int p = 0; p < batch.lengths[static_cast<size_t>(i)]; ++p)
      for (int j = 0; j < ed; ++j) dir.data[static_cast<size_t>((i * t + p) * ed + j)] = rng.uniform(-1.0f, 1.0f);
  auto total = [&](float h) {
    Tensor x = e;
    for (size_t i = 0; i < x.data.size(); ++i) x.data[i] += h * dir.data[i];
    std::vector<float> val;
    cross_entropy_objective().evaluate(m.logits_embedded(x, batch.lengths), goal, val, nullptr);
    double sum = 0.0;
    for (float f : val) sum += f;
    return sum;
  };
  const float h = 1e-2f;
  const double numeric = (total(h) - total(-h)) / (2.0 * h);
  double analytic = 0.0;
  for (size_t i = 0; i < de.data.size(); ++i) analytic += static_cast<double>(de.data[i]) * dir.data[i];
  CHECK(numeric == Approx(analytic).epsilon(2e-2).margin(1e-4));
}

TEST_CASE("Sequence attacks and evaluation: clear errors", "[seqattack][errors]") {
  Shipped& s = shipped("api_lstm", "malbehavd");
  const SeqAttackSpec& spec = *find_seq_attack("insert");
  const std::vector<TokenSeq> padded = {{5, 0, 7}};
  CHECK_THROWS_WITH(
      run_seq_attack(spec, {s.model, cross_entropy_objective(), padded, Goal{{1}, {}, -1}, params(spec, 0.1), 0}),
      Contains("0 is <pad>"));
  const std::vector<TokenSeq> big = {{5, 100000}};
  CHECK_THROWS_WITH(
      run_seq_attack(spec, {s.model, cross_entropy_objective(), big, Goal{{1}, {}, -1}, params(spec, 0.1), 0}),
      Contains("not a token of the model's 290-token vocabulary"));
  const std::vector<TokenSeq> ok = {{5, 6}};
  CHECK_THROWS_WITH(
      run_seq_attack(spec, {s.model, cross_entropy_objective(), ok, Goal{{1, 0}, {}, -1}, params(spec, 0.1), 0}),
      Contains("labels: 2 given for 1 sequences"));
  CHECK_THROWS_WITH(
      run_seq_attack(spec, {s.model, cross_entropy_objective(), ok, Goal{{1}, {}, -1}, params(spec, 1.5), 0}),
      Contains("budget"));
  // Substitution on malware traces: the task allows insertion only.
  SeqEvalConfig cfg;
  cfg.attack = find_seq_attack("substitute");
  cfg.params = params(*cfg.attack, 0.1);
  CHECK_THROWS_WITH(evaluate_sequences(s.model, *find_sequence_task("malbehavd"), s.data.test, cfg),
                    Contains("calls may only be inserted"));
  CHECK(find_sequence_task("sms")->dataset == "sms-spam-collection");
  CHECK(find_sequence_task("mnist") == nullptr);
}

TEST_CASE("seqde on api_lstm: black-box, insertion only, the whole budget, seeded, batch-independent", "[seqattack]") {
  Shipped& s = shipped("api_lstm", "malbehavd");
  const SeqAttackSpec& spec = *find_seq_attack("seqde");
  CHECK_FALSE(spec.gradient);
  const std::vector<TokenSeq> seqs = detected(s, 6);
  const std::vector<TokenSeq> copy = seqs;
  ParamValues p = params(spec, 0.1);
  p.set("de_pop", 8);
  p.set("de_gens", 3);
  SeqAttackInput in{s.model, cross_entropy_objective(), seqs, Goal{labels_of(seqs.size(), 1), {}, -1}, p, 11};
  const SeqAttackResult r = run_seq_attack(spec, in);
  CHECK(seqs == copy);
  CHECK(r.gradient_calls == 0);
  CHECK(r.queries > 0);
  for (size_t i = 0; i < seqs.size(); ++i) {
    INFO("sample " << i);
    const int allowed = edit_budget(0.1, static_cast<int>(seqs[i].size()));
    CHECK(is_subsequence(seqs[i], r.adv[i]));
    CHECK(static_cast<int>(r.adv[i].size() - seqs[i].size()) == allowed);
    CHECK(r.edits[i] == allowed);
    for (std::int32_t t : r.adv[i]) CHECK((t >= 1 && t < s.model.vocab_size()));
    CHECK(static_cast<bool>(r.success[i]) == (r.pred[i] != 1));
  }
  CHECK(predict(s.model, r.adv) == r.pred);
  CHECK(run_seq_attack(spec, in).adv == r.adv);
  const std::vector<TokenSeq> first = {seqs[0]};
  CHECK(run_seq_attack(spec, {s.model, cross_entropy_objective(), first, Goal{{1}, {}, -1}, p, 11}).adv[0] == r.adv[0]);
}
