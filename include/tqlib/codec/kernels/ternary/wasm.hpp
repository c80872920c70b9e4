#pragma once
// bitnet and ternary on WebAssembly SIMD128: base-3 digits t + 1 out of 16-bit lanes.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/detail/trit_pack.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/ternary.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_wasm_layout<bitnet_layout> {
  static constexpr int offset = 1;
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t cols, std::size_t b, wasm_block_w& w) noexcept {
    // Weight 4j + k is digit k of byte j (v < 81). Each int16 lane holds its byte times
    // 810 * 3^(3 - k) mod 2^16: 810 v is v / 81 in 0.16 fixed point (81 * 810 > 2^16, and the
    // excess, under 1/1000 of a digit step, never crosses one), so the lane's digit is
    // floor(3 y / 2^16) = [y > 21845] + [y > 43690]. Even lanes take digits 0 | 2, odd 1 | 3.
    if (8 * b + 8 > bitnet_layout::packed_bytes(cols)) return false;
    const v128_t v = wasm_v128_load64_zero(row + 2 * bitnet_layout::groups(cols) + 8 * b);
    const v128_t lo = wasm_i8x16_swizzle(v, wasm_i8x16_make(0, 16, 0, 16, 1, 16, 1, 16, 2, 16, 2, 16, 3, 16, 3, 16));
    const v128_t hi = wasm_i8x16_swizzle(v, wasm_i8x16_make(4, 16, 4, 16, 5, 16, 5, 16, 6, 16, 6, 16, 7, 16, 7, 16));
    const v128_t m_even = wasm_i16x8_make(21870, 2430, 21870, 2430, 21870, 2430, 21870, 2430);
    const v128_t m_odd = wasm_i16x8_make(7290, 810, 7290, 810, 7290, 810, 7290, 810);
    const auto digit = [](v128_t bytes, v128_t m) {
      const v128_t y = wasm_i16x8_mul(bytes, m);
      return wasm_i16x8_sub(wasm_i16x8_sub(wasm_i16x8_splat(0), wasm_u16x8_gt(y, wasm_i16x8_splat(21845))),
                            wasm_u16x8_gt(y, wasm_i16x8_splat(std::int16_t(std::uint16_t(43690)))));
    };
    w = {{digit(lo, m_even), digit(lo, m_odd)}, {digit(hi, m_even), digit(hi, m_odd)}};
    return true;
  }
};

template <>
struct int8_wasm_layout<ternary_layout> {
  static constexpr int offset = 1;
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t cols, std::size_t b, wasm_block_w& w) noexcept {
    const std::size_t blocks = ternary_layout::blocks(cols);
    if (b < 5 * (blocks / 5)) {
      w = wasm_trit_pack_digits(row + 2 * ternary_layout::groups(cols), b);
      return true;
    }
    return false;
  }
};

}  // namespace tqlib::codec::detail
