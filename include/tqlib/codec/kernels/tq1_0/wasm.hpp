#pragma once
// TQ1_0 on WebAssembly SIMD128: base-3 digits t + 1 out of 16-bit lanes (one int16 multiply).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/detail/trit_pack.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/tq1_0.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_wasm_layout<tq1_0_layout> {
  static constexpr int offset = 1;
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t, std::size_t b, wasm_block_w& w) noexcept {
    // Placement as in tq1_0.hpp (tq1_0_where): sub-blocks 0-4 are digit s of qs[0..31]; 5 and
    // 6 take two digits of qs[32..47]; 7 takes digit 4 of qs[32..47] and the 4 digits of qh.
    const std::byte* blk = row + (b / 8) * tq1_0_traits::block_bytes;
    const std::size_t s = b % 8;
    if (s < 5) {
      w = wasm_trit_pack_digits(blk, s);
      return true;
    }
    const v128_t q16 = wasm_v128_load(blk + 32);
    if (s < 7) {
      const std::size_t n = 2 * (s - 5);
      const v128_t m0 = wasm_i16x8_splat(std::int16_t(pow3[n])), m1 = wasm_i16x8_splat(std::int16_t(pow3[n + 1]));
      w = {wasm_trit_digits(q16, m0, m0), wasm_trit_digits(q16, m1, m1)};
      return true;
    }
    std::uint32_t qh;
    std::memcpy(&qh, blk + 48, 4);
    // Element 16 + m is digit m / 4 of qh[m % 4]: int16 lane i holds elements 2i, 2i + 1.
    const v128_t mh = wasm_i16x8_make(1, 1, 3, 3, 9, 9, 27, 27);
    const v128_t m81 = wasm_i16x8_splat(81);
    w = {wasm_trit_digits(q16, m81, m81), wasm_trit_digits(wasm_i32x4_splat(std::int32_t(qh)), mh, mh)};
    return true;
  }
};

}  // namespace tqlib::codec::detail
