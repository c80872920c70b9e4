#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include "tqlib/codec/sign_magnitude.hpp"

namespace tqlib::codec {

namespace detail {

// Decodes W neighbouring rotated coordinates (bits already shifted to lane order) as IEEE bit
// patterns: a select tree over the magnitude planes picks the codebook entry (no gather, no
// table in memory), then the sign plane sets the float's sign bit. On AVX-512 the plane bits
// are the select masks themselves (k registers); elsewhere they are broadcast and tested.
template <class Arch, unsigned MB>
struct sm_lane_decoder {
  using ubatch = xsimd::batch<std::uint32_t, Arch>;
  using fbatch = xsimd::batch<float, Arch>;
  static constexpr std::size_t W = ubatch::size;
  static constexpr bool native_masks = std::is_base_of_v<xsimd::avx512f, Arch>;
  ubatch lane_bit;
  ubatch level[8];
  ubatch sign_bit{0x80000000u};

  TQLIB_KERNEL_INLINE explicit sm_lane_decoder(const float* magnitude) noexcept {
    alignas(64) std::uint32_t bits[W];
    for (std::size_t i = 0; i < W; ++i) bits[i] = 1u << i;
    lane_bit = ubatch::load_aligned(bits);
    for (unsigned k = 0; k < (1u << MB); ++k) level[k] = xsimd::bitwise_cast<std::uint32_t>(fbatch(magnitude[k]));
  }

  TQLIB_KERNEL_INLINE auto test(std::uint32_t bits) const noexcept {
    if constexpr (native_masks) return xsimd::batch_bool<std::uint32_t, Arch>::from_mask(bits);
    else return (ubatch(bits) & lane_bit) != ubatch(0u);
  }

  // plane_bits[p] holds bit p of the magnitude index of lanes 0..W-1 in its low W bits.
  TQLIB_KERNEL_INLINE ubatch decode(std::uint32_t sign_bits, const std::uint32_t* plane_bits) const noexcept {
    ubatch v;
    if constexpr (MB == 0) {
      v = level[0];
    } else if constexpr (MB == 1) {
      v = xsimd::select(test(plane_bits[0]), level[1], level[0]);
    } else if constexpr (MB == 2) {
      const auto m0 = test(plane_bits[0]);
      v = xsimd::select(test(plane_bits[1]), xsimd::select(m0, level[3], level[2]), xsimd::select(m0, level[1], level[0]));
    } else {
      const auto m0 = test(plane_bits[0]), m1 = test(plane_bits[1]);
      const ubatch low = xsimd::select(m1, xsimd::select(m0, level[3], level[2]), xsimd::select(m0, level[1], level[0]));
      const ubatch high = xsimd::select(m1, xsimd::select(m0, level[7], level[6]), xsimd::select(m0, level[5], level[4]));
      v = xsimd::select(test(plane_bits[2]), high, low);
    }
    return xsimd::select(test(sign_bits), v | sign_bit, v);
  }
};

// Calls f(e, decoded bit patterns of coordinates e .. e+W-1) for every W-lane chunk of a block.
template <class Arch, unsigned MB, class F>
TQLIB_KERNEL_INLINE void sm_for_each_chunk(const sm_lane_decoder<Arch, MB>& dec, const std::byte* block, std::size_t n,
                                           F&& f) noexcept {
  constexpr std::size_t W = sm_lane_decoder<Arch, MB>::W;
  static_assert(32 % W == 0, "lanes must tile a 32-bit plane word");
  constexpr std::uint32_t low_mask = W == 32 ? 0xffffffffu : (1u << W) - 1u;
  const std::byte* signs = block + 2;
  const std::size_t plane = n / 8;
  for (std::size_t g = 0; g < n; g += 32) {
    const std::uint32_t sw = load_le<std::uint32_t>(signs + g / 8);
    std::uint32_t pw[3] = {0, 0, 0};
    for (unsigned p = 0; p < MB; ++p) pw[p] = load_le<std::uint32_t>(signs + (1 + p) * plane + g / 8);
    for (std::size_t c = 0; c < 32; c += W) {
      const std::uint32_t pb[3] = {(pw[0] >> c) & low_mask, (pw[1] >> c) & low_mask, (pw[2] >> c) & low_mask};
      f(g + c, dec.decode((sw >> c) & low_mask, pb));
    }
  }
}

// What the int16 paths (AVX-512, AVX2, wasm) share, prepared once per call: the activations
// quantized per block (docs/codecs/tq4_1s.md: round(xr * 8191 / max|xr_b|)) and stored in the
// order the path's decoder produces weights, block b's from at[b] (blocks rounded up to `pad`
// coordinates, the padding zero); the 16-entry code tables (sign << 3 | magnitude index) of each
// block's signed int16 levels, low bytes then high bytes; and unit[b], activation step times
// level step (the block scale still to be applied per row).
struct sm_int16_prepared {
  std::vector<std::size_t> at;
  std::vector<std::int16_t> xq;
  std::vector<float> unit;
  std::vector<std::uint8_t> tables;  // per block: 16 low bytes, 16 high bytes
};

// order(i): where coordinate i of a block goes among the block's stored activations.
template <unsigned MB, class Order>
inline sm_int16_prepared sm_prepare_int16(const sm_block_desc* blocks, std::size_t nblocks, const float* xr, std::size_t pad,
                                          Order order) {
  sm_int16_prepared p;
  p.at.assign(nblocks + 1, 0);
  for (std::size_t b = 0; b < nblocks; ++b) p.at[b + 1] = p.at[b] + (blocks[b].size + pad - 1) / pad * pad;
  p.xq.assign(p.at[nblocks], 0);
  p.unit.resize(nblocks);
  p.tables.resize(nblocks * 32);
  for (std::size_t b = 0; b < nblocks; ++b) {
    const sm_block_desc& d = blocks[b];
    float amax = 0;
    for (std::size_t i = 0; i < d.size; ++i) amax = std::max(amax, std::fabs(xr[d.col + i]));
    const float inv = amax > 0 ? sm_activation_q_max / amax : 0.f;
    for (std::size_t i = 0; i < d.size; ++i) p.xq[p.at[b] + order(i)] = std::int16_t(std::lrintf(xr[d.col + i] * inv));
    const float lmax = d.magnitude[(1u << MB) - 1];
    for (unsigned code = 0; code < 16; ++code) {
      const unsigned k = code & 7u;
      std::int16_t v = k < (1u << MB) ? sm_quantized_level(d.magnitude[k], lmax) : std::int16_t(0);
      if (code & 8u) v = std::int16_t(-v);
      p.tables[b * 32 + code] = std::uint8_t(std::uint16_t(v) & 0xffu);
      p.tables[b * 32 + 16 + code] = std::uint8_t(std::uint16_t(v) >> 8);
    }
    p.unit[b] = amax / sm_activation_q_max * lmax / sm_level_q_max;
  }
  return p;
}

#if defined(__AVX512BW__)
// AVX-512BW path: int16 arithmetic, 64 coordinates per step. Quantization (docs/codecs/tq4_1s.md):
// activation block b -> round(xr * 8191 / max|xr_b|), codebook -> round(L_k * 4096 / L_max); with
// |products| < 2^25 the int32 sums of a 256-block cannot overflow. The error this adds is bounded
// by sm_int16_error_bound() and is ~1e-4 of the dot product.
// Decoding: each plane's 64-bit word is a k-mask; masked byte adds build a 4-bit code per byte
// (sign << 3 | magnitude index), two vpshufb look it up in 16-entry tables of the signed int16
// levels' low and high bytes, and unpacking them gives int16 weights in the order
// {0-7, 16-23, 32-39, 48-55} {8-15, 24-31, 40-47, 56-63}. The activations are stored in that
// order once per call (blocks of 32 are padded to 64 with zero activations).
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_avx512_i16(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                              std::size_t nblocks, const float* xr, float* y, std::size_t r0,
                                              std::size_t r1) {
  const sm_int16_prepared p = sm_prepare_int16<MB>(blocks, nblocks, xr, 64, [](std::size_t i) {
    const std::size_t g = i / 64 * 64, j = i % 64, lane = j / 16, within = j % 16;
    return g + (within < 8 ? lane * 8 + within : 32 + lane * 8 + within - 8);
  });
  auto plane_word = [](const std::byte* at, std::size_t n) -> std::uint64_t {
    return n >= 64 ? load_le<std::uint64_t>(at) : std::uint64_t(load_le<std::uint32_t>(at));
  };
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    __m512 total = _mm512_setzero_ps();
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const std::byte* signs = row + d.byte + 2;
      const std::size_t plane = d.size / 8;
      const __m512i lo_table = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&p.tables[b * 32])));
      const __m512i hi_table =
          _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&p.tables[b * 32 + 16])));
      const std::int16_t* x = p.xq.data() + p.at[b];
      // Two accumulators, so that the vpdpwssd of a step do not wait on each other's latency.
      // (Two or four rows per pass instead, sharing the activation loads, measured slower: down to
      // 0.2 of a plain read at 896x4864.)
      __m512i acc = _mm512_setzero_si512(), acc2 = _mm512_setzero_si512();
      for (std::size_t g = 0; g < d.size; g += 64) {
        __m512i code = _mm512_maskz_mov_epi8(_cvtu64_mask64(plane_word(signs + g / 8, d.size)), _mm512_set1_epi8(8));
        if constexpr (MB >= 1)
          code = _mm512_mask_add_epi8(code, _cvtu64_mask64(plane_word(signs + plane + g / 8, d.size)), code, _mm512_set1_epi8(1));
        if constexpr (MB >= 2)
          code = _mm512_mask_add_epi8(code, _cvtu64_mask64(plane_word(signs + 2 * plane + g / 8, d.size)), code, _mm512_set1_epi8(2));
        if constexpr (MB >= 3)
          code = _mm512_mask_add_epi8(code, _cvtu64_mask64(plane_word(signs + 3 * plane + g / 8, d.size)), code, _mm512_set1_epi8(4));
        const __m512i lo = _mm512_shuffle_epi8(lo_table, code), hi = _mm512_shuffle_epi8(hi_table, code);
        const __m512i x0 = _mm512_loadu_si512(x + g), x1 = _mm512_loadu_si512(x + g + 32);
#if defined(__AVX512VNNI__)
        acc = _mm512_dpwssd_epi32(acc, _mm512_unpacklo_epi8(lo, hi), x0);
        acc2 = _mm512_dpwssd_epi32(acc2, _mm512_unpackhi_epi8(lo, hi), x1);
#else
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_unpacklo_epi8(lo, hi), x0));
        acc2 = _mm512_add_epi32(acc2, _mm512_madd_epi16(_mm512_unpackhi_epi8(lo, hi), x1));
#endif
      }
      const float scale = p.unit[b] * sm_scale(row + d.byte);
      total = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc, acc2)), _mm512_set1_ps(scale), total);
    }
    y[r] = _mm512_reduce_add_ps(total);
  }
}
#endif

#if defined(__AVX2__)
// AVX2 path: the same int16 arithmetic as the AVX-512 one (same activation and codebook rounding,
// exact int32 sums, so the same error bound), with the planes decoded by byte shuffles instead
// of k-masks. Per 32 coordinates: the sign word and the magnitude plane words go into one
// register, vpshufb spreads byte j / 8 of each plane to byte j, a compare with 1 << (j % 8) turns
// it into a byte mask, and the masks make a 4-bit code (sign << 3 | magnitude index) per byte.
// Two vpshufb look the code up in 16-entry tables of the signed int16 levels' low and high bytes,
// and unpacking them gives int16 weights in the order {0-7, 16-23} {8-15, 24-31}; the activations
// are stored in that order once per call, so vpmaddwd pairs them directly.
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_avx2_i16(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                            std::size_t nblocks, const float* xr, float* y, std::size_t r0,
                                            std::size_t r1) {
  const sm_int16_prepared p = sm_prepare_int16<MB>(blocks, nblocks, xr, 32, [](std::size_t i) {
    return i / 32 * 32 + (i % 16) / 8 * 16 + (i % 32) / 16 * 8 + i % 8;  // {0-7, 16-23, 8-15, 24-31}
  });
  const __m256i bitmask = _mm256_set1_epi64x(0x8040201008040201LL);
  // plane q (0 sign, 1.. magnitude planes) sits in dword q of the source; byte j takes byte j / 8
  const __m256i spread[4] = {
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3),
      _mm256_setr_epi8(4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7),
      _mm256_setr_epi8(8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11,
                       11, 11, 11, 11),
      _mm256_setr_epi8(12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14,
                       15, 15, 15, 15, 15, 15, 15, 15)};
  auto plane_mask = [&](__m256i src, int q) {
    return _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(src, spread[q]), bitmask), bitmask);
  };
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    __m256 total = _mm256_setzero_ps();
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const std::byte* signs = row + d.byte + 2;
      const std::size_t plane = d.size / 8;
      const __m256i lo_table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&p.tables[b * 32])));
      const __m256i hi_table =
          _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&p.tables[b * 32 + 16])));
      __m256i acc = _mm256_setzero_si256();
      for (std::size_t g = 0; g < d.size; g += 32) {
        __m128i words = _mm_cvtsi32_si128(int(load_le<std::uint32_t>(signs + g / 8)));
        if constexpr (MB >= 1) words = _mm_insert_epi32(words, int(load_le<std::uint32_t>(signs + plane + g / 8)), 1);
        if constexpr (MB >= 2) words = _mm_insert_epi32(words, int(load_le<std::uint32_t>(signs + 2 * plane + g / 8)), 2);
        if constexpr (MB >= 3) words = _mm_insert_epi32(words, int(load_le<std::uint32_t>(signs + 3 * plane + g / 8)), 3);
        const __m256i src = _mm256_broadcastsi128_si256(words);
        __m256i code = _mm256_and_si256(plane_mask(src, 0), _mm256_set1_epi8(8));
        if constexpr (MB >= 1) code = _mm256_or_si256(code, _mm256_and_si256(plane_mask(src, 1), _mm256_set1_epi8(1)));
        if constexpr (MB >= 2) code = _mm256_or_si256(code, _mm256_and_si256(plane_mask(src, 2), _mm256_set1_epi8(2)));
        if constexpr (MB >= 3) code = _mm256_or_si256(code, _mm256_and_si256(plane_mask(src, 3), _mm256_set1_epi8(4)));
        const __m256i lo = _mm256_shuffle_epi8(lo_table, code), hi = _mm256_shuffle_epi8(hi_table, code);
        const __m256i* x = reinterpret_cast<const __m256i*>(p.xq.data() + p.at[b] + g);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_unpacklo_epi8(lo, hi), _mm256_loadu_si256(x)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_unpackhi_epi8(lo, hi), _mm256_loadu_si256(x + 1)));
      }
      total = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(p.unit[b] * sm_scale(row + d.byte)), total);
    }
    y[r] = xsimd::reduce_add(xsimd::batch<float, Arch>(total));
  }
}
#endif

#if defined(__wasm_simd128__)
// WebAssembly SIMD128 path: the AVX2 path's int16 arithmetic (same activation and codebook
// rounding, exact int32 sums, so the same error bound), 16 coordinates per step. i8x16.swizzle
// spreads byte j / 8 of each plane to byte j, and/eq with 1 << (j % 8) makes the byte masks, the
// masks make the 4-bit code (sign << 3 | magnitude index), two swizzles look it up in the 16-entry
// tables of the levels' low and high bytes, and two byte shuffles interleave those into int16
// weights in coordinate order, so i32x4.dot_i16x8 pairs them with the activations as stored.
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_wasm_i16(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                            std::size_t nblocks, const float* xr, float* y, std::size_t r0,
                                            std::size_t r1) {
  const sm_int16_prepared p = sm_prepare_int16<MB>(blocks, nblocks, xr, 32, [](std::size_t i) { return i; });
  const v128_t bitmask = wasm_i64x2_splat(0x8040201008040201LL);
  // Plane q (0 sign, 1.. magnitude planes) sits in dword q of the source; coordinates 16h..16h+15
  // of a 32-group take its bytes 4q + 2h (first 8) and 4q + 2h + 1.
  auto plane_mask = [&](v128_t src, int q, int h) {
    const std::int8_t i0 = std::int8_t(4 * q + 2 * h), i1 = std::int8_t(i0 + 1);
    const v128_t spread = wasm_i8x16_make(i0, i0, i0, i0, i0, i0, i0, i0, i1, i1, i1, i1, i1, i1, i1, i1);
    return wasm_i8x16_eq(wasm_v128_and(wasm_i8x16_swizzle(src, spread), bitmask), bitmask);
  };
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    v128_t total = wasm_f32x4_splat(0.f);
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const std::byte* signs = row + d.byte + 2;
      const std::size_t plane = d.size / 8;
      const v128_t lo_table = wasm_v128_load(&p.tables[b * 32]), hi_table = wasm_v128_load(&p.tables[b * 32 + 16]);
      const std::int16_t* x = p.xq.data() + p.at[b];
      v128_t acc = wasm_i32x4_splat(0);
      for (std::size_t g = 0; g < d.size; g += 32) {
        std::uint32_t pw[4] = {load_le<std::uint32_t>(signs + g / 8), 0, 0, 0};
        for (unsigned p = 1; p <= MB; ++p) pw[p] = load_le<std::uint32_t>(signs + p * plane + g / 8);
        const v128_t src = wasm_u32x4_make(pw[0], pw[1], pw[2], pw[3]);
        for (int h = 0; h < 2; ++h) {
          v128_t code = wasm_v128_and(plane_mask(src, 0, h), wasm_i8x16_splat(8));
          if constexpr (MB >= 1) code = wasm_v128_or(code, wasm_v128_and(plane_mask(src, 1, h), wasm_i8x16_splat(1)));
          if constexpr (MB >= 2) code = wasm_v128_or(code, wasm_v128_and(plane_mask(src, 2, h), wasm_i8x16_splat(2)));
          if constexpr (MB >= 3) code = wasm_v128_or(code, wasm_v128_and(plane_mask(src, 3, h), wasm_i8x16_splat(4)));
          const v128_t lo = wasm_i8x16_swizzle(lo_table, code), hi = wasm_i8x16_swizzle(hi_table, code);
          const v128_t w0 = wasm_i8x16_shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const v128_t w1 = wasm_i8x16_shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
          const std::int16_t* xg = x + g + 16 * std::size_t(h);
          acc = wasm_i32x4_add(acc, wasm_i32x4_add(wasm_i32x4_dot_i16x8(w0, wasm_v128_load(xg)),
                                                   wasm_i32x4_dot_i16x8(w1, wasm_v128_load(xg + 8))));
        }
      }
      total = wasm_f32x4_add(total, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), wasm_f32x4_splat(p.unit[b] * sm_scale(row + d.byte))));
    }
    total = wasm_f32x4_add(total, wasm_i32x4_shuffle(total, total, 2, 3, 0, 1));
    total = wasm_f32x4_add(total, wasm_i32x4_shuffle(total, total, 1, 0, 3, 2));
    y[r] = wasm_f32x4_extract_lane(total, 0);
  }
}
#endif

template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_bits(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                        std::size_t nblocks, const float* xr, float* y, std::size_t r0,
                                        std::size_t r1) noexcept {
  using batch = xsimd::batch<float, Arch>;
  if (nblocks == 0) {
    for (std::size_t r = r0; r < r1; ++r) y[r] = 0;
    return;
  }
#if defined(__AVX512BW__)
  if constexpr (std::is_base_of_v<xsimd::avx512bw, Arch>)
    return sm_matvec_avx512_i16<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#endif
#if defined(__AVX2__)
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>)
    return sm_matvec_avx2_i16<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#endif
#if defined(__wasm_simd128__)
  return sm_matvec_wasm_i16<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#endif
  // Full-size blocks share one codebook: build its decoder (levels in registers) once per call.
  const sm_lane_decoder<Arch, MB> first(blocks[0].magnitude);
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    batch total(0.f);
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const float* x = xr + d.col;
      batch acc(0.f);
      auto accumulate = [&](std::size_t e, const auto& bits) {
        acc = xsimd::fma(xsimd::bitwise_cast<float>(bits), batch::load_unaligned(x + e), acc);
      };
      if (d.magnitude == blocks[0].magnitude) {
        sm_for_each_chunk<Arch, MB>(first, row + d.byte, d.size, accumulate);
      } else {
        const sm_lane_decoder<Arch, MB> dec(d.magnitude);
        sm_for_each_chunk<Arch, MB>(dec, row + d.byte, d.size, accumulate);
      }
      total = xsimd::fma(acc, batch(sm_scale(row + d.byte)), total);
    }
    y[r] = xsimd::reduce_add(total);
  }
}

template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_decode_rotated_bits(const std::byte* row, const sm_block_desc* blocks, std::size_t nblocks,
                                                float* out) noexcept {
  using batch = xsimd::batch<float, Arch>;
  for (std::size_t b = 0; b < nblocks; ++b) {
    const sm_block_desc& d = blocks[b];
    const sm_lane_decoder<Arch, MB> dec(d.magnitude);
    const batch s(sm_scale(row + d.byte));
    float* o = out + d.col;
    sm_for_each_chunk<Arch, MB>(dec, row + d.byte, d.size, [&](std::size_t e, const auto& bits) {
      (xsimd::bitwise_cast<float>(bits) * s).store_unaligned(o + e);
    });
  }
}

}  // namespace detail

template <class Arch>
void sign_magnitude_kernels<Arch>::matvec(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                          std::size_t nblocks, unsigned magnitude_bits, const float* xr, float* y,
                                          std::size_t r0, std::size_t r1) noexcept {
  switch (magnitude_bits) {
    case 0: return detail::sm_matvec_bits<Arch, 0>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
    case 1: return detail::sm_matvec_bits<Arch, 1>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
    case 2: return detail::sm_matvec_bits<Arch, 2>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
    default: return detail::sm_matvec_bits<Arch, 3>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
  }
}

template <class Arch>
void sign_magnitude_kernels<Arch>::decode_rotated_row(const std::byte* row, const sm_block_desc* blocks,
                                                      std::size_t nblocks, unsigned magnitude_bits, float* out) noexcept {
  switch (magnitude_bits) {
    case 0: return detail::sm_decode_rotated_bits<Arch, 0>(row, blocks, nblocks, out);
    case 1: return detail::sm_decode_rotated_bits<Arch, 1>(row, blocks, nblocks, out);
    case 2: return detail::sm_decode_rotated_bits<Arch, 2>(row, blocks, nblocks, out);
    default: return detail::sm_decode_rotated_bits<Arch, 3>(row, blocks, nblocks, out);
  }
}

}  // namespace tqlib::codec
