#pragma once
// The shared inner loop of every integer codec: rows of weights decoded 32 at a time into signed
// int8, dotted exactly in int32 with int8 activations (int8_activations.hpp), scaled and summed
// in float. A codec describes only its layout:
//
//   struct layout {
//     static constexpr bool split_scales;   // one scale per 16 weights instead of per 32
//     static std::size_t row_bytes(std::size_t cols);
//     static void scales(const std::byte* row, std::size_t cols, std::size_t b, float& lo, float& hi);
//     static void decode(const std::byte* row, std::size_t cols, std::size_t b, std::int8_t* out32);
//   };
// and, per architecture, the register-level fast paths of int8_simd_layout<Layout, Arch> below.
//
// Included only from codec kernel files (detail/*_kernels.inl.hpp): it is compiled once per
// architecture, and which path it takes follows that translation unit's instruction-set macros.
//
// Speed: a matvec streams its weights once, so it runs at memory speed
// only if the instructions per packed byte stay few and the loads reach memory early.
//  - Rows go in groups of `rows_per_pass` (each activation load serves the whole group); the
//    group's bytes are contiguous and software prefetch pulls in the next group while this one
//    is computed, so the hardware sees one sequential stream ahead of the several row streams.
//  - AVX-512: two 32-blocks per 512-bit register (64 weights per vpdpbusd / vpmaddubsw), one
//    int32 -> float conversion and one FMA per two blocks; the two blocks' scales are combined
//    into a 4-float vector and spread over the lanes with one vpermps.
//  - Layouts with chunk hooks (the ternary family with AVX-512BW; bitnet also with AVX2): several
//    blocks per step, digits decoded (vpermi2b table lookups with VBMI, multiplies in 16-bit
//    lanes, vpshufb on nibbles) in whatever order the packing makes cheapest, and the activations
//    permuted to that order once per chunk for all rows of the group.
//  - AVX2: one block per 256-bit register, vpmaddubsw with the sign trick (or unsigned codes).
// Every row's arithmetic is the same whatever the group it falls in, so results do not depend on
// how rows are split between threads, nor on matvec vs matmul.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "tqlib/codec/detail/int8_codec_ops.hpp"
#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/simd/dispatch.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#define TQLIB_INT8_AVX2 1
#else
#define TQLIB_INT8_AVX2 0
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define TQLIB_INT8_VNNI 1
#else
#define TQLIB_INT8_VNNI 0
#endif
#if defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#define TQLIB_INT8_AVX512 1
#else
#define TQLIB_INT8_AVX512 0
#endif
#if TQLIB_INT8_AVX512 && TQLIB_INT8_VNNI && defined(__AVX512VBMI__)
#define TQLIB_INT8_VBMI 1
#else
#define TQLIB_INT8_VBMI 0
#endif
#if defined(__wasm_simd128__)
#define TQLIB_INT8_WASM 1
#include "tqlib/codec/detail/int8_dot_wasm.hpp"
#else
#define TQLIB_INT8_WASM 0
#endif

// The per-row loops inside a block step must be unrolled so each row's accumulator stays in a
// register (GCC otherwise keeps a loop, with the accumulators on the stack, when the decode is long).
#if TQLIB_INT8_AVX2
#define TQLIB_INT8_UNROLL _Pragma("GCC unroll 8")
#endif

namespace tqlib::codec::detail {

// Optional fast paths for one layout on one architecture, specialized next to the codec's kernel
// definitions (detail/<name>_kernels.inl.hpp, before its explicit instantiation):
//   static constexpr int u8_offset;                      // decode*_u8 give w + u8_offset, unsigned
//                                                        // (a power of two <= 16: 8 for q4_0, 1 for trits)
//   static __m256i decode_i8(row, cols, b);              // AVX2: block b, signed (as Layout::decode)
//   static __m256i decode_u8(row, cols, b);              // AVX2: block b
//   static __m512i decode2_u8(row, cols, b);             // AVX-512BW: blocks b, b + 1 (b even)
//   static C pair_context(cols, b);                      // AVX-512BW: what decode2_u8(row, cols, b, C)
//                                                        // needs, computed once per pair for all rows
//   static std::uint32_t scale_bits2(row, cols, b);      // f16 bits of the scales of blocks b | b + 1 << 16
// and, on the architectures where the layout has them (AVX2 and up), chunks of whole blocks decoded
// in an order of the layout's own choosing (table lookups per digit position; the activations are
// permuted to match, once per chunk for all rows); X, D and the accumulator are 512-bit on AVX-512
// and 256-bit on AVX2:
//   static constexpr std::size_t chunk_blocks;           // blocks per chunk (chunk c: blocks c * chunk_blocks ...)
//   static std::size_t chunk_end(cols, blocks);          // chunks cover blocks [0, end) (the last may be short)
//   static X chunk_activations(a, cols, b);              // what chunk_apply needs of the activations
//   static D chunk_decode(row, cols, b);                 // what it needs of a row: the table lookups,
//                                                        // done once per row for all tokens of a matmul
//   static __m512 chunk_apply(D, X, acc);                // acc + the chunk's products, scaled (__m256 on AVX2)
//   static void chunk_block_dots(row, cols, b, X, n, out);  // exact int32 dot of its first n blocks
// Unsigned codes skip the re-centring per weight: the offset is taken out once per activation block
// through the bias (-offset * sum of each 4 activations, from bias4), exact in int32.
template <class Layout, class Arch>
struct int8_simd_layout {};

#if TQLIB_INT8_AVX2
// acc + per int32 lane the sum of its 4 products u * x, u unsigned: vpdpbusd, or without VNNI
// vpmaddubsw and vpmaddwd (exact for the codes that use it, u <= 16: no int16 pair sum saturates).
TQLIB_KERNEL_INLINE __m256i dot_u8_i8(__m256i acc, __m256i u, __m256i x) noexcept {
#if TQLIB_INT8_VNNI
  return _mm256_dpbusd_epi32(acc, u, x);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
#endif
}
#endif
#if TQLIB_INT8_AVX2 && !TQLIB_INT8_AVX512
// Activation blocks b .. b + 5 as they are, for AVX2 chunks of 5 blocks whose codes come in
// element order (ternary, trit2): each block's codes, its offset correction (bias4 >> shift, the
// shift of the layout's offset) and, in lane i of d, its scale.
struct five_blocks_x {
  __m256i x[5], bias[5];
  __m256 d;
};
TQLIB_KERNEL_INLINE five_blocks_x load_five_blocks(const act_view& a, std::size_t b, int bias_shift) noexcept {
  five_blocks_x c;
  for (std::size_t i = 0; i < 5; ++i) {
    c.x[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * (b + i)));
    c.bias[i] = _mm256_srai_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bias4 + 8 * (b + i))), bias_shift);
  }
  alignas(32) float d[8] = {};
  for (std::size_t i = 0; i < 5; ++i) d[i] = a.d[b + i];
  c.d = _mm256_load_ps(d);
  return c;
}
// out[i] = the exact dot of block i < count of such a chunk: its codes u[i] against x[i].
TQLIB_KERNEL_INLINE void five_block_dots(const __m256i* u, const five_blocks_x& c, std::size_t count, std::int32_t* out) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    alignas(32) std::int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), dot_u8_i8(c.bias[i], u[i], c.x[i]));
    out[i] = 0;
    for (int l = 0; l < 8; ++l) out[i] += lanes[l];
  }
}
#endif
#if TQLIB_INT8_AVX512
TQLIB_KERNEL_INLINE __m512i dot_u8_i8(__m512i acc, __m512i u, __m512i x) noexcept {
#if TQLIB_INT8_VNNI
  return _mm512_dpbusd_epi32(acc, u, x);
#else
  return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, x), _mm512_set1_epi16(1)));
#endif
}
#endif

template <class R, class... Args>
R result_of(R (*)(Args...));  // unevaluated only: the return type of a function

template <class Arch, class Layout>
struct int8_dot_engine {
  using fast = int8_simd_layout<Layout, Arch>;
  static constexpr bool has_u8 = requires { fast::u8_offset; };
  static constexpr int u8_shift = [] {
    if constexpr (has_u8) {
      static_assert(fast::u8_offset >= 1 && fast::u8_offset <= 16 && (fast::u8_offset & (fast::u8_offset - 1)) == 0,
                    "u8_offset must be a power of two <= 16");
      int k = 7;  // bias4 = -128 * sum: shift right by 7 - log2(offset)
      for (int o = fast::u8_offset; o > 1; o /= 2) --k;
      return k;
    } else {
      return 0;
    }
  }();

  static constexpr std::size_t rows_per_pass = 4;  // rows sharing each activation load

  // The layout's chunk path (see int8_simd_layout), where this architecture has one.
  static constexpr bool has_chunks = TQLIB_INT8_AVX2 && requires { fast::chunk_blocks; };
  static constexpr std::size_t chunk_blocks = [] {
    if constexpr (has_chunks) {
      static_assert(!TQLIB_INT8_AVX512 || fast::chunk_blocks % 2 == 0, "chunks start at even blocks (block pairs after them)");
      return fast::chunk_blocks;
    } else {
      return std::size_t(2);
    }
  }();
  // What the layout's chunk_activations gives (int without chunks).
  static auto chunk_x_of() noexcept {
    if constexpr (has_chunks) return decltype(fast::chunk_activations(std::declval<const act_view&>(), 0, 0)){};
    else return 0;
  }
  using chunk_x = decltype(chunk_x_of());
  static std::size_t chunk_end([[maybe_unused]] std::size_t cols, [[maybe_unused]] std::size_t blocks) noexcept {
    if constexpr (has_chunks) return std::min(blocks, fast::chunk_end(cols, blocks));
    else return 0;
  }

#if TQLIB_INT8_AVX2
  // The layout's chunks [0, chunks) of R rows into acc (nothing without chunks); pf advances as
  // in the block steps after them. xs: the chunks' activations prepared by the caller, or null.
  template <std::size_t R, class Acc>
  TQLIB_KERNEL_INLINE static void chunk_steps([[maybe_unused]] const std::byte* const* rows, [[maybe_unused]] std::size_t cols,
                                              [[maybe_unused]] const act_view& a, [[maybe_unused]] std::size_t chunks,
                                              [[maybe_unused]] const chunk_x* xs, [[maybe_unused]] Acc* acc,
                                              [[maybe_unused]] const std::byte*& pf, [[maybe_unused]] std::size_t pf_lines) noexcept {
    if constexpr (has_chunks) {
      for (std::size_t c = 0; c < chunks; ++c) {
        const std::size_t b = c * chunk_blocks;
        for (std::size_t l = 0; l < pf_lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(pf) + 64 * l, _MM_HINT_T0);
        pf += 64 * pf_lines;
        chunk_x own;
        const chunk_x& x = xs ? xs[c] : (own = fast::chunk_activations(a, cols, b));
        TQLIB_INT8_UNROLL
        for (std::size_t r = 0; r < R; ++r) acc[r] = fast::chunk_apply(fast::chunk_decode(rows[r], cols, b), x, acc[r]);
      }
    }
  }
#endif

#if TQLIB_INT8_AVX512
  // Blocks [b0, a.blocks) of R rows into acc (one block if b0 is odd, then pairs), then out[r] =
  // the sum of acc[r]'s lanes. pf / pf_lines: prefetch per pair step, as dot_rows spreads it.
  template <std::size_t R>
  TQLIB_KERNEL_INLINE static void finish_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, std::size_t b0,
                                              __m512* acc, float* out, const std::byte* pf, std::size_t pf_lines) noexcept {
    const std::size_t b1 = std::min(a.blocks, b0 + b0 % 2), pairs = (a.blocks - b1) / 2;
    // Lanes 0-7 take element 0 of a 4-float scale vector, lanes 8-15 element 1 (one scale per
    // block); with split scales, lanes 4l..4l+3 take element l (one scale per 16 weights).
    const __m512i spread = Layout::split_scales
                               ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)
                               : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    if (b0 < b1) single_block<R>(rows, cols, a, b0, acc);
    for (std::size_t p = 0; p < pairs; ++p) {
      const std::size_t b = b1 + 2 * p;
      for (std::size_t l = 0; l < pf_lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(pf) + 64 * l, _MM_HINT_T0);
      pf += 64 * pf_lines;
      const __m512i x = _mm512_loadu_si512(a.q + 32 * b);
      const __m512i bias = load_bias512(a, b);
      // d[b], d[b], d[b+1], d[b+1] (split) or d[b], d[b+1], -, - (one scale per block)
      const __m128 dx2 = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(a.d + b)));
      const __m128 dx = Layout::split_scales ? _mm_unpacklo_ps(dx2, dx2) : dx2;
      [[maybe_unused]] const auto ctx = pair_context(cols, b);
      TQLIB_INT8_UNROLL
      for (std::size_t r = 0; r < R; ++r) {
        const __m512i s = pair_dot(rows[r], cols, b, ctx, x, bias);
        const __m512 scale = _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_mul_ps(pair_scales(rows[r], cols, b), dx)));
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc[r]);
      }
    }
    if ((a.blocks - b1) % 2) single_block<R>(rows, cols, a, a.blocks - 1, acc);
    TQLIB_INT8_UNROLL
    for (std::size_t r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
  }
#elif TQLIB_INT8_AVX2
  // Blocks [b0, a.blocks) of R rows into acc, one at a time, then out[r] = the sum of acc[r]'s lanes.
  template <std::size_t R>
  TQLIB_KERNEL_INLINE static void finish_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, std::size_t b0,
                                              __m256* acc, float* out, const std::byte* pf, std::size_t pf_lines) noexcept {
    for (std::size_t b = b0; b < a.blocks; ++b) {
      for (std::size_t l = 0; l < pf_lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(pf) + 64 * l, _MM_HINT_T0);
      pf += 64 * pf_lines;
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b));
      const __m256i bias = load_bias256(a, b);
      const float dx = a.d[b];
      TQLIB_INT8_UNROLL
      for (std::size_t r = 0; r < R; ++r) {
        const __m256i s = block_dot(rows[r], cols, b, x, bias);
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), scale_register(rows[r], cols, b, dx), acc[r]);
      }
    }
    TQLIB_INT8_UNROLL
    for (std::size_t r = 0; r < R; ++r) out[r] = horizontal_sum(acc[r]);
  }
#endif

  // out[i] = dot(row i, activations) for R rows. If pf is not null, the pf_bytes bytes from pf
  // (the next group of rows) are prefetched a little per step. xs: the chunks' activations if the
  // caller prepared them for all groups (else each group prepares its own).
  template <std::size_t R>
  static void dot_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, float* out,
                       [[maybe_unused]] const std::byte* pf = nullptr, [[maybe_unused]] std::size_t pf_bytes = 0,
                       [[maybe_unused]] const chunk_x* xs = nullptr) noexcept {
#if TQLIB_INT8_AVX512
    // Blocks [0, b0) go through the layout's chunks, then one block if b0 is odd, then pairs from b1.
    const std::size_t b0 = chunk_end(cols, a.blocks), chunks = (b0 + chunk_blocks - 1) / chunk_blocks;
    const std::size_t b1 = std::min(a.blocks, b0 + b0 % 2), pairs = (a.blocks - b1) / 2, steps = chunks + pairs;
    std::size_t pf_lines = 0;
    if (pf && steps) pf_lines = (pf_bytes + 64 * steps - 1) / (64 * steps);
    __m512 acc[R];
    TQLIB_INT8_UNROLL
    for (std::size_t r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    chunk_steps<R>(rows, cols, a, chunks, xs, acc, pf, pf_lines);
    finish_rows<R>(rows, cols, a, b0, acc, out, pf, pf_lines);
#elif TQLIB_INT8_AVX2
    // Blocks [0, b0) go through the layout's chunks, then one block at a time.
    const std::size_t b0 = chunk_end(cols, a.blocks), chunks = (b0 + chunk_blocks - 1) / chunk_blocks;
    const std::size_t steps = chunks + (a.blocks - b0);
    std::size_t pf_lines = 0;
    if (pf && steps) pf_lines = (pf_bytes + 64 * steps - 1) / (64 * steps);
    __m256 acc[R];
    TQLIB_INT8_UNROLL
    for (std::size_t r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    chunk_steps<R>(rows, cols, a, chunks, xs, acc, pf, pf_lines);
    finish_rows<R>(rows, cols, a, b0, acc, out, pf, pf_lines);
#elif TQLIB_INT8_WASM
    int8_wasm_dot<Layout>::template dot_rows<R>(rows, cols, a, out);  // detail/int8_dot_wasm.hpp
#else
    // Portable path (SSE4.2, wasm without SIMD, other CPUs): decode to a buffer, integer dot the compiler vectorises.
    alignas(32) std::int8_t w[32];
    for (std::size_t r = 0; r < R; ++r) {
      float acc = 0.f;
      for (std::size_t b = 0; b < a.blocks; ++b) {
        Layout::decode(rows[r], cols, b, w);
        const std::int8_t* x = a.q + 32 * b;
        std::int32_t lo = 0, hi = 0;
        for (int j = 0; j < 16; ++j) lo += std::int32_t(w[j]) * x[j];
        for (int j = 16; j < 32; ++j) hi += std::int32_t(w[j]) * x[j];
        float slo, shi;
        Layout::scales(rows[r], cols, b, slo, shi);
        acc += a.d[b] * (Layout::split_scales ? slo * float(lo) + shi * float(hi) : slo * float(lo + hi));
      }
      out[r] = acc;
    }
#endif
  }

  // Exact int32 dot of each 32-block of one row with the activation codes (tests hold this to
  // the scalar integer reference bit for bit).
  static void block_dots(const std::byte* row, std::size_t cols, const act_view& a, std::int32_t* out) noexcept {
    std::size_t b = 0;
#if TQLIB_INT8_AVX2
    if constexpr (has_chunks)
      for (const std::size_t b0 = chunk_end(cols, a.blocks); b < b0; b += chunk_blocks)
        fast::chunk_block_dots(row, cols, b, fast::chunk_activations(a, cols, b), std::min(chunk_blocks, b0 - b), out + b);
    b = chunk_end(cols, a.blocks);  // blocks or pairs from here, odd or not: the sums need no scales
#endif
#if TQLIB_INT8_AVX512
    // Pairs through the 512-bit path matvec uses, so the tests hold it to the reference too.
    for (; b + 2 <= a.blocks; b += 2) {
      const __m512i s = pair_dot(row, cols, b, pair_context(cols, b), _mm512_loadu_si512(a.q + 32 * b), load_bias512(a, b));
      out[b] = _mm512_mask_reduce_add_epi32(0x00ff, s);
      out[b + 1] = _mm512_mask_reduce_add_epi32(0xff00, s);
    }
#endif
    for (; b < a.blocks; ++b) {
#if TQLIB_INT8_AVX2
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b));
      alignas(32) std::int32_t lanes[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), block_dot(row, cols, b, x, load_bias256(a, b)));
      std::int32_t s = 0;
      for (int l = 0; l < 8; ++l) s += lanes[l];
      out[b] = s;
#elif TQLIB_INT8_WASM
      out[b] = int8_wasm_dot<Layout>::block_dot(row, cols, a, b);
#else
      alignas(32) std::int8_t w[32];
      Layout::decode(row, cols, b, w);
      std::int32_t s = 0;
      for (int j = 0; j < 32; ++j) s += std::int32_t(w[j]) * a.q[32 * b + j];
      out[b] = s;
#endif
    }
  }

  static void matvec(const std::byte* blob, std::size_t cols, const act_view& a, float* y, std::size_t r0,
                     std::size_t r1) noexcept {
    if constexpr (has_chunks) {
      // The chunks' activations once for all row groups, when they fit 16 KiB of stack.
      constexpr std::size_t cap = 16384 / sizeof(chunk_x);
      const std::size_t chunks = (chunk_end(cols, a.blocks) + chunk_blocks - 1) / chunk_blocks;
      if (chunks <= cap && r1 - r0 >= 2 * rows_per_pass) {
        chunk_x xs[cap];
        for (std::size_t c = 0; c < chunks; ++c) xs[c] = fast::chunk_activations(a, cols, c * chunk_blocks);
        return matvec_rows(blob, cols, a, y, r0, r1, xs);
      }
    }
    matvec_rows(blob, cols, a, y, r0, r1, nullptr);
  }

  static void matvec_rows(const std::byte* blob, std::size_t cols, const act_view& a, float* y, std::size_t r0,
                          std::size_t r1, const chunk_x* xs) noexcept {
    const std::size_t rb = Layout::row_bytes(cols);
    constexpr std::size_t R = rows_per_pass;
    std::size_t r = r0;
    for (; r + R <= r1; r += R) {
      const std::byte* rows[R];
      for (std::size_t i = 0; i < R; ++i) rows[i] = blob + (r + i) * rb;
      // The next group (or the remaining rows) is prefetched while this one is computed.
      const std::size_t next = r + R < r1 ? std::min(R, r1 - r - R) : 0;
      dot_rows<R>(rows, cols, a, y + r, next ? blob + (r + R) * rb : nullptr, next * rb, xs);
    }
    for (; r < r1; ++r) {
      const std::byte* row = blob + r * rb;
      dot_rows<1>(&row, cols, a, y + r, nullptr, 0, xs);
    }
  }

  // Y[t * rows + r] for t < T: each group of rows is decoded while it sits in L1 for all T tokens.
  static void matmul(const std::byte* blob, std::size_t rows, std::size_t cols, const act_view* acts, std::size_t T,
                     float* Y, std::size_t r0, std::size_t r1) noexcept {
    const std::size_t rb = Layout::row_bytes(cols);
#if TQLIB_INT8_AVX2
    if constexpr (has_chunks)
      if (T > 1) return matmul_chunks(blob, rows, cols, acts, T, Y, r0, r1);
#endif
    std::size_t r = r0;
    for (; r + rows_per_pass <= r1; r += rows_per_pass) {
      const std::byte* group[rows_per_pass];
      for (std::size_t i = 0; i < rows_per_pass; ++i) group[i] = blob + (r + i) * rb;
      std::size_t t = 0;
#if TQLIB_INT8_VNNI || TQLIB_INT8_WASM
      for (; t + 2 <= T; t += 2) {
        float out[2][rows_per_pass];
#if TQLIB_INT8_VNNI
        dot_rows_two_tokens<rows_per_pass>(group, cols, acts + t, out);
#else
        int8_wasm_dot<Layout>::template dot_rows_tokens<rows_per_pass, 2>(group, cols, acts + t, out);
#endif
        for (std::size_t i = 0; i < rows_per_pass; ++i) Y[t * rows + r + i] = out[0][i], Y[(t + 1) * rows + r + i] = out[1][i];
      }
#endif
      for (; t < T; ++t) {
        float out[rows_per_pass];
        dot_rows<rows_per_pass>(group, cols, acts[t], out);
        for (std::size_t i = 0; i < rows_per_pass; ++i) Y[t * rows + r + i] = out[i];
      }
    }
    for (; r < r1; ++r) {
      const std::byte* row = blob + r * rb;
      for (std::size_t t = 0; t < T; ++t) dot_rows<1>(&row, cols, acts[t], Y + t * rows + r);
    }
  }

#if TQLIB_INT8_VNNI
  // dot_rows<R> for two tokens at once (layouts without chunks, as matmul calls it): each block
  // pair's codes and weight scales are decoded once for both, and each (row, token) takes
  // finish_rows' steps in its order, so each token's result is its matvec's bit for bit.
  template <std::size_t R>
  static void dot_rows_two_tokens(const std::byte* const* rows, std::size_t cols, const act_view* a, float (*out)[R]) noexcept {
    const std::size_t blocks = a[0].blocks;
    const __m512i spread = Layout::split_scales
                               ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)
                               : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    __m512 acc[2][R];
    TQLIB_INT8_UNROLL
    for (std::size_t r = 0; r < R; ++r) acc[0][r] = acc[1][r] = _mm512_setzero_ps();
    for (std::size_t b = 0; b + 2 <= blocks; b += 2) {
      __m512i x[2], bias[2];
      __m128 dx[2];
      for (std::size_t t = 0; t < 2; ++t) {
        x[t] = _mm512_loadu_si512(a[t].q + 32 * b);
        bias[t] = load_bias512(a[t], b);
        const __m128 dx2 = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(a[t].d + b)));
        dx[t] = Layout::split_scales ? _mm_unpacklo_ps(dx2, dx2) : dx2;
      }
      [[maybe_unused]] const auto ctx = pair_context(cols, b);
      TQLIB_INT8_UNROLL
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
      TQLIB_INT8_UNROLL
      for (std::size_t r = 0; r < R; ++r) out[t][r] = _mm512_reduce_add_ps(acc[t][r]);
    }
  }
#endif

#if TQLIB_INT8_AVX2
  // matmul for layouts with chunks: the table lookups, the costly part, are done once per row
  // (chunk_decode, kept for a group of rows), and every token pays only chunk_apply; the steps and
  // their order are dot_rows', so each token's result equals its matvec bit for bit.
  static void matmul_chunks(const std::byte* blob, std::size_t rows, std::size_t cols, const act_view* acts, std::size_t T,
                            float* Y, std::size_t r0, std::size_t r1) noexcept {
    // Each token's chunk activations (permuted to the layout's order) serve R rows: 8 with the
    // 32 registers of AVX-512 (their accumulators stay in registers), 4 with AVX2's 16.
    constexpr std::size_t R = TQLIB_INT8_AVX512 ? 2 * rows_per_pass : rows_per_pass;
    const std::size_t rb = Layout::row_bytes(cols);
    const std::size_t b0 = chunk_end(cols, acts[0].blocks), chunks = (b0 + chunk_blocks - 1) / chunk_blocks;
    using decoded = decltype(fast::chunk_decode(blob, cols, 0));
    using accumulator = decltype(result_of(&fast::chunk_apply));  // __m512 or __m256
    std::vector<decoded> dec(R * chunks);
    auto group = [&]<std::size_t N>(std::size_t r) {
      const std::byte* row_ptr[N];
      for (std::size_t i = 0; i < N; ++i) {
        row_ptr[i] = blob + (r + i) * rb;
        for (std::size_t c = 0; c < chunks; ++c) dec[i * chunks + c] = fast::chunk_decode(row_ptr[i], cols, c * chunk_blocks);
      }
      for (std::size_t t = 0; t < T; ++t) {
        accumulator acc[N];
        for (std::size_t i = 0; i < N; ++i) acc[i] = accumulator{};
        for (std::size_t c = 0; c < chunks; ++c) {
          const chunk_x x = fast::chunk_activations(acts[t], cols, c * chunk_blocks);
          TQLIB_INT8_UNROLL
          for (std::size_t i = 0; i < N; ++i) acc[i] = fast::chunk_apply(dec[i * chunks + c], x, acc[i]);
        }
        float out[N];
        finish_rows<N>(row_ptr, cols, acts[t], b0, acc, out, nullptr, 0);
        for (std::size_t i = 0; i < N; ++i) Y[t * rows + r + i] = out[i];
      }
    };
    std::size_t r = r0;
    for (; r + R <= r1; r += R) group.template operator()<R>(r);
    for (; r + rows_per_pass <= r1; r += rows_per_pass) group.template operator()<rows_per_pass>(r);
    for (; r < r1; ++r) group.template operator()<1>(r);
  }
#endif

#if TQLIB_INT8_AVX2
 private:
  static __m256i decode_register(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    if constexpr (requires { fast::decode_i8(row, cols, b); }) {
      return fast::decode_i8(row, cols, b);
    } else {
      alignas(32) std::int8_t w[32];
      Layout::decode(row, cols, b, w);
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
    }
  }

  // The int32 lanes' starting values: the offset correction of unsigned codes (see int8_simd_layout).
  static __m256i load_bias256([[maybe_unused]] const act_view& a, [[maybe_unused]] std::size_t b) noexcept {
    if constexpr (has_u8) {
      return _mm256_srai_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bias4 + 8 * b)), u8_shift);
    } else {
#if TQLIB_INT8_VNNI
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bias4 + 8 * b));
#else
      return _mm256_setzero_si256();
#endif
    }
  }

  // Eight int32 lanes of block b of a row, each the exact sum of 4 products w*x.
  static __m256i block_dot(const std::byte* row, std::size_t cols, std::size_t b, __m256i x, __m256i bias) noexcept {
    if constexpr (requires { fast::decode_u8(row, cols, b); }) {
      const __m256i u = fast::decode_u8(row, cols, b);
#if TQLIB_INT8_VNNI
      return _mm256_dpbusd_epi32(bias, u, x);
#else
      // u <= 2 * offset <= 32 and |x| <= 127: the int16 pair sums cannot saturate.
      return _mm256_add_epi32(bias, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
#endif
    } else {
      return idot(decode_register(row, cols, b), x, bias);
    }
  }

  // Eight int32 lanes, each the exact sum of 4 products w*x.
  static __m256i idot(__m256i w, __m256i x, [[maybe_unused]] __m256i bias) noexcept {
#if TQLIB_INT8_VNNI
    // u = w + 128 is unsigned; bias = -128 * sum(x) per lane undoes the offset (int8_activations.hpp).
    return _mm256_dpbusd_epi32(bias, _mm256_xor_si256(w, _mm256_set1_epi8(char(0x80))), x);
#else
    // |w| * (x * sign(w)): maddubs needs an unsigned left operand; |w| <= 128 and |x| <= 127 keep
    // the int16 pair sums (<= 32512) from saturating.
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
#endif
  }

  static __m256 scale_register(const std::byte* row, std::size_t cols, std::size_t b, float dx) noexcept {
    float lo, hi;
    Layout::scales(row, cols, b, lo, hi);
    if constexpr (Layout::split_scales) return _mm256_set_m128(_mm_set1_ps(hi * dx), _mm_set1_ps(lo * dx));
    else return _mm256_set1_ps(lo * dx);
  }

  static float horizontal_sum(__m256 v) noexcept {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

#if TQLIB_INT8_AVX512
  static __m512i decode2_register(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    if constexpr (requires { Layout::template decode2_avx512<Arch>(row, cols, b); }) {
      return Layout::template decode2_avx512<Arch>(row, cols, b);
    } else {
      return _mm512_inserti64x4(_mm512_castsi256_si512(decode_register(row, cols, b)), decode_register(row, cols, b + 1), 1);
    }
  }

  // One block on its own (256 bits) for R rows: after chunks ending at an odd block, and the last
  // of an odd count. Force-inlined so that the accumulators stay in registers.
  template <std::size_t R>
  [[gnu::always_inline]] static void single_block(const std::byte* const* rows, std::size_t cols, const act_view& a,
                                                  std::size_t b, __m512* acc) noexcept {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b));
    const __m256i bias = load_bias256(a, b);
    TQLIB_INT8_UNROLL
    for (std::size_t r = 0; r < R; ++r) {
      const __m256i s = block_dot(rows[r], cols, b, x, bias);
      const __m256 prod = _mm256_mul_ps(_mm256_cvtepi32_ps(s), scale_register(rows[r], cols, b, a.d[b]));
      acc[r] = _mm512_add_ps(acc[r], _mm512_zextps256_ps512(prod));
    }
  }

  static __m512i load_bias512([[maybe_unused]] const act_view& a, [[maybe_unused]] std::size_t b) noexcept {
    if constexpr (has_u8) {
      return _mm512_srai_epi32(_mm512_loadu_si512(a.bias4 + 8 * b), u8_shift);
    } else {
#if TQLIB_INT8_VNNI
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

#if TQLIB_INT8_VNNI
  // The unsigned bytes vpdpbusd multiplies for blocks b, b + 1 of a row: the layout's codes, or
  // signed weights + 128 (bias4 takes the offset out).
  template <class Ctx>
  static __m512i pair_codes(const std::byte* row, std::size_t cols, std::size_t b, [[maybe_unused]] const Ctx& ctx) noexcept {
    if constexpr (requires { fast::decode2_u8(row, cols, b, ctx); })
      return fast::decode2_u8(row, cols, b, ctx);
    else if constexpr (requires { fast::decode2_u8(row, cols, b); })
      return fast::decode2_u8(row, cols, b);
    else if constexpr (requires { fast::decode_u8(row, cols, b); })
      return _mm512_inserti64x4(_mm512_castsi256_si512(fast::decode_u8(row, cols, b)), fast::decode_u8(row, cols, b + 1), 1);
    else
      return _mm512_xor_si512(decode2_register(row, cols, b), _mm512_set1_epi8(char(0x80)));
  }
#endif

  // Sixteen int32 lanes of blocks b, b + 1 of a row, each the exact sum of 4 products w*x.
  template <class Ctx>
  static __m512i pair_dot(const std::byte* row, std::size_t cols, std::size_t b, [[maybe_unused]] const Ctx& ctx, __m512i x,
                          __m512i bias) noexcept {
#if TQLIB_INT8_VNNI
    return _mm512_dpbusd_epi32(bias, pair_codes(row, cols, b, ctx), x);
#else
    // u <= 2 * offset <= 32 and |x| <= 127: the int16 pair sums cannot saturate.
    const auto unsigned_dot = [&](__m512i u) { return _mm512_add_epi32(bias, _mm512_madd_epi16(_mm512_maddubs_epi16(u, x), _mm512_set1_epi16(1))); };
    if constexpr (requires { fast::decode2_u8(row, cols, b, ctx); })
      return unsigned_dot(fast::decode2_u8(row, cols, b, ctx));
    else if constexpr (requires { fast::decode2_u8(row, cols, b); })
      return unsigned_dot(fast::decode2_u8(row, cols, b));
    else if constexpr (requires { fast::decode_u8(row, cols, b); })
      return unsigned_dot(_mm512_inserti64x4(_mm512_castsi256_si512(fast::decode_u8(row, cols, b)), fast::decode_u8(row, cols, b + 1), 1));
    else
      return idot512(decode2_register(row, cols, b), x, bias);
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

  // Sixteen int32 lanes, each the exact sum of 4 products w*x.
  static __m512i idot512(__m512i w, __m512i x, [[maybe_unused]] __m512i bias) noexcept {
    // Without VNNI (with it, pair_codes gives w + 128 to vpdpbusd). No vpsignb on 512 bits:
    // negate x where w < 0 with a mask, then |w| * that.
    const __m512i sx = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
    return _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_abs_epi8(w), sx), _mm512_set1_epi16(1));
  }
#endif
#endif
};

template <class Arch, class Layout>
void int8_kernels<Arch, Layout>::matvec(const std::byte* blob, std::size_t cols, const act_view& a, float* y,
                                        std::size_t r0, std::size_t r1) noexcept {
  int8_dot_engine<Arch, Layout>::matvec(blob, cols, a, y, r0, r1);
}
template <class Arch, class Layout>
void int8_kernels<Arch, Layout>::matmul(const std::byte* blob, std::size_t rows, std::size_t cols, const act_view* acts,
                                        std::size_t T, float* Y, std::size_t r0, std::size_t r1) noexcept {
  int8_dot_engine<Arch, Layout>::matmul(blob, rows, cols, acts, T, Y, r0, r1);
}
template <class Arch, class Layout>
void int8_kernels<Arch, Layout>::block_dots(const std::byte* row, std::size_t cols, const act_view& a,
                                            std::int32_t* out) noexcept {
  int8_dot_engine<Arch, Layout>::block_dots(row, cols, a, out);
}

}  // namespace tqlib::codec::detail
