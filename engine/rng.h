// Explicit, seeded random number generation. No global RNG state anywhere in advx:
// every function that draws random numbers takes an Rng&.
//
// The distributions are written out here instead of using <random>'s: std::mt19937_64's output is
// fixed by the standard, but uniform_real_distribution / normal_distribution are not, and libstdc++
// (native) and libc++ (Emscripten) differ. Doing it by hand makes one seed give the same numbers in
// the desktop app, the CLI and the browser.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

namespace advx {

// A 64-bit seed derived from a seed and a position (SplitMix64 finaliser over both): independent,
// reproducible streams per batch or per member without keeping generator state.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t position);

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  // Uniform double in [0, 1) from the top 53 bits.
  double next_double() { return static_cast<double>(gen_() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform in [lo, hi).
  float uniform(float lo = 0.0f, float hi = 1.0f) { return lo + (hi - lo) * static_cast<float>(next_double()); }
  // Standard normal by Box-Muller (one value per call; simple over fast).
  float normal(float mean = 0.0f, float stddev = 1.0f) {
    const double u1 = 1.0 - next_double();  // (0, 1]
    const double u2 = next_double();
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    return mean + stddev * static_cast<float>(z);
  }
  // Uniform integer in [0, n), n > 0 (rejection sampling, no modulo bias).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t r = gen_();
    while (r >= limit) r = gen_();
    return r % n;
  }
  std::uint64_t next_u64() { return gen_(); }

  // The generator's whole state as text and back, to checkpoint a run and resume it with the same
  // numbers (the standard fixes mersenne_twister_engine's stream format: 312 words and a position).
  // set_state throws advx::Error on text that is not such a state.
  std::string state() const;
  void set_state(const std::string& text);

 private:
  std::mt19937_64 gen_;
};

}  // namespace advx
