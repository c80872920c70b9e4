#pragma once
// WebAssembly SIMD128 path of int8_dot_engine (included from int8_dot_engine.hpp when the
// translation unit is compiled with -msimd128, i.e. __wasm_simd128__ is defined).
//
// WebAssembly has no byte multiply, so the exact int8 x int8 dot goes through int16 lanes:
// i32x4.dot_i16x8_s multiplies eight int16 pairs and adds neighbours into four int32 lanes (one
// instruction, pmaddwd, on x86 hosts). Weights and activations are widened "even/odd": the 16
// bytes of a register read as eight int16 lanes hold bytes 2i (low half) and 2i + 1 (high half),
// so one shift pair gives the even-indexed values and one shift the odd ones. Decoders produce
// their weights straight in that form from the packed bytes (nibbles, 2-bit codes and base-3
// digits all come out of 16-bit lanes with shifts, masks and one int16 multiply), and the
// activations are widened the same way once per block for all rows of a group. Lane k of
// dot(even) + dot(odd) is then the exact sum of weights 4k..4k+3 times their activations, the
// same grouping as bias4 (int8_activations.hpp).
//
// Unsigned codes (q4_0 nibbles, trit digits, tq2_0 codes) are dotted as they are; the offset
// (w = code - offset) comes back once per block through bias4, exact in int32, as the x86 paths do.
//
// Semantics equal the layouts' scalar decode() bit for bit (tests hold block_dots to the scalar
// integer reference); blocks without a fast decoder (stream tails, other layouts) fall back to
// decode() into a buffer and are then dotted the same way.
#include <wasm_simd128.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tqlib/codec/detail/trit_pack.hpp"
#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec {
// The layouts with a register decoder here (defined in their codec headers; only their static
// members are used, at instantiation).
struct q8_layout;
struct q4_0_layout;
struct bitnet_layout;
struct ternary_layout;
struct tq1_0_layout;
struct tq2_0_layout;
template <int Depth>
struct trit_layout;
}  // namespace tqlib::codec

namespace tqlib::codec::detail {

template <class Layout>
struct wasm_trit_depth : std::integral_constant<int, 0> {};
template <int Depth>
struct wasm_trit_depth<trit_layout<Depth>> : std::integral_constant<int, Depth> {};

// Sixteen weights as int16: the even-indexed ones (e) and the odd-indexed ones (o).
struct wasm_w16 {
  v128_t e, o;
};

// Signed bytes -> even/odd int16.
TQLIB_KERNEL_INLINE wasm_w16 wasm_split_i8(v128_t v) noexcept {
  return {wasm_i16x8_shr(wasm_i16x8_shl(v, 8), 8), wasm_i16x8_shr(v, 8)};
}

// Base-3 digit ((uint8)(byte * 3^n) * 3) >> 8 (trit_pack.hpp) of each of 16 bytes, as even/odd
// int16. me / mo: the multipliers 3^n of the even / odd bytes, one per int16 lane. The low byte
// of an int16 product depends only on the low bytes of its factors, so the even bytes need no
// masking before the multiply.
TQLIB_KERNEL_INLINE wasm_w16 wasm_trit_digits(v128_t v, v128_t me, v128_t mo) noexcept {
  const v128_t low = wasm_i16x8_splat(0xff), three = wasm_i16x8_splat(3);
  const v128_t pe = wasm_v128_and(wasm_i16x8_mul(v, me), low);
  const v128_t po = wasm_v128_and(wasm_i16x8_mul(wasm_u16x8_shr(v, 8), mo), low);
  return {wasm_u16x8_shr(wasm_i16x8_mul(pe, three), 8), wasm_u16x8_shr(wasm_i16x8_mul(po, three), 8)};
}

template <class Layout>
struct int8_wasm_dot {
  static constexpr int trit_depth = wasm_trit_depth<Layout>::value;
  static constexpr bool is_q8 = std::is_same_v<Layout, q8_layout>;
  static constexpr bool is_q4_0 = std::is_same_v<Layout, q4_0_layout>;
  static constexpr bool is_bitnet = std::is_same_v<Layout, bitnet_layout>;
  static constexpr bool is_ternary = std::is_same_v<Layout, ternary_layout>;
  static constexpr bool is_tq1_0 = std::is_same_v<Layout, tq1_0_layout>;
  static constexpr bool is_tq2_0 = std::is_same_v<Layout, tq2_0_layout>;

  // Decoded codes are w + offset (unsigned codes); 0 for signed weights.
  static constexpr int offset = [] {
    if constexpr (is_q4_0) return 8;
    else if constexpr (is_bitnet || is_ternary || is_tq1_0 || is_tq2_0) return 1;
    else if constexpr (trit_depth > 0) {
      int p = 1;
      for (int k = 0; k < trit_depth; ++k) p *= 3;
      return (p - 1) / 2;  // sum of 3^k over the digits
    } else {
      return 0;
    }
  }();

  // One 32-block's weights (codes) as int16: lo = weights 0..15, hi = 16..31.
  struct block_w {
    wasm_w16 lo, hi;
  };

  // Activations of block b, widened like the weights.
  struct block_x {
    wasm_w16 lo, hi;
  };
  TQLIB_KERNEL_INLINE static block_x load_x(const act_view& a, std::size_t b) noexcept {
    return {wasm_split_i8(wasm_v128_load(a.q + 32 * b)), wasm_split_i8(wasm_v128_load(a.q + 32 * b + 16))};
  }

  // -offset * (sum of each 4 activations) for weights 0..15 (lo) and 16..31 (hi).
  TQLIB_KERNEL_INLINE static void load_bias(const act_view& a, std::size_t b, v128_t& lo, v128_t& hi) noexcept {
    if constexpr (offset == 0) {
      lo = hi = wasm_i32x4_splat(0);
    } else {
      // bias4 = -128 * sum: exact division by 128, then times the offset.
      const v128_t s_lo = wasm_i32x4_shr(wasm_v128_load(a.bias4 + 8 * b), 7);
      const v128_t s_hi = wasm_i32x4_shr(wasm_v128_load(a.bias4 + 8 * b + 4), 7);
      if constexpr ((offset & (offset - 1)) == 0) {
        constexpr int k = [] {
          int n = 0;
          for (int o = offset; o > 1; o /= 2) ++n;
          return n;
        }();
        lo = wasm_i32x4_shl(s_lo, k);
        hi = wasm_i32x4_shl(s_hi, k);
      } else {
        lo = wasm_i32x4_mul(s_lo, wasm_i32x4_splat(offset));
        hi = wasm_i32x4_mul(s_hi, wasm_i32x4_splat(offset));
      }
    }
  }

  // Any layout, any block: decode() to a buffer, back to codes, then widened.
  TQLIB_KERNEL_INLINE static block_w decode_buffered(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    alignas(16) std::int8_t w[32];
    Layout::decode(row, cols, b, w);
    v128_t lo = wasm_v128_load(w), hi = wasm_v128_load(w + 16);
    if constexpr (offset != 0) {
      // w >= -offset and offset <= 40 (trit depth <= 4): the codes fit int8.
      lo = wasm_i8x16_add(lo, wasm_i8x16_splat(std::int8_t(offset)));
      hi = wasm_i8x16_add(hi, wasm_i8x16_splat(std::int8_t(offset)));
    }
    return {wasm_split_i8(lo), wasm_split_i8(hi)};
  }

  // Digits (trit + 1) of block b of a trit stream (trit_pack.hpp), for whole 32-byte packs.
  TQLIB_KERNEL_INLINE static block_w trit_pack_digits(const std::byte* stream, std::size_t b) noexcept {
    const std::byte* pack = stream + 32 * (b / 5);
    const v128_t m = wasm_i16x8_splat(std::int16_t(pow3[b % 5]));
    return {wasm_trit_digits(wasm_v128_load(pack), m, m), wasm_trit_digits(wasm_v128_load(pack + 16), m, m)};
  }

  TQLIB_KERNEL_INLINE static block_w decode(const std::byte* row, [[maybe_unused]] std::size_t cols, std::size_t b) noexcept {
    if constexpr (is_q8) {
      const std::byte* qs = row + b * Layout::row_bytes(32) + 2;  // row_bytes(32): one block
      return {wasm_split_i8(wasm_v128_load(qs)), wasm_split_i8(wasm_v128_load(qs + 16))};
    } else if constexpr (is_q4_0) {
      // Low nibbles are weights 0..15, high nibbles 16..31 (codes w + 8).
      const v128_t v = wasm_v128_load(row + b * Layout::row_bytes(32) + 2);
      const v128_t nib = wasm_i16x8_splat(0x0f);
      return {{wasm_v128_and(v, nib), wasm_v128_and(wasm_u16x8_shr(v, 8), nib)},
              {wasm_v128_and(wasm_u16x8_shr(v, 4), nib), wasm_u16x8_shr(v, 12)}};
    } else if constexpr (is_tq2_0) {
      // Sub-block s = b % 8 of a 256-block: 32 bytes qs[32 (s / 4)...], bit pair s % 4 (codes t + 1).
      const std::byte* qs = row + (b / 8) * Layout::row_bytes(256) + 32 * ((b % 8) / 4);
      const int shift = int(2 * (b % 4));
      const v128_t three = wasm_i16x8_splat(3);
      const v128_t v0 = wasm_v128_load(qs), v1 = wasm_v128_load(qs + 16);
      return {{wasm_v128_and(wasm_u16x8_shr(v0, shift), three), wasm_v128_and(wasm_u16x8_shr(v0, shift + 8), three)},
              {wasm_v128_and(wasm_u16x8_shr(v1, shift), three), wasm_v128_and(wasm_u16x8_shr(v1, shift + 8), three)}};
    } else if constexpr (is_bitnet) {
      // Weight 4j + k is digit k of byte j (v < 81). Each int16 lane holds its byte times
      // 810 * 3^(3 - k) mod 2^16: 810 v is v / 81 in 0.16 fixed point (81 * 810 > 2^16, and the
      // excess, under 1/1000 of a digit step, never crosses one), so the lane's digit is
      // floor(3 y / 2^16) = [y > 21845] + [y > 43690]. Even lanes take digits 0 | 2, odd 1 | 3.
      if (8 * b + 8 > Layout::packed_bytes(cols)) return decode_buffered(row, cols, b);
      const v128_t v = wasm_v128_load64_zero(row + 2 * Layout::groups(cols) + 8 * b);
      const v128_t lo = wasm_i8x16_swizzle(v, wasm_i8x16_make(0, 16, 0, 16, 1, 16, 1, 16, 2, 16, 2, 16, 3, 16, 3, 16));
      const v128_t hi = wasm_i8x16_swizzle(v, wasm_i8x16_make(4, 16, 4, 16, 5, 16, 5, 16, 6, 16, 6, 16, 7, 16, 7, 16));
      const v128_t m_even = wasm_i16x8_make(21870, 2430, 21870, 2430, 21870, 2430, 21870, 2430);
      const v128_t m_odd = wasm_i16x8_make(7290, 810, 7290, 810, 7290, 810, 7290, 810);
      const auto digit = [](v128_t bytes, v128_t m) {
        const v128_t y = wasm_i16x8_mul(bytes, m);
        return wasm_i16x8_sub(wasm_i16x8_sub(wasm_i16x8_splat(0), wasm_u16x8_gt(y, wasm_i16x8_splat(21845))),
                              wasm_u16x8_gt(y, wasm_i16x8_splat(std::int16_t(std::uint16_t(43690)))));
      };
      return {{digit(lo, m_even), digit(lo, m_odd)}, {digit(hi, m_even), digit(hi, m_odd)}};
    } else if constexpr (is_ternary) {
      const std::size_t blocks = Layout::blocks(cols);
      if (b < 5 * (blocks / 5)) return trit_pack_digits(row + 2 * Layout::groups(cols), b);
      return decode_buffered(row, cols, b);
    } else if constexpr (is_tq1_0) {
      // Placement as in tq1_0.hpp (tq1_0_where): sub-blocks 0-4 are digit s of qs[0..31]; 5 and
      // 6 take two digits of qs[32..47]; 7 takes digit 4 of qs[32..47] and the 4 digits of qh.
      const std::byte* blk = row + (b / 8) * Layout::row_bytes(256);
      const std::size_t s = b % 8;
      if (s < 5) return trit_pack_digits(blk, s);
      const v128_t q16 = wasm_v128_load(blk + 32);
      if (s < 7) {
        const std::size_t n = 2 * (s - 5);
        const v128_t m0 = wasm_i16x8_splat(std::int16_t(pow3[n])), m1 = wasm_i16x8_splat(std::int16_t(pow3[n + 1]));
        return {wasm_trit_digits(q16, m0, m0), wasm_trit_digits(q16, m1, m1)};
      }
      std::uint32_t qh;
      std::memcpy(&qh, blk + 48, 4);
      // Element 16 + m is digit m / 4 of qh[m % 4]: int16 lane i holds elements 2i, 2i + 1.
      const v128_t mh = wasm_i16x8_make(1, 1, 3, 3, 9, 9, 27, 27);
      const v128_t m81 = wasm_i16x8_splat(81);
      return {wasm_trit_digits(q16, m81, m81), wasm_trit_digits(wasm_i32x4_splat(std::int32_t(qh)), mh, mh)};
    } else if constexpr (trit_depth > 0) {
      // Digits k = 0..depth-1 of block b are stream blocks depth * b + k; codes sum 3^k digit_k.
      const std::byte* stream = row + Layout::stream_offset(cols);
      const std::size_t n = trit_depth * Layout::blocks(cols);
      if (trit_depth * b + trit_depth - 1 >= 5 * (n / 5)) return decode_buffered(row, cols, b);
      block_w q = trit_pack_digits(stream, trit_depth * b + trit_depth - 1);
      for (int k = trit_depth - 2; k >= 0; --k) {
        const block_w t = trit_pack_digits(stream, trit_depth * b + std::size_t(k));
        const v128_t three = wasm_i16x8_splat(3);
        q.lo.e = wasm_i16x8_add(wasm_i16x8_mul(q.lo.e, three), t.lo.e);
        q.lo.o = wasm_i16x8_add(wasm_i16x8_mul(q.lo.o, three), t.lo.o);
        q.hi.e = wasm_i16x8_add(wasm_i16x8_mul(q.hi.e, three), t.hi.e);
        q.hi.o = wasm_i16x8_add(wasm_i16x8_mul(q.hi.o, three), t.hi.o);
      }
      return q;
    } else {
      return decode_buffered(row, cols, b);
    }
  }

  // Four int32 lanes of 16 weights: lane k is the exact sum of weights 4k..4k+3 times their activations.
  TQLIB_KERNEL_INLINE static v128_t dot16(const wasm_w16& w, const wasm_w16& x) noexcept {
    return wasm_i32x4_add(wasm_i32x4_dot_i16x8(w.e, x.e), wasm_i32x4_dot_i16x8(w.o, x.o));
  }

  TQLIB_KERNEL_INLINE static float hsum(v128_t v) noexcept {
    v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_f32x4_extract_lane(v, 0);
  }

  TQLIB_KERNEL_INLINE static std::int32_t hsum_i32(v128_t v) noexcept {
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_i32x4_extract_lane(v, 0);
  }

  template <std::size_t R>
  TQLIB_KERNEL_INLINE static void dot_rows(const std::byte* const* rows, std::size_t cols, const act_view& a,
                                           float* out) noexcept {
    float one[1][R];
    dot_rows_tokens<R, 1>(rows, cols, &a, one);
    for (std::size_t r = 0; r < R; ++r) out[r] = one[0][r];
  }

  // out[t][r] = dot(row r, token t) for TT tokens: each block of a row is decoded once for all of
  // them (matmul's prefill), and each (row, token) takes the same steps as with one token.
  template <std::size_t R, std::size_t TT>
  TQLIB_KERNEL_INLINE static void dot_rows_tokens(const std::byte* const* rows, std::size_t cols, const act_view* a,
                                                  float (*out)[R]) noexcept {
    v128_t acc[TT][R];
#pragma clang loop unroll(full)
    for (std::size_t t = 0; t < TT; ++t)
#pragma clang loop unroll(full)
      for (std::size_t r = 0; r < R; ++r) acc[t][r] = wasm_f32x4_splat(0.f);
    for (std::size_t b = 0; b < a[0].blocks; ++b) {
      block_x x[TT];
      v128_t bias_lo[TT], bias_hi[TT], bias[TT];
      float dx[TT];
#pragma clang loop unroll(full)
      for (std::size_t t = 0; t < TT; ++t) {
        x[t] = load_x(a[t], b);
        load_bias(a[t], b, bias_lo[t], bias_hi[t]);
        bias[t] = wasm_i32x4_add(bias_lo[t], bias_hi[t]);
        dx[t] = a[t].d[b];
      }
#pragma clang loop unroll(full)
      for (std::size_t r = 0; r < R; ++r) {
        const block_w w = decode(rows[r], cols, b);
        float slo, shi;
        Layout::scales(rows[r], cols, b, slo, shi);
#pragma clang loop unroll(full)
        for (std::size_t t = 0; t < TT; ++t) {
          if constexpr (Layout::split_scales) {
            const v128_t lo = wasm_i32x4_add(bias_lo[t], dot16(w.lo, x[t].lo)), hi = wasm_i32x4_add(bias_hi[t], dot16(w.hi, x[t].hi));
            const v128_t f = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(lo), wasm_f32x4_splat(slo * dx[t])),
                                            wasm_f32x4_mul(wasm_f32x4_convert_i32x4(hi), wasm_f32x4_splat(shi * dx[t])));
            acc[t][r] = wasm_f32x4_add(acc[t][r], f);
          } else {
            // One scale per block: the two halves' lanes add up before the bias (summed once per block).
            const v128_t s = wasm_i32x4_add(bias[t], wasm_i32x4_add(dot16(w.lo, x[t].lo), dot16(w.hi, x[t].hi)));
            acc[t][r] = wasm_f32x4_add(acc[t][r], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(s), wasm_f32x4_splat(slo * dx[t])));
          }
        }
      }
    }
#pragma clang loop unroll(full)
    for (std::size_t t = 0; t < TT; ++t)
#pragma clang loop unroll(full)
      for (std::size_t r = 0; r < R; ++r) out[t][r] = hsum(acc[t][r]);
  }

  // Exact int32 dot of block b of a row with the activation codes.
  TQLIB_KERNEL_INLINE static std::int32_t block_dot(const std::byte* row, std::size_t cols, const act_view& a,
                                                    std::size_t b) noexcept {
    v128_t bias_lo, bias_hi;
    load_bias(a, b, bias_lo, bias_hi);
    const block_w w = decode(row, cols, b);
    const block_x x = load_x(a, b);
    const v128_t lo = wasm_i32x4_add(bias_lo, dot16(w.lo, x.lo)), hi = wasm_i32x4_add(bias_hi, dot16(w.hi, x.hi));
    return hsum_i32(wasm_i32x4_add(lo, hi));
  }
};

}  // namespace tqlib::codec::detail
