#pragma once
// int8_engine on AVX2 (and the parts the AVX-512 engine shares, int8_engine/avx512.hpp): one
// 32-block per 256-bit register, vpmaddubsw with the sign trick or unsigned codes (vpdpbusd's
// 256-bit form where the target has AVX512-VNNI), one int32 -> float conversion and one FMA per
// block. Included by codec/kernels/int8_engine.hpp only in translation units built for AVX2.
//
// A layout's fast paths (a specialization of int8_avx2_layout<Layout> in
// codec/kernels/<codec>/avx2.hpp) may have:
//   static constexpr int u8_offset;                 // decode_u8 gives w + u8_offset, unsigned, below
//                                                   // 2 * u8_offset (a power of two <= 64: 8 for q4_0,
//                                                   // 1 for trits, 32 for q6_k)
//   static __m256i decode_i8(row, cols, b);         // block b, signed (as Layout::decode)
//   static __m256i decode_u8(row, cols, b);         // block b, unsigned
// and chunks of whole blocks decoded in an order of the layout's own choosing (table lookups per
// digit position; the activations are permuted to match, once per chunk for all rows); X, D and
// the accumulator are 256-bit here and 512-bit on AVX-512:
//   static constexpr std::size_t chunk_blocks;      // blocks per chunk (chunk c: blocks c * chunk_blocks ...)
//   static std::size_t chunk_end(cols, blocks);     // chunks cover blocks [0, end) (the last may be short)
//   static X chunk_activations(a, cols, b);         // what chunk_apply needs of the activations
//   static D chunk_decode(row, cols, b);            // what it needs of a row: the table lookups,
//                                                   // done once per row for all tokens of a matmul
//   static __m256 chunk_apply(D, X, acc);           // acc + the chunk's products, scaled
//   static void chunk_block_dots(row, cols, b, X, n, out);  // exact int32 dot of its first n blocks
// Unsigned codes skip the re-centring per weight: the offset is taken out once per activation block
// through the bias (-offset * sum of each 4 activations, from bias4), exact in int32.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "tqlib/codec/detail/int8_codec_ops.hpp"
#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::detail {

// acc + per int32 lane the sum of its 4 products u * x, u unsigned: vpdpbusd, or without VNNI
// vpmaddubsw and vpmaddwd (exact for the codes that use it, u < 128: no int16 pair sum saturates).
TQLIB_KERNEL_INLINE __m256i dot_u8_i8(__m256i acc, __m256i u, __m256i x) noexcept {
#if TQLIB_ISA_VNNI
  return _mm256_dpbusd_epi32(acc, u, x);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
#endif
}

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

// What the AVX2 and AVX-512 engines share, over the fast paths Fast (int8_avx2_layout or
// int8_avx512_layout): the layout's chunks, one block in a 256-bit register, and matmul for
// layouts with chunks. Engine (CRTP) gives finish_rows<R> and chunk_matmul_rows.
template <class Engine, class Layout, class Fast>
struct int8_avx2_core {
  using fast = Fast;
  static constexpr bool has_u8 = requires { fast::u8_offset; };
  static constexpr int u8_shift = [] {
    if constexpr (has_u8) {
      // u < 2 * offset <= 128 and |x| <= 127 keep vpmaddubsw's int16 pair sums below 32767.
      static_assert(fast::u8_offset >= 1 && fast::u8_offset <= 64 && (fast::u8_offset & (fast::u8_offset - 1)) == 0,
                    "u8_offset must be a power of two <= 64");
      int k = 7;  // bias4 = -128 * sum: shift right by 7 - log2(offset)
      for (int o = fast::u8_offset; o > 1; o /= 2) --k;
      return k;
    } else {
      return 0;
    }
  }();

  // The layout's chunk path, where it has one.
  static constexpr bool has_chunks = requires { fast::chunk_blocks; };
  static constexpr std::size_t chunk_blocks = [] {
    if constexpr (has_chunks) return fast::chunk_blocks;
    else return std::size_t(2);
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
        TQLIB_KERNEL_UNROLL
        for (std::size_t r = 0; r < R; ++r) acc[r] = fast::chunk_apply(fast::chunk_decode(rows[r], cols, b), x, acc[r]);
      }
    }
  }

  // matmul for layouts with chunks: the table lookups, the costly part, are done once per row
  // (chunk_decode, kept for a group of rows), and every token pays only chunk_apply; the steps and
  // their order are dot_rows', so each token's result equals its matvec bit for bit.
  static void matmul_chunks(const std::byte* blob, std::size_t rows, std::size_t cols, const act_view* acts, std::size_t T,
                            float* Y, std::size_t r0, std::size_t r1) noexcept {
    if constexpr (has_chunks) {
      // Each token's chunk activations (permuted to the layout's order) serve R rows.
      constexpr std::size_t R = Engine::chunk_matmul_rows;
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
            TQLIB_KERNEL_UNROLL
            for (std::size_t i = 0; i < N; ++i) acc[i] = fast::chunk_apply(dec[i * chunks + c], x, acc[i]);
          }
          float out[N];
          Engine::template finish_rows<N>(row_ptr, cols, acts[t], b0, acc, out, nullptr, 0);
          for (std::size_t i = 0; i < N; ++i) Y[t * rows + r + i] = out[i];
        }
      };
      std::size_t r = r0;
      for (; r + R <= r1; r += R) group.template operator()<R>(r);
      for (; r + int8_rows_per_pass <= r1; r += int8_rows_per_pass) group.template operator()<int8_rows_per_pass>(r);
      for (; r < r1; ++r) group.template operator()<1>(r);
    }
  }

  // Layouts of 256-weight super-blocks whose scales (and offsets) are cheaper to unpack eight at
  // a time: super_block_scales(row, k, lo, hi, offset) gives lane j = 32-block 8k + j.
  static constexpr bool has_super_blocks = requires { fast::super_block; };

  // Super-block k's scales times the activation scales for R rows (lo, hi: split_scales' halves,
  // else hi = lo); the offsets times the activation sums go straight into acc.
  template <std::size_t R, class Acc>
  TQLIB_KERNEL_INLINE static void super_block_setup(const std::byte* const* rows, const act_view& a, std::size_t k, __m256* lo,
                                                    __m256* hi, Acc* acc) noexcept {
    const __m256 dx = _mm256_loadu_ps(a.d + 8 * k);
    TQLIB_KERNEL_UNROLL
    for (std::size_t r = 0; r < R; ++r) {
      __m256 slo, shi, off;
      fast::super_block_scales(rows[r], k, slo, shi, off);
      lo[r] = _mm256_mul_ps(slo, dx);
      hi[r] = Layout::split_scales ? _mm256_mul_ps(shi, dx) : lo[r];
      if constexpr (has_block_offsets<Layout>) {
        const __m256 term = _mm256_mul_ps(off, _mm256_loadu_ps(a.dsum + 8 * k));
        if constexpr (sizeof(Acc) == sizeof(__m256)) acc[r] = _mm256_add_ps(acc[r], term);
        else acc[r] = _mm512_add_ps(acc[r], _mm512_zextps256_ps512(term));
      }
    }
  }

  static __m256i decode_register(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    if constexpr (requires { fast::decode_i8(row, cols, b); }) {
      return fast::decode_i8(row, cols, b);
    } else {
      alignas(32) std::int8_t w[32];
      Layout::decode(row, cols, b, w);
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
    }
  }

  // The int32 lanes' starting values: the offset correction of unsigned codes (see above).
  static __m256i load_bias256([[maybe_unused]] const act_view& a, [[maybe_unused]] std::size_t b) noexcept {
    if constexpr (has_u8) {
      return _mm256_srai_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bias4 + 8 * b)), u8_shift);
    } else {
#if TQLIB_ISA_VNNI
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bias4 + 8 * b));
#else
      return _mm256_setzero_si256();
#endif
    }
  }

  // Eight int32 lanes of block b of a row, each the exact sum of 4 products w*x.
  static __m256i block_dot(const std::byte* row, std::size_t cols, std::size_t b, __m256i x, __m256i bias) noexcept {
    if constexpr (requires { fast::decode_u8(row, cols, b); }) {
      // u < 2 * offset <= 128 and |x| <= 127: the int16 pair sums of vpmaddubsw cannot saturate.
      return dot_u8_i8(bias, fast::decode_u8(row, cols, b), x);
    } else {
      return idot(decode_register(row, cols, b), x, bias);
    }
  }

  // Eight int32 lanes, each the exact sum of 4 products w*x.
  static __m256i idot(__m256i w, __m256i x, [[maybe_unused]] __m256i bias) noexcept {
#if TQLIB_ISA_VNNI
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
};

// Block b's exact int32 dot through the 256-bit path.
template <class Core>
std::int32_t int8_block_dot_avx2(const std::byte* row, std::size_t cols, const act_view& a, std::size_t b) noexcept {
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b));
  alignas(32) std::int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), Core::block_dot(row, cols, b, x, Core::load_bias256(a, b)));
  std::int32_t s = 0;
  for (int l = 0; l < 8; ++l) s += lanes[l];
  return s;
}

// The AVX2 engine: the layout's chunks, then one block at a time.
template <class Arch, class Layout>
struct int8_engine_avx2 : int8_avx2_core<int8_engine_avx2<Arch, Layout>, Layout, int8_avx2_layout<Layout>> {
  using core = int8_avx2_core<int8_engine_avx2, Layout, int8_avx2_layout<Layout>>;
  using typename core::chunk_x;
  using typename core::fast;
  static constexpr bool two_token_steps = false;
  static constexpr bool adds_offsets = core::has_super_blocks;  // else int8_dot_engine adds them
  static constexpr std::size_t chunk_matmul_rows = int8_rows_per_pass;  // AVX2's 16 registers

  // Blocks [b0, a.blocks) of R rows into acc, one at a time, then out[r] = the sum of acc[r]'s lanes.
  template <std::size_t R>
  TQLIB_KERNEL_INLINE static void finish_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, std::size_t b0,
                                              __m256* acc, float* out, const std::byte* pf, std::size_t pf_lines) noexcept {
    if constexpr (core::has_super_blocks) {
      // Rows are whole super-blocks (b0 is 0: such layouts have no chunks).
      for (std::size_t k = 0; k < a.blocks / 8; ++k) {
        __m256 lo[R], hi[R];
        core::template super_block_setup<R>(rows, a, k, lo, hi, acc);
        for (std::size_t j = 0; j < 8; ++j) {
          const std::size_t b = 8 * k + j;
          for (std::size_t l = 0; l < pf_lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(pf) + 64 * l, _MM_HINT_T0);
          pf += 64 * pf_lines;
          const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b));
          const __m256i bias = core::load_bias256(a, b);
          const __m256i lane = _mm256_set1_epi32(int(j));
          TQLIB_KERNEL_UNROLL
          for (std::size_t r = 0; r < R; ++r) {
            const __m256i s = core::block_dot(rows[r], cols, b, x, bias);
            __m256 scale = _mm256_permutevar8x32_ps(lo[r], lane);
            if constexpr (Layout::split_scales) scale = _mm256_blend_ps(scale, _mm256_permutevar8x32_ps(hi[r], lane), 0xf0);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), scale, acc[r]);
          }
        }
      }
      TQLIB_KERNEL_UNROLL
      for (std::size_t r = 0; r < R; ++r) out[r] = core::horizontal_sum(acc[r]);
      return;
    }
    for (std::size_t b = b0; b < a.blocks; ++b) {
      for (std::size_t l = 0; l < pf_lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(pf) + 64 * l, _MM_HINT_T0);
      pf += 64 * pf_lines;
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b));
      const __m256i bias = core::load_bias256(a, b);
      const float dx = a.d[b];
      TQLIB_KERNEL_UNROLL
      for (std::size_t r = 0; r < R; ++r) {
        const __m256i s = core::block_dot(rows[r], cols, b, x, bias);
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), core::scale_register(rows[r], cols, b, dx), acc[r]);
      }
    }
    TQLIB_KERNEL_UNROLL
    for (std::size_t r = 0; r < R; ++r) out[r] = core::horizontal_sum(acc[r]);
  }

  // out[i] = dot(row i, activations) for R rows. If pf is not null, the pf_bytes bytes from pf
  // (the next group of rows) are prefetched a little per step. xs: the chunks' activations if the
  // caller prepared them for all groups (else each group prepares its own).
  template <std::size_t R>
  static void dot_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, float* out,
                       const std::byte* pf = nullptr, std::size_t pf_bytes = 0, const chunk_x* xs = nullptr) noexcept {
    // Blocks [0, b0) go through the layout's chunks, then one block at a time.
    const std::size_t b0 = core::chunk_end(cols, a.blocks), chunks = (b0 + core::chunk_blocks - 1) / core::chunk_blocks;
    const std::size_t steps = chunks + (a.blocks - b0);
    std::size_t pf_lines = 0;
    if (pf && steps) pf_lines = (pf_bytes + 64 * steps - 1) / (64 * steps);
    __m256 acc[R];
    TQLIB_KERNEL_UNROLL
    for (std::size_t r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    core::template chunk_steps<R>(rows, cols, a, chunks, xs, acc, pf, pf_lines);
    finish_rows<R>(rows, cols, a, b0, acc, out, pf, pf_lines);
  }

  // Exact int32 dot of each 32-block of one row with the activation codes (tests hold this to
  // the scalar integer reference bit for bit).
  static void block_dots(const std::byte* row, std::size_t cols, const act_view& a, std::int32_t* out) noexcept {
    std::size_t b = 0;
    if constexpr (core::has_chunks)
      for (const std::size_t b0 = core::chunk_end(cols, a.blocks); b < b0; b += core::chunk_blocks)
        fast::chunk_block_dots(row, cols, b, fast::chunk_activations(a, cols, b), std::min(core::chunk_blocks, b0 - b), out + b);
    for (b = core::chunk_end(cols, a.blocks); b < a.blocks; ++b) out[b] = int8_block_dot_avx2<core>(row, cols, a, b);
  }
};


}  // namespace tqlib::codec::detail
