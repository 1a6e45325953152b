#include "engine/rng.h"

#include <sstream>

#include "engine/error.h"

namespace advx {

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t position) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (position + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string Rng::state() const {
  std::ostringstream out;
  out << gen_;
  return out.str();
}

void Rng::set_state(const std::string& text) {
  std::istringstream in(text);
  std::mt19937_64 g;
  in >> g;
  ADVX_REQUIRE(!in.fail(),
               "not a random generator state (312 numbers and a position expected): the checkpoint is "
               "damaged; start the run again");
  gen_ = g;
}

}  // namespace advx
