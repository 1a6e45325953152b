// The one-pixel (few-pixel) attack by differential evolution (Su, Vargas, Sakurai 2019,
// arXiv:1710.08864): the typed API behind the registry's `pixel` entry (engine/attacks/pixel.cpp
// has the math and the deviations), for callers that need settings the table does not offer
// (the benchmark runs every generation with early_stop = false).
#pragma once
#include <cstdint>
#include <memory>

#include "engine/attacks/attack.h"

namespace advx {

// How a child is made (engine/attacks/pixel.cpp has the formulas).
//   Rand1: child = x_r1 + F (x_r2 - x_r3)    Su et al.'s DE/rand/1 (the default)
//   Best1: child = x_best + F (x_r1 - x_r2)  SciPy's default `best1bin` with recombination 1, as
//                                            Hyperparticle's one-pixel-attack-keras runs it
enum class PixelStrategy { Rand1, Best1 };
// The initial population's pixel values (positions are always uniform).
//   Normal:  v ~ N(128, 127) on the 0..255 scale, clamped (Su et al.)
//   Uniform: every gene, positions included, a Latin hypercube sample over its range (SciPy's
//            default init, which Hyperparticle's code keeps)
enum class PixelInit { Normal, Uniform };

struct PixelAttack {
  int pixels = 1;         // P: pixels changed per image (the L0 budget)
  int pop = 400;          // candidates per image
  int gens = 100;         // generations after the initial population
  float mutation = 0.5f;  // F in child = x_r1 + F (x_r2 - x_r3)
  bool dither = false;    // F ~ U[mutation, 1) drawn per generation (SciPy's mutation = (0.5, 1))
  PixelStrategy strategy = PixelStrategy::Rand1;
  PixelInit init = PixelInit::Normal;
  bool early_stop = true;  // stop an image at the first generation in which a candidate meets the goal
  std::uint64_t seed = 0;  // every random choice; same seed, same result
  // Candidates per evaluation call (engine/local_eval.h: one Classifier::logits() call when the
  // model has no local evaluator) and per step(). A generation of N images is N * pop candidates;
  // it is one call when that fits, else consecutive chunks of at most max_batch, one per step() (the
  // activations of a 4096-image batch of cifar_lenet take about 290 MB in a full forward pass). The
  // chunking changes nothing in the result.
  int max_batch = 4096;
};

// A resumable run: the first step() evaluates the initial populations, each further step() is one
// generation (children, one batched evaluation, selection) of every image still running, or one
// chunk of it when it is larger than max_batch.
// snapshot() shows sample 0: its population as pixel positions, the best candidate, the best
// objective value per generation and its queries. result() holds the best candidate found so far
// for every image at any time (so a UI can show the current best adversarial while the run goes on).
std::unique_ptr<AttackRun> start_pixel(Classifier& m, const Objective& objective, const Tensor& x, const Goal& goal,
                                       const PixelAttack& cfg);

}  // namespace advx
