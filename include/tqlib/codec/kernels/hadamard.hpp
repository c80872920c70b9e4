#pragma once
#include <cstdint>

#include "tqlib/codec/hadamard.hpp"

namespace tqlib::codec {

namespace detail {
// Lane permutation i -> i ^ H: partners of one in-register butterfly stage.
template <unsigned H>
struct xor_lane {
  static constexpr std::uint32_t get(std::uint32_t i, std::uint32_t) noexcept { return i ^ H; }
};
}  // namespace detail

template <class Arch>
void hadamard_kernels<Arch>::fwht_normalized(float* x, std::size_t n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t W = batch::size;
  if (n < W) return codec::fwht_normalized(x, n);
  // Stages with h < W pair lanes inside one register: with p = lanes swapped by i ^ h,
  // new = p + v * (+1 / -1) gives a + b in the lower lane and a - b in the upper one, the same
  // float operations as the scalar butterfly (v * -1 is exact, one rounding in the add).
  auto in_register_stage = [&]<unsigned H>(std::integral_constant<unsigned, H>) {
    if constexpr (H < W) {
      alignas(64) float sign[W];
      for (std::size_t i = 0; i < W; ++i) sign[i] = (i & H) ? -1.f : 1.f;
      const batch s = batch::load_aligned(sign);
      const auto partner = xsimd::make_batch_constant<std::uint32_t, Arch, detail::xor_lane<H>>();
      for (std::size_t i = 0; i < n; i += W) {
        const batch v = batch::load_unaligned(x + i);
        xsimd::fma(v, s, xsimd::swizzle(v, partner)).store_unaligned(x + i);
      }
    }
  };
  in_register_stage(std::integral_constant<unsigned, 1>{});
  in_register_stage(std::integral_constant<unsigned, 2>{});
  in_register_stage(std::integral_constant<unsigned, 4>{});
  in_register_stage(std::integral_constant<unsigned, 8>{});
  in_register_stage(std::integral_constant<unsigned, 16>{});
  static_assert(W <= 32, "in-register stages cover up to 32 lanes");
  for (std::size_t h = W; h < n; h *= 2)
    for (std::size_t i = 0; i < n; i += 2 * h)
      for (std::size_t j = i; j < i + h; j += W) {
        const batch a = batch::load_unaligned(x + j), b = batch::load_unaligned(x + j + h);
        (a + b).store_unaligned(x + j);
        (a - b).store_unaligned(x + j + h);
      }
  const batch scale(inverse_sqrt_power_of_two(n));
  for (std::size_t i = 0; i < n; i += W) (batch::load_unaligned(x + i) * scale).store_unaligned(x + i);
}

namespace detail {
// Negates x[i] where bit i of the sign words is set (flipping the IEEE sign bit: exact).
template <class Arch>
TQLIB_KERNEL_INLINE void apply_signs(float* x, std::size_t n, const std::uint64_t* sign_words) noexcept {
  using batch = xsimd::batch<float, Arch>;
  using ubatch = xsimd::batch<std::uint32_t, Arch>;
  constexpr std::size_t W = batch::size;
  if (n < W) {
    for (std::size_t i = 0; i < n; ++i)
      if (rht_negates(sign_words, i)) x[i] = -x[i];
    return;
  }
  alignas(64) std::uint32_t lane_bit[W];
  for (std::size_t i = 0; i < W; ++i) lane_bit[i] = 1u << i;
  const ubatch bit = ubatch::load_aligned(lane_bit);
  const ubatch sign_mask(0x80000000u);
  for (std::size_t i = 0; i < n; i += W) {
    const auto bits = std::uint32_t((sign_words[i / 64] >> (i % 64)) & ((W == 32 ? 0 : (1ull << W)) - 1));
    const auto negate = (ubatch(bits) & bit) != ubatch(0u);
    const ubatch flip = xsimd::select(negate, sign_mask, ubatch(0u));
    const batch v = batch::load_unaligned(x + i);
    xsimd::bitwise_cast<float>(xsimd::bitwise_cast<std::uint32_t>(v) ^ flip).store_unaligned(x + i);
  }
}
}  // namespace detail

template <class Arch>
void hadamard_kernels<Arch>::rht_forward(float* x, std::size_t n, const std::uint64_t* sign_words) noexcept {
  detail::apply_signs<Arch>(x, n, sign_words);
  fwht_normalized(x, n);
}

template <class Arch>
void hadamard_kernels<Arch>::rht_inverse(float* x, std::size_t n, const std::uint64_t* sign_words) noexcept {
  fwht_normalized(x, n);
  detail::apply_signs<Arch>(x, n, sign_words);
}

#ifdef TQLIB_KERNEL_ARCH
template struct hadamard_kernels<TQLIB_KERNEL_ARCH>;
#endif

}  // namespace tqlib::codec
