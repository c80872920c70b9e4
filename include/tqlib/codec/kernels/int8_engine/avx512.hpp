#pragma once
// int8_engine on AVX-512 (BW, with VNNI and VBMI where the target has them): two 32-blocks per
// 512-bit register (64 weights per vpdpbusd / vpmaddubsw), one int32 -> float conversion and one
// FMA per two blocks; the two blocks' scales are combined into a 4-float vector and spread over
// the lanes with one vpermps. Shares the AVX2 engine's chunk steps and single blocks
// (int8_engine/avx2.hpp). Included by codec/kernels/int8_engine.hpp only in translation units
// built for AVX-512.
//
// A layout's fast paths (int8_avx512_layout<Layout>, codec/kernels/<codec>/avx512.hpp; it
// derives from the layout's int8_avx2_layout, and its chunk members, 512-bit here, hide those)
// may add:
//   static __m512i decode2_u8(row, cols, b);        // blocks b, b + 1 (b even), unsigned
//   static C pair_context(cols, b);                 // what decode2_u8(row, cols, b, C) needs,
//                                                   // computed once per pair for all rows
//   static std::uint32_t scale_bits2(row, cols, b); // f16 bits of the scales of blocks b | b + 1 << 16
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/codec/kernels/int8_engine/avx2.hpp"
#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::detail {

TQLIB_KERNEL_INLINE __m512i dot_u8_i8(__m512i acc, __m512i u, __m512i x) noexcept {
#if TQLIB_ISA_VNNI
  return _mm512_dpbusd_epi32(acc, u, x);
#else
  return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, x), _mm512_set1_epi16(1)));
#endif
}

// scale_bits2 of layouts whose blocks of BlockBytes bytes start with their f16 scale (q8, q4_0).
template <std::size_t BlockBytes>
TQLIB_KERNEL_INLINE std::uint32_t leading_scale_bits2(const std::byte* row, std::size_t b) noexcept {
  std::uint16_t s0, s1;
  std::memcpy(&s0, row + b * BlockBytes, 2);
  std::memcpy(&s1, row + (b + 1) * BlockBytes, 2);
  return std::uint32_t(s0) | std::uint32_t(s1) << 16;
}

template <class Arch, class Layout>
struct int8_engine_avx512 : int8_avx2_core<int8_engine_avx512<Arch, Layout>, Layout, int8_avx512_layout<Layout>> {
  using core = int8_avx2_core<int8_engine_avx512, Layout, int8_avx512_layout<Layout>>;
  using typename core::chunk_x;
  using typename core::fast;
  static_assert(!core::has_chunks || core::chunk_blocks % 2 == 0, "chunks start at even blocks (block pairs after them)");
  // With VNNI, matmul takes two tokens a step (layouts without chunks).
  static constexpr bool two_token_steps = TQLIB_ISA_VNNI != 0;
  static constexpr bool adds_offsets = core::has_super_blocks;  // else int8_dot_engine adds them
  static constexpr std::size_t chunk_matmul_rows = 2 * int8_rows_per_pass;  // 32 registers hold 8 accumulators

  // Blocks [b0, a.blocks) of R rows into acc (one block if b0 is odd, then pairs), then out[r] =
  // the sum of acc[r]'s lanes. pf / pf_lines: prefetch per pair step, as dot_rows spreads it.
  template <std::size_t R>
  TQLIB_KERNEL_INLINE static void finish_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, std::size_t b0,
                                              __m512* acc, float* out, const std::byte* pf, std::size_t pf_lines) noexcept {
    if constexpr (core::has_super_blocks) {
      // Rows are whole super-blocks (b0 is 0: such layouts have no chunks); four pairs each.
      for (std::size_t k = 0; k < a.blocks / 8; ++k) {
        __m256 lo[R], hi[R];
        core::template super_block_setup<R>(rows, a, k, lo, hi, acc);
        for (std::size_t p = 0; p < 4; ++p) {
          const std::size_t b = 8 * k + 2 * p;
          for (std::size_t l = 0; l < pf_lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(pf) + 64 * l, _MM_HINT_T0);
          pf += 64 * pf_lines;
          const __m512i x = _mm512_loadu_si512(a.q + 32 * b);
          const __m512i bias = load_bias512(a, b);
          [[maybe_unused]] const auto ctx = pair_context(cols, b);
          const __m512i pick = super_block_pick(p);
          TQLIB_KERNEL_UNROLL
          for (std::size_t r = 0; r < R; ++r) {
            const __m512i s = pair_dot(rows[r], cols, b, ctx, x, bias);
            const __m512 both = _mm512_insertf32x8(_mm512_castps256_ps512(lo[r]), hi[r], 1);
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_permutexvar_ps(pick, both), acc[r]);
          }
        }
      }
      TQLIB_KERNEL_UNROLL
      for (std::size_t r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
      return;
    }
    const std::size_t b1 = std::min(a.blocks, b0 + b0 % 2), pairs = (a.blocks - b1) / 2;
    const __m512i spread = scale_spread();
    if (b0 < b1) single_block<R>(rows, cols, a, b0, acc);
    for (std::size_t p = 0; p < pairs; ++p) {
      const std::size_t b = b1 + 2 * p;
      for (std::size_t l = 0; l < pf_lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(pf) + 64 * l, _MM_HINT_T0);
      pf += 64 * pf_lines;
      const __m512i x = _mm512_loadu_si512(a.q + 32 * b);
      const __m512i bias = load_bias512(a, b);
      const __m128 dx = pair_activation_scales(a, b);
      [[maybe_unused]] const auto ctx = pair_context(cols, b);
      TQLIB_KERNEL_UNROLL
      for (std::size_t r = 0; r < R; ++r) {
        const __m512i s = pair_dot(rows[r], cols, b, ctx, x, bias);
        const __m512 scale = _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_mul_ps(pair_scales(rows[r], cols, b), dx)));
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc[r]);
      }
    }
    if ((a.blocks - b1) % 2) single_block<R>(rows, cols, a, a.blocks - 1, acc);
    TQLIB_KERNEL_UNROLL
    for (std::size_t r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
  }

  // out[i] = dot(row i, activations) for R rows (see the AVX2 engine's dot_rows).
  template <std::size_t R>
  static void dot_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, float* out,
                       const std::byte* pf = nullptr, std::size_t pf_bytes = 0, const chunk_x* xs = nullptr) noexcept {
    // Blocks [0, b0) go through the layout's chunks, then one block if b0 is odd, then pairs from b1.
    const std::size_t b0 = core::chunk_end(cols, a.blocks), chunks = (b0 + core::chunk_blocks - 1) / core::chunk_blocks;
    const std::size_t b1 = std::min(a.blocks, b0 + b0 % 2), pairs = (a.blocks - b1) / 2, steps = chunks + pairs;
    std::size_t pf_lines = 0;
    if (pf && steps) pf_lines = (pf_bytes + 64 * steps - 1) / (64 * steps);
    __m512 acc[R];
    TQLIB_KERNEL_UNROLL
    for (std::size_t r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    core::template chunk_steps<R>(rows, cols, a, chunks, xs, acc, pf, pf_lines);
    finish_rows<R>(rows, cols, a, b0, acc, out, pf, pf_lines);
  }

  // Exact int32 dot of each 32-block of one row with the activation codes.
  static void block_dots(const std::byte* row, std::size_t cols, const act_view& a, std::int32_t* out) noexcept {
    std::size_t b = 0;
    if constexpr (core::has_chunks)
      for (const std::size_t b0 = core::chunk_end(cols, a.blocks); b < b0; b += core::chunk_blocks)
        fast::chunk_block_dots(row, cols, b, fast::chunk_activations(a, cols, b), std::min(core::chunk_blocks, b0 - b), out + b);
    b = core::chunk_end(cols, a.blocks);  // pairs from here, odd or not: the sums need no scales
    // Pairs through the 512-bit path matvec uses, so the tests hold it to the reference too.
    for (; b + 2 <= a.blocks; b += 2) {
      const __m512i s = pair_dot(row, cols, b, pair_context(cols, b), _mm512_loadu_si512(a.q + 32 * b), load_bias512(a, b));
      out[b] = _mm512_mask_reduce_add_epi32(0x00ff, s);
      out[b + 1] = _mm512_mask_reduce_add_epi32(0xff00, s);
    }
    for (; b < a.blocks; ++b) out[b] = int8_block_dot_avx2<core>(row, cols, a, b);
  }

#if TQLIB_ISA_VNNI
  // dot_rows<R> for two tokens at once (layouts without chunks, as matmul calls it): each block
  // pair's codes and weight scales are decoded once for both, and each (row, token) takes
  // finish_rows' steps in its order, so each token's result is its matvec's bit for bit.
  template <std::size_t R>
  static void dot_rows_two_tokens(const std::byte* const* rows, std::size_t cols, const act_view* a, float (*out)[R]) noexcept {
    if constexpr (core::has_super_blocks) return super_block_rows_two_tokens<R>(rows, cols, a, out);
    const std::size_t blocks = a[0].blocks;
    const __m512i spread = scale_spread();
    __m512 acc[2][R];
    TQLIB_KERNEL_UNROLL
    for (std::size_t r = 0; r < R; ++r) acc[0][r] = acc[1][r] = _mm512_setzero_ps();
    for (std::size_t b = 0; b + 2 <= blocks; b += 2) {
      __m512i x[2], bias[2];
      __m128 dx[2];
      for (std::size_t t = 0; t < 2; ++t) {
        x[t] = _mm512_loadu_si512(a[t].q + 32 * b);
        bias[t] = load_bias512(a[t], b);
        dx[t] = pair_activation_scales(a[t], b);
      }
      [[maybe_unused]] const auto ctx = pair_context(cols, b);
      TQLIB_KERNEL_UNROLL
      for (std::size_t r = 0; r < R; ++r) {
        const __m512i u = pair_codes(rows[r], cols, b, ctx);
        const __m128 w = pair_scales(rows[r], cols, b);
        for (std::size_t t = 0; t < 2; ++t) {
          const __m512 scale = _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_mul_ps(w, dx[t])));
          acc[t][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(bias[t], u, x[t])), scale, acc[t][r]);
        }
      }
    }
    for (std::size_t t = 0; t < 2; ++t) {
      if (blocks % 2) single_block<R>(rows, cols, a[t], blocks - 1, acc[t]);
      TQLIB_KERNEL_UNROLL
      for (std::size_t r = 0; r < R; ++r) out[t][r] = _mm512_reduce_add_ps(acc[t][r]);
    }
  }

  // dot_rows_two_tokens for super-block layouts: finish_rows' super-block steps for both tokens,
  // each pair's codes decoded once.
  template <std::size_t R>
  static void super_block_rows_two_tokens(const std::byte* const* rows, std::size_t cols, const act_view* a, float (*out)[R]) noexcept {
    __m512 acc[2][R];
    TQLIB_KERNEL_UNROLL
    for (std::size_t r = 0; r < R; ++r) acc[0][r] = acc[1][r] = _mm512_setzero_ps();
    for (std::size_t k = 0; k < a[0].blocks / 8; ++k) {
      __m256 lo[2][R], hi[2][R];
      for (std::size_t t = 0; t < 2; ++t) core::template super_block_setup<R>(rows, a[t], k, lo[t], hi[t], acc[t]);
      for (std::size_t p = 0; p < 4; ++p) {
        const std::size_t b = 8 * k + 2 * p;
        __m512i x[2], bias[2];
        for (std::size_t t = 0; t < 2; ++t) x[t] = _mm512_loadu_si512(a[t].q + 32 * b), bias[t] = load_bias512(a[t], b);
        [[maybe_unused]] const auto ctx = pair_context(cols, b);
        const __m512i pick = super_block_pick(p);
        TQLIB_KERNEL_UNROLL
        for (std::size_t r = 0; r < R; ++r) {
          const __m512i u = pair_codes(rows[r], cols, b, ctx);
          for (std::size_t t = 0; t < 2; ++t) {
            const __m512 both = _mm512_insertf32x8(_mm512_castps256_ps512(lo[t][r]), hi[t][r], 1);
            acc[t][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(bias[t], u, x[t])), _mm512_permutexvar_ps(pick, both), acc[t][r]);
          }
        }
      }
    }
    for (std::size_t t = 0; t < 2; ++t) {
      TQLIB_KERNEL_UNROLL
      for (std::size_t r = 0; r < R; ++r) out[t][r] = _mm512_reduce_add_ps(acc[t][r]);
    }
  }
#endif

 private:
  // Lanes of blocks 2p, 2p + 1 of a super-block: their scales from lanes 2p, 2p + 1 of {lo, hi}
  // (split scales: lo then hi, 4 lanes each).
  static __m512i super_block_pick(std::size_t p) noexcept {
    const int e = int(2 * p);
    return Layout::split_scales ? _mm512_setr_epi32(e, e, e, e, e + 8, e + 8, e + 8, e + 8, e + 1, e + 1, e + 1, e + 1, e + 9, e + 9, e + 9, e + 9)
                                : _mm512_setr_epi32(e, e, e, e, e, e, e, e, e + 1, e + 1, e + 1, e + 1, e + 1, e + 1, e + 1, e + 1);
  }

  // Lanes 0-7 take element 0 of a 4-float scale vector, lanes 8-15 element 1 (one scale per
  // block); with split scales, lanes 4l..4l+3 take element l (one scale per 16 weights).
  static __m512i scale_spread() noexcept {
    return Layout::split_scales ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)
                                : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  }

  // d[b], d[b], d[b+1], d[b+1] (split scales) or d[b], d[b+1], -, - (one scale per block).
  static __m128 pair_activation_scales(const act_view& a, std::size_t b) noexcept {
    const __m128 dx2 = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(a.d + b)));
    return Layout::split_scales ? _mm_unpacklo_ps(dx2, dx2) : dx2;
  }

  static __m512i decode2_register(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm512_inserti64x4(_mm512_castsi256_si512(core::decode_register(row, cols, b)), core::decode_register(row, cols, b + 1), 1);
  }

  // One block on its own (256 bits) for R rows: after chunks ending at an odd block, and the last
  // of an odd count. Force-inlined so that the accumulators stay in registers.
  template <std::size_t R>
  [[gnu::always_inline]] static void single_block(const std::byte* const* rows, std::size_t cols, const act_view& a,
                                                  std::size_t b, __m512* acc) noexcept {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b));
    const __m256i bias = core::load_bias256(a, b);
    TQLIB_KERNEL_UNROLL
    for (std::size_t r = 0; r < R; ++r) {
      const __m256i s = core::block_dot(rows[r], cols, b, x, bias);
      const __m256 prod = _mm256_mul_ps(_mm256_cvtepi32_ps(s), core::scale_register(rows[r], cols, b, a.d[b]));
      acc[r] = _mm512_add_ps(acc[r], _mm512_zextps256_ps512(prod));
    }
  }

  static __m512i load_bias512([[maybe_unused]] const act_view& a, [[maybe_unused]] std::size_t b) noexcept {
    if constexpr (core::has_u8) {
      return _mm512_srai_epi32(_mm512_loadu_si512(a.bias4 + 8 * b), core::u8_shift);
    } else {
#if TQLIB_ISA_VNNI
      return _mm512_loadu_si512(a.bias4 + 8 * b);
#else
      return _mm512_setzero_si512();
#endif
    }
  }

  // What a layout computes once per block pair for all rows (offsets, multipliers), if anything.
  static auto pair_context(std::size_t cols, std::size_t b) noexcept {
    if constexpr (requires { fast::pair_context(cols, b); }) return fast::pair_context(cols, b);
    else return 0;
  }

  // The unsigned bytes of blocks b, b + 1 of a row that vpdpbusd / vpmaddubsw multiply, if the
  // layout has unsigned codes.
  template <class Ctx>
  static __m512i pair_u8(const std::byte* row, std::size_t cols, std::size_t b, [[maybe_unused]] const Ctx& ctx) noexcept {
    if constexpr (requires { fast::decode2_u8(row, cols, b, ctx); })
      return fast::decode2_u8(row, cols, b, ctx);
    else if constexpr (requires { fast::decode2_u8(row, cols, b); })
      return fast::decode2_u8(row, cols, b);
    else
      return _mm512_inserti64x4(_mm512_castsi256_si512(fast::decode_u8(row, cols, b)), fast::decode_u8(row, cols, b + 1), 1);
  }
  template <class Ctx>
  static constexpr bool has_pair_u8 = requires(const std::byte* row, std::size_t n, const Ctx& ctx) { fast::decode2_u8(row, n, n, ctx); } ||
                                      requires(const std::byte* row, std::size_t n) { fast::decode2_u8(row, n, n); } ||
                                      requires(const std::byte* row, std::size_t n) { fast::decode_u8(row, n, n); };

  // The unsigned bytes vpdpbusd multiplies for blocks b, b + 1 of a row: the layout's codes, or
  // signed weights + 128 (bias4 takes the offset out).
  template <class Ctx>
  static __m512i pair_codes(const std::byte* row, std::size_t cols, std::size_t b, const Ctx& ctx) noexcept {
    if constexpr (has_pair_u8<Ctx>) return pair_u8(row, cols, b, ctx);
    else return _mm512_xor_si512(decode2_register(row, cols, b), _mm512_set1_epi8(char(0x80)));
  }

  // Sixteen int32 lanes of blocks b, b + 1 of a row, each the exact sum of 4 products w*x.
  template <class Ctx>
  static __m512i pair_dot(const std::byte* row, std::size_t cols, std::size_t b, const Ctx& ctx, __m512i x, __m512i bias) noexcept {
#if TQLIB_ISA_VNNI
    return _mm512_dpbusd_epi32(bias, pair_codes(row, cols, b, ctx), x);
#else
    // u < 2 * offset <= 128 and |x| <= 127: the int16 pair sums cannot saturate.
    if constexpr (has_pair_u8<Ctx>) return dot_u8_i8(bias, pair_u8(row, cols, b, ctx), x);
    else return idot512(decode2_register(row, cols, b), x);
#endif
  }

  // Weight scales of blocks b and b + 1: {s_b, s_b+1, 0, 0}, or {lo_b, hi_b, lo_b+1, hi_b+1}.
  static __m128 pair_scales(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    if constexpr (requires { fast::scale_bits2(row, cols, b); })
      return _mm_cvtph_ps(_mm_cvtsi32_si128(int(fast::scale_bits2(row, cols, b))));
    float lo0, hi0, lo1, hi1;
    Layout::scales(row, cols, b, lo0, hi0);
    Layout::scales(row, cols, b + 1, lo1, hi1);
    if constexpr (Layout::split_scales) return _mm_setr_ps(lo0, hi0, lo1, hi1);
    else return _mm_unpacklo_ps(_mm_set_ss(lo0), _mm_set_ss(lo1));
  }

  // Sixteen int32 lanes, each the exact sum of 4 products w*x, without VNNI (with it, pair_codes
  // gives w + 128 to vpdpbusd). No vpsignb on 512 bits: negate x where w < 0 with a mask, then
  // |w| * that.
  static __m512i idot512(__m512i w, __m512i x) noexcept {
    const __m512i sx = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
    return _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_abs_epi8(w), sx), _mm512_set1_epi16(1));
  }
};

}  // namespace tqlib::codec::detail
