#pragma once
// Normalized fast Walsh-Hadamard transform (FWHT), its randomized variant (random +-1 diagonal
// first) and the block plan that applies it to rows whose length is not a power of two.
//
// Why: a random orthogonal rotation spreads every weight row's energy evenly over its
// coordinates, so each coordinate follows (nearly) the same known law and one scalar codebook fits
// all (TurboQuant, arXiv 2504.19874, Sec. 3; QuIP#, arXiv 2402.04396, Sec. 3 for the randomized
// Hadamard as the fast rotation). H_n (Sylvester order, H[i][j] = (-1)^popcount(i & j)) scaled by
// 1/sqrt(n) is symmetric and orthonormal, so it is its own inverse; with D = diag(signs),
// R = H D is orthonormal and R^-1 = D H.
//
// Everything a file depends on is specified in docs/codecs/hadamard.md: the sign bits come from
// tqlib::xoshiro256ss, never from <random>.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tqlib/codec/rht_block_plan.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec {

constexpr bool is_power_of_two(std::size_t n) noexcept { return n != 0 && (n & (n - 1)) == 0; }

constexpr unsigned log2_exact(std::size_t n) noexcept {
  unsigned k = 0;
  while ((std::size_t(1) << k) < n) ++k;
  return k;
}

// 1/sqrt(n) for n = 2^k, exact to the last bit of a float: 2^(-k/2), times 1/sqrt(2) when k is odd.
constexpr float inverse_sqrt_power_of_two(std::size_t n) noexcept {
  const unsigned k = log2_exact(n);
  double s = 1.0;
  for (unsigned i = 0; i < k / 2; ++i) s *= 0.5;
  if (k % 2) s *= 0.70710678118654752440;
  return float(s);
}

// Entry (i, j) of the unnormalized Sylvester-Hadamard matrix: H_1 = [1], H_2n = [[H, H], [H, -H]].
constexpr int sylvester_entry(std::size_t i, std::size_t j) noexcept {
  std::size_t v = i & j;
  int parity = 0;
  while (v) {
    parity ^= int(v & 1u);
    v >>= 1;
  }
  return parity ? -1 : 1;
}

// In place x <- H_n x / sqrt(n) (n a power of two). The butterfly order is the specification: the
// SIMD kernel performs exactly the same float additions, so results agree bit for bit.
constexpr void fwht_normalized(float* x, std::size_t n) noexcept {
  for (std::size_t h = 1; h < n; h *= 2)
    for (std::size_t i = 0; i < n; i += 2 * h)
      for (std::size_t j = i; j < i + h; ++j) {
        const float a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
  const float scale = inverse_sqrt_power_of_two(n);
  for (std::size_t i = 0; i < n; ++i) x[i] *= scale;
}

// --- random signs ------------------------------------------------------------------------------
// Block b (0-based position of the block along the row / vector) draws its signs from
// xoshiro256ss(seed ^ (b * 0x9E3779B97F4A7C15)): output k (k = 0, 1, ...) gives the signs of
// elements 64k .. 64k+63, element i being negated iff bit (i mod 64) of that output is 1.
inline constexpr std::size_t max_rht_block = 4096;  // largest block the sign words are drawn for

constexpr std::uint64_t rht_block_seed(std::uint64_t seed, std::size_t block_index) noexcept {
  return seed ^ (std::uint64_t(block_index) * 0x9E3779B97F4A7C15ull);
}

// The sign words of one block of n elements: (n + 63) / 64 words.
inline std::vector<std::uint64_t> rht_sign_words(std::uint64_t seed, std::size_t block_index, std::size_t n) {
  xoshiro256ss g(rht_block_seed(seed, block_index));
  std::vector<std::uint64_t> words((n + 63) / 64);
  for (auto& w : words) w = g.next();
  return words;
}

constexpr bool rht_negates(const std::uint64_t* sign_words, std::size_t i) noexcept {
  return (sign_words[i / 64] >> (i % 64)) & 1u;
}

// x <- H D x / sqrt(n): scalar reference of the randomized transform.
constexpr void rht_forward_ref(float* x, std::size_t n, const std::uint64_t* sign_words) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if (rht_negates(sign_words, i)) x[i] = -x[i];
  fwht_normalized(x, n);
}

// x <- D H x / sqrt(n): the inverse of rht_forward.
constexpr void rht_inverse_ref(float* x, std::size_t n, const std::uint64_t* sign_words) noexcept {
  fwht_normalized(x, n);
  for (std::size_t i = 0; i < n; ++i)
    if (rht_negates(sign_words, i)) x[i] = -x[i];
}

// Vectorised transforms. n must be a power of two; sizes below the batch width fall back to the
// scalar reference.
template <class Arch>
struct hadamard_kernels {
  static void fwht_normalized(float* x, std::size_t n) noexcept;
  static void rht_forward(float* x, std::size_t n, const std::uint64_t* sign_words) noexcept;
  static void rht_inverse(float* x, std::size_t n, const std::uint64_t* sign_words) noexcept;
};

inline void rht_forward(float* x, std::size_t n, const std::uint64_t* sign_words) noexcept {
  simd::dispatch<hadamard_kernels>([&](auto k) { decltype(k)::rht_forward(x, n, sign_words); });
}

inline void rht_inverse(float* x, std::size_t n, const std::uint64_t* sign_words) noexcept {
  simd::dispatch<hadamard_kernels>([&](auto k) { decltype(k)::rht_inverse(x, n, sign_words); });
}

// Length of a row once its last block is zero-padded. Only the last block can be padded, so
// block i starts at plan[i].offset in both the row and its padded, rotated copy.
inline std::size_t rotated_row_size(const std::vector<rht_block>& plan) noexcept {
  std::size_t n = 0;
  for (const auto& b : plan) n += b.size;
  return n;
}

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/hadamard.hpp"
#endif
