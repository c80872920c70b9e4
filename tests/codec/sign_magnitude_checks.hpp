#pragma once
// Checks shared by the TQ4_1S and TurboQuant tests: one architecture's rotated-domain matvec of
// one row against the reference of the arithmetic it uses.
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tqlib/codec/sign_magnitude.hpp"

namespace sm_checks {

using namespace tqlib::codec;

// sum |w_i xr_i| over the row's decoded rotated weights: the scale of float rounding errors.
inline double abs_products(const std::byte* row, const sm_row_plan& plan, unsigned magnitude_bits, const float* xr) {
  double mag = 0;
  std::vector<float> w(sm_max_block);
  for (const auto& b : plan.blocks) {
    sm_decode_block_rotated(row + b.byte, b.size, magnitude_bits, b.magnitude, w.data());
    for (std::size_t i = 0; i < b.size; ++i) mag += std::fabs(double(w[i]) * xr[b.col + i]);
  }
  return mag;
}

// An integer kernel equals the integer reference up to float rounding (its block sums are exact);
// a float kernel equals the float reference so; both stay within the integer paths' error bound
// of the exact dot product.
inline void kernel_row_matches(bool integer_kernel, float y, const std::byte* row, const sm_row_plan& plan,
                               unsigned magnitude_bits, const float* xr) {
  const double exact = sm_dot_row_ref(row, plan, magnitude_bits, xr);
  const double rounding = 1e-5 * abs_products(row, plan, magnitude_bits, xr) + 1e-7;
  if (integer_kernel)
    REQUIRE(std::fabs(y - sm_dot_row_integer_ref(row, plan, magnitude_bits, xr)) <= rounding);
  else
    REQUIRE(std::fabs(y - exact) <= rounding);
  REQUIRE(std::fabs(y - exact) <= sm_integer_error_bound(row, plan, magnitude_bits, xr));
}

// One architecture's matmul over rows [1, rows) for `tokens` activations (rotated, padded_cols
// each), against its matvec token by token: the same arithmetic, so equal bit for bit where the
// matmul is the matvec's kernel family (all but AVX-512BW without VNNI, whose matmul takes the
// AVX2 form of the same integers, and the float paths, which scale before summing), and within
// kernel_row_matches everywhere. Row 0 and other tokens' entries stay untouched.
template <class K>
void matmul_matches_matvec(const char* name, const std::byte* blob, std::size_t rows, const sm_row_plan& plan,
                           unsigned magnitude_bits, const std::vector<float>& xr_tokens) {
  const std::size_t pc = plan.padded_cols, tokens = xr_tokens.size() / pc;
  std::vector<float> Y(tokens * rows, -1.f), y(rows);
  K::matmul(blob, plan.row_bytes, plan.blocks.data(), plan.blocks.size(), magnitude_bits, xr_tokens.data(), pc, tokens,
            Y.data(), rows, 1, rows);
  const bool same_kernel = K::integer_matvec() && std::string(name) != "avx512bw";
  for (std::size_t t = 0; t < tokens; ++t) {
    const float* xr = xr_tokens.data() + t * pc;
    K::matvec(blob, plan.row_bytes, plan.blocks.data(), plan.blocks.size(), magnitude_bits, xr, y.data(), 1, rows);
    REQUIRE(Y[t * rows] == -1.f);
    for (std::size_t r = 1; r < rows; ++r) {
      INFO(name << " matmul token " << t << " row " << r << " of " << rows);
      const std::byte* row = blob + r * plan.row_bytes;
      kernel_row_matches(K::integer_matvec(), Y[t * rows + r], row, plan, magnitude_bits, xr);
      if (same_kernel) REQUIRE(Y[t * rows + r] == y[r]);
    }
  }
}

}  // namespace sm_checks
