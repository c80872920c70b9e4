#pragma once
// Portable pseudo-random numbers. Everything a file depends on (randomized Hadamard signs,
// TurboQuant rotations, synthetic weights) is drawn from these generators, never from <random>'s
// distributions, whose outputs differ between standard libraries: a file made on one platform
// must decode identically on every other, the browser included. Specified in docs/codecs.md.
#include <cstdint>

namespace tqlib {

// SplitMix64 (Steele, Lea, Flood 2014), used to expand a 64-bit seed.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// xoshiro256** 1.0 (Blackman, Vigna 2018), seeded by SplitMix64 as its authors recommend.
class xoshiro256ss {
 public:
  constexpr explicit xoshiro256ss(std::uint64_t seed) noexcept {
    for (auto& w : s_) w = splitmix64(seed);
  }
  constexpr std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  constexpr double uniform() noexcept { return double(next() >> 11) * 0x1.0p-53; }
  // Standard normal by Box-Muller with the library's own log/cos (not std:: distributions).
  double normal() noexcept;

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

}  // namespace tqlib

#include <cmath>

inline double tqlib::xoshiro256ss::normal() noexcept {
  // Box-Muller; u1 in (0, 1] so log is finite. std::log/cos are correctly rounded enough on
  // every target we build for; this is used only for synthetic data, never for file layout.
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
