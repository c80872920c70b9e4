#pragma once
// int8_engine on WebAssembly SIMD128 (included by codec/kernels/int8_engine.hpp when the
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
// With relaxed SIMD (TQLIB_ISA_WASM_RELAXED) the unsigned codes skip the widening: packed back
// into bytes (or decoded as bytes, int8_wasm_layout::decode_bytes), they go through
// i32x4.relaxed_dot_i8x16_i7x16_add with the activations as they are stored, the offset's bias
// as its accumulator input. The codes are the second operand and lie in 0..127 (offset <= 64), the
// range in which that instruction is deterministic (Relaxed SIMD proposal, "Relaxed integer dot
// product"): every engine, x86 or Arm, computes the exact sum. Signed weights (q8) keep the int16
// path: |w| and a sign transfer to the activations would need w != -128 for that guarantee.
//
// Semantics equal the layouts' scalar decode() bit for bit (tests hold block_dots to the scalar
// integer reference); blocks without a fast decoder (stream tails, other layouts) fall back to
// decode() into a buffer and are then dotted the same way.
//
// A layout's fast paths (int8_wasm_layout<Layout>, codec/kernels/<codec>/wasm.hpp):
//   static constexpr int offset;                           // codes are w + offset (0: signed)
//   static bool decode(row, cols, b, wasm_block_w& out);   // block b's codes, or false for a
//                                                          // block it has no register decoder for
//   static bool decode_bytes(row, cols, b, wasm_block_b& out);  // optional: the same as bytes
//                                                          // (relaxed SIMD engine)
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tqlib/codec/detail/trit_pack.hpp"
#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::detail {

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

// One 32-block's weights (codes) as int16: lo = weights 0..15, hi = 16..31.
struct wasm_block_w {
  wasm_w16 lo, hi;
};

// One 32-block's codes as bytes (relaxed SIMD engine): lo = weights 0..15, hi = 16..31.
struct wasm_block_b {
  v128_t lo, hi;
};

// Bits [shift, shift + width) of each of 16 bytes, for shift + width <= 8 (mask = 2^width - 1): a
// 16-bit shift moves no bit of one byte into the kept bits of the other.
TQLIB_KERNEL_INLINE v128_t wasm_byte_bits(v128_t v, int shift, std::uint8_t mask) noexcept {
  return wasm_v128_and(wasm_u16x8_shr(v, shift), wasm_i8x16_splat(std::int8_t(mask)));
}

// Digits (trit + 1) of block b of a trit stream (trit_pack.hpp), for whole 32-byte packs.
TQLIB_KERNEL_INLINE wasm_block_w wasm_trit_pack_digits(const std::byte* stream, std::size_t b) noexcept {
  const std::byte* pack = stream + 32 * (b / 5);
  const v128_t m = wasm_i16x8_splat(std::int16_t(pow3[b % 5]));
  return {wasm_trit_digits(wasm_v128_load(pack), m, m), wasm_trit_digits(wasm_v128_load(pack + 16), m, m)};
}

template <class Arch, class Layout>
struct int8_engine_wasm {
  using fast = int8_wasm_layout<Layout>;
  static constexpr bool has_chunks = false;
  static constexpr bool two_token_steps = true;
  static constexpr bool adds_offsets = false;  // int8_dot_engine adds them
  using chunk_x = int;

  // Decoded codes are w + offset (unsigned codes); 0 for signed weights.
  static constexpr int offset = [] {
    if constexpr (requires { fast::offset; }) return fast::offset;
    else return 0;
  }();

  // Unsigned codes in 0..127 take the relaxed int8 dot where the build has it.
  static constexpr bool relaxed = TQLIB_ISA_WASM_RELAXED && offset > 0 && offset <= 64;

  // Block weights as the dot steps take them: bytes (relaxed) or even/odd int16.
  using block_w = std::conditional_t<relaxed, wasm_block_b, wasm_block_w>;

  // Activations of block b: the stored bytes (relaxed), else widened like the weights.
  struct widened_x {
    wasm_w16 lo, hi;
  };
  using block_x = std::conditional_t<relaxed, wasm_block_b, widened_x>;
  TQLIB_KERNEL_INLINE static block_x load_x(const act_view& a, std::size_t b) noexcept {
    const v128_t lo = wasm_v128_load(a.q + 32 * b), hi = wasm_v128_load(a.q + 32 * b + 16);
    if constexpr (relaxed) return {lo, hi};
    else return {wasm_split_i8(lo), wasm_split_i8(hi)};
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

  // Any layout, any block: decode() to a buffer, back to codes (bytes), then widened unless relaxed.
  TQLIB_KERNEL_INLINE static block_w decode_buffered(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    alignas(16) std::int8_t w[32];
    Layout::decode(row, cols, b, w);
    v128_t lo = wasm_v128_load(w), hi = wasm_v128_load(w + 16);
    if constexpr (offset != 0) {
      // w >= -offset and offset <= 64: the codes fit int8.
      lo = wasm_i8x16_add(lo, wasm_i8x16_splat(std::int8_t(offset)));
      hi = wasm_i8x16_add(hi, wasm_i8x16_splat(std::int8_t(offset)));
    }
    if constexpr (relaxed) return {lo, hi};
    else return {wasm_split_i8(lo), wasm_split_i8(hi)};
  }

  // Even/odd int16 codes (0..127) back into bytes in weight order.
  TQLIB_KERNEL_INLINE static v128_t pack_codes(const wasm_w16& w) noexcept {
    return wasm_v128_or(w.e, wasm_i16x8_shl(w.o, 8));
  }

  // Block b's codes: the layout's register decoder where it has one for this block, else decode_buffered.
  TQLIB_KERNEL_INLINE static block_w decode(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    if constexpr (relaxed && requires(wasm_block_b& w) { fast::decode_bytes(row, cols, b, w); }) {
      wasm_block_b w;
      if (fast::decode_bytes(row, cols, b, w)) return w;
    } else if constexpr (requires(wasm_block_w& w) { fast::decode(row, cols, b, w); }) {
      wasm_block_w w;
      if (fast::decode(row, cols, b, w)) {
        if constexpr (relaxed) return {pack_codes(w.lo), pack_codes(w.hi)};
        else return w;
      }
    }
    return decode_buffered(row, cols, b);
  }

  // Four int32 lanes of 16 weights: lane k is the exact sum of weights 4k..4k+3 times their activations.
  TQLIB_KERNEL_INLINE static v128_t dot16(const wasm_w16& w, const wasm_w16& x) noexcept {
    return wasm_i32x4_add(wasm_i32x4_dot_i16x8(w.e, x.e), wasm_i32x4_dot_i16x8(w.o, x.o));
  }

  // acc + the lane sums of 16 codes times 16 activations (lane k: weights 4k..4k+3).
  TQLIB_KERNEL_INLINE static v128_t dot16_add(v128_t w, v128_t x, v128_t acc) noexcept {
#if TQLIB_ISA_WASM_RELAXED
    return wasm_i32x4_relaxed_dot_i8x16_i7x16_add(x, w, acc);
#else
    (void)w, (void)x;
    return acc;  // not reached: relaxed is false without relaxed SIMD
#endif
  }

  // The exact int32 lane sums of a block's two halves, each plus its bias lanes.
  TQLIB_KERNEL_INLINE static void dot_halves(const block_w& w, const block_x& x, v128_t bias_lo, v128_t bias_hi, v128_t& lo,
                                             v128_t& hi) noexcept {
    if constexpr (relaxed) {
      lo = dot16_add(w.lo, x.lo, bias_lo);
      hi = dot16_add(w.hi, x.hi, bias_hi);
    } else {
      lo = wasm_i32x4_add(bias_lo, dot16(w.lo, x.lo));
      hi = wasm_i32x4_add(bias_hi, dot16(w.hi, x.hi));
    }
  }

  // The block's exact int32 lane sums plus bias (the two halves' bias lanes added).
  TQLIB_KERNEL_INLINE static v128_t dot_block(const block_w& w, const block_x& x, v128_t bias) noexcept {
    if constexpr (relaxed) return dot16_add(w.hi, x.hi, dot16_add(w.lo, x.lo, bias));
    else return wasm_i32x4_add(bias, wasm_i32x4_add(dot16(w.lo, x.lo), dot16(w.hi, x.hi)));
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
  TQLIB_KERNEL_INLINE static void dot_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, float* out,
                                           const std::byte* = nullptr, std::size_t = 0, const chunk_x* = nullptr) noexcept {
    float one[1][R];
    dot_rows_tokens<R, 1>(rows, cols, &a, one);
    for (std::size_t r = 0; r < R; ++r) out[r] = one[0][r];
  }

  template <std::size_t R>
  static void dot_rows_two_tokens(const std::byte* const* rows, std::size_t cols, const act_view* a, float (*out)[R]) noexcept {
    dot_rows_tokens<R, 2>(rows, cols, a, out);
  }

  // Exact int32 dot of each 32-block of one row with the activation codes.
  static void block_dots(const std::byte* row, std::size_t cols, const act_view& a, std::int32_t* out) noexcept {
    for (std::size_t b = 0; b < a.blocks; ++b) out[b] = block_dot(row, cols, a, b);
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
            v128_t lo, hi;
            dot_halves(w, x[t], bias_lo[t], bias_hi[t], lo, hi);
            const v128_t f = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(lo), wasm_f32x4_splat(slo * dx[t])),
                                            wasm_f32x4_mul(wasm_f32x4_convert_i32x4(hi), wasm_f32x4_splat(shi * dx[t])));
            acc[t][r] = wasm_f32x4_add(acc[t][r], f);
          } else {
            // One scale per block: the two halves' lanes add up before the bias (summed once per block).
            const v128_t s = dot_block(w, x[t], bias[t]);
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
    return hsum_i32(dot_block(w, x, wasm_i32x4_add(bias_lo, bias_hi)));
  }
};

}  // namespace tqlib::codec::detail
