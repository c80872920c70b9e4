#pragma once
// q4_0 on WebAssembly SIMD128: nibbles out of 16-bit lanes (codes w + 8).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/q4_0.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_wasm_layout<q4_0_layout> {
  static constexpr int offset = 8;
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t, std::size_t b, wasm_block_w& w) noexcept {
    // Low nibbles are weights 0..15, high nibbles 16..31.
    const v128_t v = wasm_v128_load(row + b * q4_0_traits::block_bytes + 2);
    const v128_t nib = wasm_i16x8_splat(0x0f);
    w = {{wasm_v128_and(v, nib), wasm_v128_and(wasm_u16x8_shr(v, 8), nib)},
         {wasm_v128_and(wasm_u16x8_shr(v, 4), nib), wasm_u16x8_shr(v, 12)}};
    return true;
  }
  TQLIB_KERNEL_INLINE static bool decode_bytes(const std::byte* row, std::size_t, std::size_t b, wasm_block_b& w) noexcept {
    const v128_t v = wasm_v128_load(row + b * q4_0_traits::block_bytes + 2);
    w = {wasm_byte_bits(v, 0, 0x0f), wasm_byte_bits(v, 4, 0x0f)};
    return true;
  }
};

}  // namespace tqlib::codec::detail
