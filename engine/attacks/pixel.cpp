// The one-pixel attack: differential evolution over P pixels (Su, Vargas, Sakurai 2019,
// "One pixel attack for fooling deep neural networks", IEEE TEC, arXiv:1710.08864).
//
// A candidate changes P pixels of an image [C, H, W]; it is P genes of 2 + C numbers each:
//   (x, y, v_1 .. v_C)     x in [0, W], y in [0, H] (continuous), v_c in [0, 1] (grey or R, G, B)
// Applied to the image, gene p sets pixel (min(floor(y), H-1), min(floor(x), W-1)) to v, each v_c
// rounded to the nearest of 256 levels k/255 (so the adversarial survives 8-bit PNG export
// exactly); every other pixel keeps its value. At most P pixels change (fewer when two genes land
// on the same pixel or a value equals the original): the L0 budget of engine/norms.h.
//
// Differential evolution (Storn & Price 1997), as in the paper, per image:
//   init   pop candidates, x ~ U(0, W), y ~ U(0, H), v ~ N(128/255, 127/255) clamped to [0, 1]
//          (the paper's U(1, 32) and N(mu = 128, sigma = 127) on the 0..255 scale)
//   child  c_i = x_r1 + F (x_r2 - x_r3), r1, r2, r3 distinct and != i, drawn per child;
//          F = 0.5 (`mutation`), no crossover (every gene comes from the mutant)
//   bounds a child's coordinate is clamped to [0, W] (or [0, H]), a value to [0, 1]
//   select c_i replaces x_i when its fitness is at least x_i's (Storn & Price's rule; equal
//          fitness lets the population drift across plateaus)
//   stop   after `gens` generations, or (early stop) after the first generation in which any
//          candidate meets the goal: pred != label, or pred == target (attack_succeeded)
// Options (all off by default, so the default run is the paper's), for the setting of
// Hyperparticle's one-pixel-attack-keras, which calls SciPy's differential_evolution with
// recombination = 1 and the defaults strategy = 'best1bin', mutation = (0.5, 1), init =
// 'latinhypercube' (REPRODUCTIONS.md measures both settings on cifar_lenet):
//   strategy best1  c_i = x_best + F (x_r1 - x_r2), x_best the fittest candidate of the image's
//                   population at the start of the generation, r1 != r2, both != i. SciPy's
//                   `bin` crossover with recombination 1 takes every gene from the mutant, so
//                   this is best1bin there.
//   dither          F ~ U[mutation, 1) drawn once per generation (per image), as SciPy does for
//                   mutation = (0.5, 1) (Storn & Price call it dither).
//   pop_init uniform
//                   every gene (x, y and each value) a Latin hypercube sample over its range: the
//                   range cut into `pop` equal strata, one uniform draw in each, the strata
//                   shuffled per gene (SciPy's init_population_lhs). SciPy's colour bounds are
//                   (0, 256) read as integers, ours [0, 1] rounded to 256 levels: levels 0 and 255
//                   get half the weight of the others here.
// SciPy differs from us in two details that we keep: an out-of-range gene is redrawn uniformly
// (we clamp), and a child replaces its parent only when strictly better (we also on ties).
// Fitness is the attacker's Objective v (larger is better) on the candidate's logits, forward
// passes only: black-box, it counts queries and never asks for a gradient. With the default
// cross-entropy objective, untargeted v = -log p_label and targeted v = log p_target: monotone in
// the probability, so every selection is the paper's (minimise the true class's probability,
// maximise the target's) up to float rounding. Another objective (C&W margin) changes the fitness.
//
// Deviations, stated: (1) early stop on the success rule instead of the paper's thresholds (target
// probability > 50% on CIFAR-10, true-class probability < 5% on ImageNet); (2) values are rounded
// to 8 bits when applied (the genome stays continuous); (3) out-of-range children are clamped (the
// paper does not say; SciPy, which Su et al.'s and Hyperparticle's code build on, redraws them at
// random); (4) per image the result is the best candidate ever evaluated, the successful ones first
// (then by fitness), so with early stop it is the fittest successful child of the last generation;
// (5) a candidate's logits are computed from the clean image's activations plus the exact local
// change of its pixels when the model allows it (below): the same logits up to float rounding.
//
// Batched and resumable: one step() evaluates one generation of every image still running in ONE
// evaluation call (N images x pop candidates; consecutive chunks of at most cfg.max_batch when it
// does not fit). Each image has its own random stream (derived from the seed and its index in the
// batch), so an image's run does not depend on which other images are running or have stopped.
//
// How a candidate is evaluated (ours, not the paper's: Su et al. run a forward pass per candidate):
// through engine/local_eval.h, as P pixel writes on the clean image. On a model with a local
// evaluator (a bare Sequential) its logits are the clean image's activations plus the exact local
// change its pixels make (a changed pixel reaches 2 x 2 of `small`'s first convolution's outputs,
// 3 x 3 of the second's), several times cheaper than a forward pass; on any other Classifier (a
// defended Pipeline, an Ensemble) the candidates are materialised and sent through logits(), one
// call per chunk, as before. Both give the same logits up to float summation order, so the search is
// the same up to the last bits (a seeded run may take another branch at a near-tie than it did with
// full forward passes). Queries are counted as before: one per candidate evaluated (the clean
// images' one forward pass that the local evaluator starts from is not a candidate and not counted).
#include "engine/attacks/pixel.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"
#include "engine/local_eval.h"
#include "engine/rng.h"

namespace advx {
namespace {

// SplitMix64 (Steele, Lea, Flood 2014): well-spread seeds for the per-image streams.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (i + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void check_config(const PixelAttack& c, const Shape& input) {
  ADVX_REQUIRE(input.size() == 3, "the pixel attack changes pixels of images [C, H, W]; this model takes " +
                                      shape_str(input) + " (use an image model such as small or cifar_lenet)");
  ADVX_REQUIRE(c.pixels >= 1 && c.pixels <= input[1] * input[2],
               "pixels must be in 1.." + std::to_string(input[1] * input[2]) + " (the image's pixels), got " +
                   std::to_string(c.pixels));
  ADVX_REQUIRE(c.pop >= 4, "pop must be >= 4 (a child needs three other candidates), got " + std::to_string(c.pop));
  ADVX_REQUIRE(c.gens >= 0, "gens must be >= 0, got " + std::to_string(c.gens));
  ADVX_REQUIRE(std::isfinite(c.mutation) && c.mutation >= 0.0f,
               "mutation must be a finite number >= 0 (the paper's F = 0.5), got " + std::to_string(c.mutation));
  ADVX_REQUIRE(
      !c.dither || c.mutation < 1.0f,
      "dither draws F from [mutation, 1), so mutation must be < 1 with dither, got " + std::to_string(c.mutation));
  ADVX_REQUIRE(c.max_batch >= 1, "max_batch must be >= 1, got " + std::to_string(c.max_batch));
}

class PixelRun : public AttackRun {
 public:
  PixelRun(Classifier& m, const Objective& objective, const Tensor& x, Goal goal, const PixelAttack& cfg)
      : m_(m), objective_(objective), x_(x), goal_(std::move(goal)), cfg_(cfg) {
    check_config(cfg_, m_.input_shape());
    check_input(m_, x_, true);
    n_ = x_.dim(0);
    check_labels(m_, goal_.labels, static_cast<size_t>(n_), "labels");
    if (goal_.targeted()) check_labels(m_, goal_.targets, static_cast<size_t>(n_), "targets");
    c_ = x_.dim(1), h_ = x_.dim(2), w_ = x_.dim(3);
    k_ = m_.num_classes();
    per_ = x_.sample_size();
    plane_ = static_cast<std::int64_t>(h_) * w_;
    genes_ = 2 + c_;
    clen_ = cfg_.pixels * genes_;
    const auto cands = static_cast<size_t>(n_) * static_cast<size_t>(cfg_.pop);
    pop_.assign(cands * static_cast<size_t>(clen_), 0.0f);
    trial_.assign(pop_.size(), 0.0f);
    fit_.assign(cands, -std::numeric_limits<float>::infinity());
    trial_fit_.assign(cands, 0.0f);
    for (int i = 0; i < n_; ++i) rng_.emplace_back(mix_seed(cfg_.seed, static_cast<std::uint64_t>(i)));
    queries_.assign(static_cast<size_t>(n_), 0);
    best_.assign(static_cast<size_t>(n_), -std::numeric_limits<float>::infinity());
    r_.adv = x_;  // a copy: the caller's x is never written
    r_.pred.assign(static_cast<size_t>(n_), -1);
    r_.logits = Tensor({n_, k_});
    r_.success.assign(static_cast<size_t>(n_), 0);
    for (int i = 0; i < n_; ++i) idx_.push_back(i);
    // Every candidate is P pixel writes on its clean image (engine/local_eval.h).
    eval_ = make_local_evaluator(m_, x_);
    // Scratch sized once: a chunk of candidates as pixel writes, its goal, its values.
    chunk_ = static_cast<int>(std::min<std::int64_t>(cfg_.max_batch, static_cast<std::int64_t>(cands)));
    edit_base_.resize(static_cast<size_t>(chunk_));
    edit_pixel_.resize(static_cast<size_t>(chunk_) * static_cast<size_t>(cfg_.pixels));
    edit_value_.resize(edit_pixel_.size() * static_cast<size_t>(c_));
    rows_.labels.reserve(static_cast<size_t>(chunk_));
    if (goal_.targeted()) rows_.targets.reserve(static_cast<size_t>(chunk_));
    row_cand_.reserve(static_cast<size_t>(chunk_));
    values_.reserve(static_cast<size_t>(chunk_));
  }

  bool done() const override { return finished_; }
  const AttackResult& result() const override { return r_; }
  double progress() const override {
    if (finished_) return 1.0;
    const double rows = static_cast<double>(idx_.size()) * cfg_.pop;
    const double within = pos_ > 0 && rows > 0 ? static_cast<double>(pos_) / rows : 0.0;
    return (gen_ + within) / (cfg_.gens + 1.0);
  }

  // One chunk of at most max_batch candidates per step: a generation that fits in one chunk (the
  // default for up to 10 images at population 400) is one step; a larger one takes several, so a
  // UI can keep every step short (App: a few rows per step on a slow model).
  bool step() override {
    if (finished_) return true;
    const bool initial = gen_ == 0;
    if (pos_ < 0) {  // a new generation: its candidates
      for (int i : idx_) initial ? init_population(i) : make_children(i);
      pos_ = 0;
    }
    pos_ = evaluate_chunk(initial ? pop_ : trial_, initial ? fit_ : trial_fit_, pos_);
    if (pos_ < static_cast<std::int64_t>(idx_.size()) * cfg_.pop) return false;
    pos_ = -1;
    if (!initial)
      for (int i : idx_) select(i);
    if (!idx_.empty() && idx_[0] == 0) history0_.push_back(best_fitness(0));
    ++gen_;
    // Early stop: an image leaves the run once it is fooled; every image leaves after `gens`.
    next_.clear();
    if (gen_ <= cfg_.gens)
      for (int i : idx_)
        if (!(cfg_.early_stop && r_.success[static_cast<size_t>(i)])) next_.push_back(i);
    idx_.swap(next_);
    finished_ = idx_.empty();
    return finished_;
  }

  AttackSnapshot snapshot() const override {
    AttackSnapshot s;
    s.iterations = cfg_.gens;
    s.iteration = std::max(0, static_cast<int>(history0_.size()) - 1);
    s.queries = queries_.empty() ? 0 : queries_[0];
    s.best_history = history0_;
    if (gen_ == 0 || n_ == 0) return s;
    float best = -std::numeric_limits<float>::infinity();
    for (int j = 0; j < cfg_.pop; ++j) {
      const float* cand = candidate(pop_, 0, j);
      std::vector<int> pos(static_cast<size_t>(cfg_.pixels));
      for (int p = 0; p < cfg_.pixels; ++p) pos[static_cast<size_t>(p)] = position(cand + p * genes_);
      s.candidates.push_back(std::move(pos));
      if (fit_[static_cast<size_t>(j)] > best) best = fit_[static_cast<size_t>(j)], s.best = j;
    }
    return s;
  }

 private:
  const float* candidate(const std::vector<float>& v, int i, int j) const {
    return v.data() + (static_cast<std::int64_t>(i) * cfg_.pop + j) * clen_;
  }
  float* candidate(std::vector<float>& v, int i, int j) {
    return v.data() + (static_cast<std::int64_t>(i) * cfg_.pop + j) * clen_;
  }
  int col(float gx) const { return std::min(static_cast<int>(gx), w_ - 1); }  // gx in [0, W]
  int row(float gy) const { return std::min(static_cast<int>(gy), h_ - 1); }
  int position(const float* gene) const { return row(gene[1]) * w_ + col(gene[0]); }  // y * W + x

  static float level(float v) { return std::nearbyint(v * 255.0f) / 255.0f; }  // the nearest of 256 levels

  // img (one sample, holding the original) gets the candidate's pixels.
  void apply(const float* cand, float* img) const {
    for (int p = 0; p < cfg_.pixels; ++p) {
      const float* g = cand + p * genes_;
      float* px = img + position(g);
      for (int ch = 0; ch < c_; ++ch) px[ch * plane_] = level(g[2 + ch]);
    }
  }

  float best_fitness(int i) const {
    const float* f = fit_.data() + static_cast<std::int64_t>(i) * cfg_.pop;
    return *std::max_element(f, f + cfg_.pop);
  }

  void init_population(int i) {
    if (cfg_.init == PixelInit::Uniform) return init_latin_hypercube(i);
    Rng& rng = rng_[static_cast<size_t>(i)];
    const float sd = 127.0f / 255.0f, mean = 128.0f / 255.0f;
    for (int j = 0; j < cfg_.pop; ++j) {
      float* cand = candidate(pop_, i, j);
      for (int p = 0; p < cfg_.pixels; ++p) {
        float* g = cand + p * genes_;
        g[0] = rng.uniform(0.0f, static_cast<float>(w_));
        g[1] = rng.uniform(0.0f, static_cast<float>(h_));
        for (int ch = 0; ch < c_; ++ch) g[2 + ch] = std::clamp(rng.normal(mean, sd), 0.0f, 1.0f);
      }
    }
  }

  // Per gene q: candidate j gets stratum perm_q[j] of `pop` equal strata of q's range, uniform in it.
  void init_latin_hypercube(int i) {
    Rng& rng = rng_[static_cast<size_t>(i)];
    std::vector<int> perm(static_cast<size_t>(cfg_.pop));
    for (int q = 0; q < clen_; ++q) {
      for (int j = 0; j < cfg_.pop; ++j) perm[static_cast<size_t>(j)] = j;
      for (int j = cfg_.pop - 1; j > 0; --j)  // Fisher-Yates
        std::swap(perm[static_cast<size_t>(j)], perm[rng.below(static_cast<std::uint64_t>(j) + 1)]);
      const float hi = upper(q);
      for (int j = 0; j < cfg_.pop; ++j) {
        const float u =
            (static_cast<float>(perm[static_cast<size_t>(j)]) + rng.uniform()) / static_cast<float>(cfg_.pop);
        candidate(pop_, i, j)[q] = std::min(u * hi, hi);
      }
    }
  }

  // The upper bound of gene q (the lower one is 0): W for x, H for y, 1 for a value.
  float upper(int q) const {
    const int kind = q % genes_;  // 0: x, 1: y, else a value
    return kind == 0 ? static_cast<float>(w_) : kind == 1 ? static_cast<float>(h_) : 1.0f;
  }

  int best_index(int i) const {
    const float* f = fit_.data() + static_cast<std::int64_t>(i) * cfg_.pop;
    return static_cast<int>(std::max_element(f, f + cfg_.pop) - f);
  }

  // rand/1 or best/1 mutation, no crossover, clamped into range.
  void make_children(int i) {
    Rng& rng = rng_[static_cast<size_t>(i)];
    const auto n = static_cast<std::uint64_t>(cfg_.pop);
    const float f = cfg_.dither ? rng.uniform(cfg_.mutation, 1.0f) : cfg_.mutation;
    const bool best1 = cfg_.strategy == PixelStrategy::Best1;
    const float* best = best1 ? candidate(pop_, i, best_index(i)) : nullptr;
    for (int j = 0; j < cfg_.pop; ++j) {
      int r1, r2, r3 = -1;
      do r1 = static_cast<int>(rng.below(n));
      while (r1 == j);
      do r2 = static_cast<int>(rng.below(n));
      while (r2 == j || r2 == r1);
      if (!best1) {
        do r3 = static_cast<int>(rng.below(n));
        while (r3 == j || r3 == r1 || r3 == r2);
      }
      // rand/1: a + F (b - c) with a = x_r1; best/1: a = x_best, b - c = x_r1 - x_r2.
      const float* a = best1 ? best : candidate(pop_, i, r1);
      const float* b = candidate(pop_, i, best1 ? r1 : r2);
      const float* c = candidate(pop_, i, best1 ? r2 : r3);
      float* t = candidate(trial_, i, j);
      for (int q = 0; q < clen_; ++q) t[q] = std::clamp(a[q] + f * (b[q] - c[q]), 0.0f, upper(q));
    }
  }

  void select(int i) {
    for (int j = 0; j < cfg_.pop; ++j) {
      const size_t u = static_cast<size_t>(i) * static_cast<size_t>(cfg_.pop) + static_cast<size_t>(j);
      if (trial_fit_[u] >= fit_[u]) {
        fit_[u] = trial_fit_[u];
        std::copy_n(candidate(trial_, i, j), clen_, candidate(pop_, i, j));
      }
    }
  }

  // Evaluates the next chunk (at most chunk_ rows, one evaluator call) of the candidates `cands` of
  // every running image, from row `start` of them; writes their fitness into `fit`, keeps each
  // image's best result, and returns the row after the chunk.
  std::int64_t evaluate_chunk(const std::vector<float>& cands, std::vector<float>& fit, std::int64_t start) {
    const std::int64_t total = static_cast<std::int64_t>(idx_.size()) * cfg_.pop;
    const int rows = static_cast<int>(std::min<std::int64_t>(chunk_, total - start));
    row_cand_.clear();
    rows_.labels.clear();
    rows_.targets.clear();
    for (int r = 0; r < rows; ++r) {
      const std::int64_t q = start + r;
      const int i = idx_[static_cast<size_t>(q / cfg_.pop)];
      row_cand_.push_back(i * static_cast<std::int64_t>(cfg_.pop) + q % cfg_.pop);
      rows_.labels.push_back(goal_.labels[static_cast<size_t>(i)]);
      if (goal_.targeted()) rows_.targets.push_back(goal_.targets[static_cast<size_t>(i)]);
    }
    // Each row: its image and the candidate's P pixel writes, in gene order (as apply() writes them).
    for (int r = 0; r < rows; ++r) {
      const std::int64_t cand = row_cand_[static_cast<size_t>(r)];
      edit_base_[static_cast<size_t>(r)] = static_cast<int>(cand / cfg_.pop);
      const float* genes = cands.data() + cand * clen_;
      for (int p = 0; p < cfg_.pixels; ++p) {
        const float* g = genes + p * genes_;
        const size_t w = static_cast<size_t>(r) * static_cast<size_t>(cfg_.pixels) + static_cast<size_t>(p);
        edit_pixel_[w] = position(g);
        for (int ch = 0; ch < c_; ++ch)
          edit_value_[w * static_cast<size_t>(c_) + static_cast<size_t>(ch)] = level(g[2 + ch]);
      }
    }
    const Tensor& logits =
        eval_->logits(PixelEdits{rows, cfg_.pixels, edit_base_.data(), edit_pixel_.data(), edit_value_.data()});
    r_.queries += rows;
    objective_.evaluate(logits, rows_, values_, nullptr);
    for (int r = 0; r < rows; ++r) {
      const std::int64_t cand = row_cand_[static_cast<size_t>(r)];
      const auto i = static_cast<int>(cand / cfg_.pop);
      const float* z = logits.ptr() + static_cast<std::int64_t>(r) * k_;
      const int pred = static_cast<int>(std::max_element(z, z + k_) - z);
      const float v = values_[static_cast<size_t>(r)];
      fit[static_cast<size_t>(cand)] = v;
      ++queries_[static_cast<size_t>(i)];
      consider(i, cands.data() + cand * clen_, z, pred, v);
    }
    return start + rows;
  }

  // Keeps candidate `cand` as image i's result if it beats the kept one: success first, then fitness.
  void consider(int i, const float* cand, const float* z, int pred, float v) {
    const auto u = static_cast<size_t>(i);
    const bool ok = attack_succeeded(pred, goal_.labels[u], goal_.target(u));
    if (!((ok && !r_.success[u]) || (ok == static_cast<bool>(r_.success[u]) && v > best_[u]))) return;
    r_.success[u] = ok;
    r_.pred[u] = pred;
    best_[u] = v;
    float* img = r_.adv.ptr() + static_cast<std::int64_t>(i) * per_;
    std::copy_n(x_.ptr() + static_cast<std::int64_t>(i) * per_, per_, img);
    apply(cand, img);
    std::copy_n(z, k_, r_.logits.ptr() + static_cast<std::int64_t>(i) * k_);
  }

  Classifier& m_;
  const Objective& objective_;
  const Tensor x_;
  const Goal goal_;
  const PixelAttack cfg_;
  int n_ = 0, c_ = 0, h_ = 0, w_ = 0, k_ = 0, genes_ = 0, clen_ = 0, chunk_ = 1;
  std::int64_t per_ = 0, plane_ = 0;
  std::vector<Rng> rng_;                // one stream per image
  std::vector<float> pop_, trial_;      // [n][pop][clen]: the population and this generation's children
  std::vector<float> fit_, trial_fit_;  // [n][pop]: their fitness
  std::vector<std::int64_t> queries_;   // per image
  std::vector<float> best_;             // fitness of the kept result per image
  std::vector<double> history0_;        // sample 0: best fitness after each generation
  std::vector<int> idx_, next_;         // images still running
  int gen_ = 0;                         // populations evaluated so far (the initial one included)
  std::int64_t pos_ = -1;               // rows of the current generation evaluated (-1: not begun)
  bool finished_ = false;
  AttackResult r_;
  std::unique_ptr<LocalEvaluator> eval_;  // the candidates' logits
  // Scratch for one chunk (sized once): its candidates as pixel writes.
  std::vector<int> edit_base_, edit_pixel_;
  std::vector<float> edit_value_;
  Goal rows_;
  std::vector<std::int64_t> row_cand_;  // row -> image * pop + candidate
  std::vector<float> values_;
};

}  // namespace

std::unique_ptr<AttackRun> start_pixel(Classifier& m, const Objective& objective, const Tensor& x, const Goal& goal,
                                       const PixelAttack& cfg) {
  return std::make_unique<PixelRun>(m, objective, x, goal, cfg);
}

AttackSpec pixel_attack() {
  AttackSpec s;
  s.name = "pixel", s.title = "one-pixel (differential evolution)", s.key = 'O', s.norm = Norm::L0;
  s.budget = "pixels", s.gradient = false;
  s.summary = "differential evolution over the position and value of a few pixels, from the model's outputs only";
  s.citation = "Su, Vargas, Sakurai 2019, arXiv:1710.08864";
  ParamSpec pixels = int_param("pixels", 1, 100, 1, "pixels the attack may change (L0 budget; the paper: 1, 3, 5)");
  pixels.required = true;
  pixels.ui_max = 10;
  ParamSpec pop = int_param("pop", 4, 4000, 400, "candidates per image in each generation");
  pop.ui_max = 1000;
  ParamSpec gens = int_param("gens", 0, 1000, 100, "generations of differential evolution (0: the random start only)");
  gens.ui_max = 200;
  ParamSpec f = float_param("mutation", 0.0, 2.0, 0.5, "differential weight F in child = a + F (b - c)");
  f.advanced = true;
  f.ui_max = 1.0;
  ParamSpec strategy = choice_param("strategy", {"rand1", "best1"}, 0,
                                    "child = a + F (b - c) with a random candidate as a (rand1, the paper) or the "
                                    "fittest (best1, SciPy's default best1bin)");
  ParamSpec dither = bool_param("dither", false, "draw F from [mutation, 1) every generation (SciPy's default)");
  dither.advanced = true;
  ParamSpec init = choice_param("pop_init", {"normal", "uniform"}, 0,
                                "initial pixel values: N(128, 127) (normal, the paper) or a Latin hypercube over "
                                "every gene (uniform, SciPy's default)");
  init.advanced = true;
  s.params = {pixels, pop, gens, f, strategy, dither, init};
  s.start = [](const AttackInput& in) {
    PixelAttack c;
    c.pixels = in.params.integer("pixels");
    c.pop = in.params.integer("pop");
    c.gens = in.params.integer("gens");
    c.mutation = static_cast<float>(in.params.number("mutation"));
    c.strategy = static_cast<PixelStrategy>(in.params.integer("strategy"));
    c.dither = in.params.flag("dither");
    c.init = static_cast<PixelInit>(in.params.integer("pop_init"));
    c.seed = in.seed;
    if (in.max_rows > 0) c.max_batch = in.max_rows;
    return start_pixel(in.model, in.objective, in.x, in.goal, c);
  };
  return s;
}

}  // namespace advx
