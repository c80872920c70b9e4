#pragma once
// WebAssembly SIMD128 decoder that q4_1, q5_0 and q5_1 share (codec/detail/ggml_block32.hpp):
// nibbles out of 16-bit lanes as for q4_0, the fifth bits (a uint32, bit e for element e) tested
// per lane against a mask; codes unsigned, offset the layout's centre.
#include <cstddef>
#include <cstdint>

#include "tqlib/codec/detail/ggml_block32.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"

namespace tqlib::codec::detail {

template <bool HasMin, bool FifthBit>
struct int8_wasm_layout<ggml_block32_layout<HasMin, FifthBit>> {
  using L = ggml_block32_layout<HasMin, FifthBit>;
  static constexpr int offset = L::centre;
  // 0x10 in lane i where bit 2i (even) or 2i + 1 (odd) of the 16 bits is set.
  TQLIB_KERNEL_INLINE static wasm_w16 fifth_bits(std::uint32_t bits16) noexcept {
    const v128_t v = wasm_i16x8_splat(std::int16_t(bits16));
    const v128_t even = wasm_i16x8_make(1, 4, 16, 64, 256, 1024, 4096, 16384);
    const v128_t odd = wasm_i16x8_shl(even, 1);
    const v128_t bit4 = wasm_i16x8_splat(0x10);
    return {wasm_v128_and(wasm_i16x8_ne(wasm_v128_and(v, even), wasm_i16x8_splat(0)), bit4),
            wasm_v128_and(wasm_i16x8_ne(wasm_v128_and(v, odd), wasm_i16x8_splat(0)), bit4)};
  }
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t, std::size_t b, wasm_block_w& w) noexcept {
    const std::byte* blk = row + b * L::block_bytes;
    const v128_t v = wasm_v128_load(blk + L::qs_at);
    const v128_t nib = wasm_i16x8_splat(0x0f);
    // Low nibbles are elements 0..15, high nibbles 16..31.
    w = {{wasm_v128_and(v, nib), wasm_v128_and(wasm_u16x8_shr(v, 8), nib)},
         {wasm_v128_and(wasm_u16x8_shr(v, 4), nib), wasm_u16x8_shr(v, 12)}};
    if constexpr (FifthBit) {
      const std::uint32_t qh = L::high_bits(blk);
      const wasm_w16 lo = fifth_bits(qh & 0xffffu), hi = fifth_bits(qh >> 16);
      w.lo = {wasm_v128_or(w.lo.e, lo.e), wasm_v128_or(w.lo.o, lo.o)};
      w.hi = {wasm_v128_or(w.hi.e, hi.e), wasm_v128_or(w.hi.o, hi.o)};
    }
    return true;
  }
};

}  // namespace tqlib::codec::detail
