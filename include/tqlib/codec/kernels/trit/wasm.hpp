#pragma once
// trit codecs on WebAssembly SIMD128: each weight's Depth base-3 digits out of 16-bit lanes,
// combined into codes w + (3^Depth - 1) / 2.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/detail/trit_pack.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/trit.hpp"

namespace tqlib::codec::detail {

template <int Depth>
struct int8_wasm_layout<trit_layout<Depth>> {
  static constexpr int offset = [] {
    int p = 1;
    for (int k = 0; k < Depth; ++k) p *= 3;
    return (p - 1) / 2;  // sum of 3^k over the digits
  }();
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t cols, std::size_t b, wasm_block_w& w) noexcept {
    // Digits k = 0..depth-1 of block b are stream blocks depth * b + k; codes sum 3^k digit_k.
    const std::byte* stream = row + trit_layout<Depth>::stream_offset(cols);
    const std::size_t n = Depth * trit_layout<Depth>::blocks(cols);
    if (Depth * b + Depth - 1 >= 5 * (n / 5)) return false;
    wasm_block_w q = wasm_trit_pack_digits(stream, Depth * b + Depth - 1);
    for (int k = Depth - 2; k >= 0; --k) {
      const wasm_block_w t = wasm_trit_pack_digits(stream, Depth * b + std::size_t(k));
      const v128_t three = wasm_i16x8_splat(3);
      q.lo.e = wasm_i16x8_add(wasm_i16x8_mul(q.lo.e, three), t.lo.e);
      q.lo.o = wasm_i16x8_add(wasm_i16x8_mul(q.lo.o, three), t.lo.o);
      q.hi.e = wasm_i16x8_add(wasm_i16x8_mul(q.hi.e, three), t.hi.e);
      q.hi.o = wasm_i16x8_add(wasm_i16x8_mul(q.hi.o, three), t.hi.o);
    }
    w = q;
    return true;
  }
};

}  // namespace tqlib::codec::detail
