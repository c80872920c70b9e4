#pragma once
// WebAssembly SIMD128 decoders of the K-quants (codec/detail/k_quant_layout.hpp): unsigned codes
// out of 16-bit lanes (even / odd bytes, int8_engine/wasm.hpp), offset the layout's centre.
#include <cstddef>
#include <cstdint>

#include "tqlib/codec/detail/k_quant_layout.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"

namespace tqlib::codec::detail {

// Bits [shift, shift + width) of the even and odd bytes of 16, as int16 lanes.
TQLIB_KERNEL_INLINE wasm_w16 wasm_byte_field(v128_t v, int shift, std::int16_t mask) noexcept {
  const v128_t m = wasm_i16x8_splat(mask);
  return {wasm_v128_and(wasm_u16x8_shr(v, shift), m), wasm_v128_and(wasm_u16x8_shr(v, shift + 8), m)};
}
TQLIB_KERNEL_INLINE wasm_w16 wasm_or_high(wasm_w16 low, wasm_w16 high, int up) noexcept {
  return {wasm_v128_or(low.e, wasm_i16x8_shl(high.e, up)), wasm_v128_or(low.o, wasm_i16x8_shl(high.o, up))};
}

template <bool FifthBit>
struct int8_wasm_layout<k_quant_min_layout<FifthBit>> {
  using L = k_quant_min_layout<FifthBit>;
  static constexpr int offset = L::centre;
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t, std::size_t b, wasm_block_w& w) noexcept {
    const std::byte* sb = row + (b / 8) * L::block_bytes;
    const int j = int(b % 8);
    const std::byte* qs = sb + L::qs_at + 32 * (j / 2);
    w = {wasm_byte_field(wasm_v128_load(qs), 4 * (j % 2), 0x0f), wasm_byte_field(wasm_v128_load(qs + 16), 4 * (j % 2), 0x0f)};
    if constexpr (FifthBit) {
      w.lo = wasm_or_high(w.lo, wasm_byte_field(wasm_v128_load(sb + L::qh_at), j, 1), 4);
      w.hi = wasm_or_high(w.hi, wasm_byte_field(wasm_v128_load(sb + L::qh_at + 16), j, 1), 4);
    }
    return true;
  }
  TQLIB_KERNEL_INLINE static bool decode_bytes(const std::byte* row, std::size_t, std::size_t b, wasm_block_b& w) noexcept {
    const std::byte* sb = row + (b / 8) * L::block_bytes;
    const int j = int(b % 8);
    const std::byte* qs = sb + L::qs_at + 32 * (j / 2);
    w = {wasm_byte_bits(wasm_v128_load(qs), 4 * (j % 2), 0x0f), wasm_byte_bits(wasm_v128_load(qs + 16), 4 * (j % 2), 0x0f)};
    if constexpr (FifthBit) {
      w.lo = wasm_v128_or(w.lo, wasm_i16x8_shl(wasm_byte_bits(wasm_v128_load(sb + L::qh_at), j, 1), 4));
      w.hi = wasm_v128_or(w.hi, wasm_i16x8_shl(wasm_byte_bits(wasm_v128_load(sb + L::qh_at + 16), j, 1), 4));
    }
    return true;
  }
};

template <>
struct int8_wasm_layout<q6_k_block_layout> {
  using L = q6_k_block_layout;
  static constexpr int offset = L::centre;
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t, std::size_t b, wasm_block_w& w) noexcept {
    const std::byte* sb = row + (b / 8) * L::block_bytes;
    const int n = int((b % 8) / 4), k = int(b % 4);
    const std::byte* ql = sb + L::ql_at + 64 * n + 32 * (k % 2);
    const std::byte* qh = sb + L::qh_at + 32 * n;
    w = {wasm_or_high(wasm_byte_field(wasm_v128_load(ql), 4 * (k / 2), 0x0f), wasm_byte_field(wasm_v128_load(qh), 2 * k, 3), 4),
         wasm_or_high(wasm_byte_field(wasm_v128_load(ql + 16), 4 * (k / 2), 0x0f), wasm_byte_field(wasm_v128_load(qh + 16), 2 * k, 3), 4)};
    return true;
  }
  TQLIB_KERNEL_INLINE static bool decode_bytes(const std::byte* row, std::size_t, std::size_t b, wasm_block_b& w) noexcept {
    const std::byte* sb = row + (b / 8) * L::block_bytes;
    const int n = int((b % 8) / 4), k = int(b % 4);
    const std::byte* ql = sb + L::ql_at + 64 * n + 32 * (k % 2);
    const std::byte* qh = sb + L::qh_at + 32 * n;
    const auto code = [&](int at) {
      return wasm_v128_or(wasm_byte_bits(wasm_v128_load(ql + at), 4 * (k / 2), 0x0f),
                          wasm_i16x8_shl(wasm_byte_bits(wasm_v128_load(qh + at), 2 * k, 3), 4));
    };
    w = {code(0), code(16)};
    return true;
  }
};

}  // namespace tqlib::codec::detail
