#pragma once
// Checks shared by the TQ4_1S and TurboQuant tests: one architecture's rotated-domain matvec of
// one row against the reference of the arithmetic it uses.
#include <cmath>
#include <cstddef>
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

}  // namespace sm_checks
