#pragma once
// TQ2_0 on WebAssembly SIMD128: 2-bit codes t + 1 out of 16-bit lanes.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/tq2_0.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_wasm_layout<tq2_0_layout> {
  static constexpr int offset = 1;
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t, std::size_t b, wasm_block_w& w) noexcept {
    // Sub-block s = b % 8 of a 256-block: 32 bytes qs[32 (s / 4)...], bit pair s % 4.
    const std::byte* qs = row + (b / 8) * tq2_0_traits::block_bytes + 32 * ((b % 8) / 4);
    const int shift = int(2 * (b % 4));
    const v128_t three = wasm_i16x8_splat(3);
    const v128_t v0 = wasm_v128_load(qs), v1 = wasm_v128_load(qs + 16);
    w = {{wasm_v128_and(wasm_u16x8_shr(v0, shift), three), wasm_v128_and(wasm_u16x8_shr(v0, shift + 8), three)},
         {wasm_v128_and(wasm_u16x8_shr(v1, shift), three), wasm_v128_and(wasm_u16x8_shr(v1, shift + 8), three)}};
    return true;
  }
  TQLIB_KERNEL_INLINE static bool decode_bytes(const std::byte* row, std::size_t, std::size_t b, wasm_block_b& w) noexcept {
    const std::byte* qs = row + (b / 8) * tq2_0_traits::block_bytes + 32 * ((b % 8) / 4);
    const int shift = int(2 * (b % 4));
    w = {wasm_byte_bits(wasm_v128_load(qs), shift, 3), wasm_byte_bits(wasm_v128_load(qs + 16), shift, 3)};
    return true;
  }
};

}  // namespace tqlib::codec::detail
