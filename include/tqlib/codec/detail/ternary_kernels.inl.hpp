#pragma once
#include <cstring>

#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/ternary.hpp"

namespace tqlib::codec {

namespace detail {
#if TQLIB_INT8_VBMI
// bitnet with VBMI, 256 weights (64 packed bytes, 8 blocks, 4 groups) at a time: one vpermi2b per
// trit position k turns all 64 bytes v into digits (v / 3^k) % 3 = t + 1, so register D_k holds
// trit k of byte j at byte j. Its int32 lane i (bytes 4i..4i+3, weights 16i..16i+15) lies in
// block i / 2 and group i / 4. The activations are permuted to match, once per chunk for all rows:
// X_k[j] = x[4j + k]. Digits are unsigned (offset 1): each lane starts at -(sum of its 16
// activations), itself a vpdpbusd of ones with the X_k.
struct bitnet_vbmi_tables {
  alignas(64) std::uint8_t digit[4][128];  // digit k of v < 81 (t + 1); 1 (t = 0) for 81..127
  alignas(64) std::uint8_t act[64];        // 4j mod 128: X_k's bytes from two 128-byte halves
};
inline constexpr bitnet_vbmi_tables bitnet_vbmi = [] {
  bitnet_vbmi_tables t{};
  for (unsigned k = 0, p = 1; k < 4; ++k, p *= 3)
    for (unsigned v = 0; v < 128; ++v) t.digit[k][v] = std::uint8_t(v < 81 ? v / p % 3 : 1);
  for (unsigned j = 0; j < 64; ++j) t.act[j] = std::uint8_t(4 * j % 128);
  return t;
}();
#endif

// bitnet: a block pair (b even) is one group of 64 with one scale.
template <class Arch>
struct int8_simd_layout<bitnet_layout, Arch> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + 2 * (b / 2), 2);
    return std::uint32_t(s) * 0x10001u;
  }
#if TQLIB_INT8_VBMI
  static constexpr std::size_t chunk_blocks = 8;
  TQLIB_KERNEL_INLINE static std::size_t chunk_end(std::size_t, std::size_t blocks) noexcept { return blocks; }
  // Lanes [0, n) of a 64-byte load at byte `at` of an n-byte range (the short last chunk).
  TQLIB_KERNEL_INLINE static __mmask64 first_bytes(std::size_t n, std::size_t at) noexcept {
    return n >= at + 64 ? ~__mmask64(0) : n <= at ? __mmask64(0) : (__mmask64(1) << (n - at)) - 1;
  }
  struct chunk_x {
    __m512i x[4];  // X_k
    __m512i bias;  // -(sum of each lane's 16 activations)
    __m512 d;      // activation scale of each lane's block
  };
  TQLIB_KERNEL_INLINE static chunk_x chunk_activations(const act_view& a, std::size_t, std::size_t b) noexcept {
    const std::int8_t* q = a.q + 32 * b;
    __m512i q0, q1, q2, q3;
    __m256 d;
    if (b + 8 <= a.blocks) [[likely]] {
      q0 = _mm512_loadu_si512(q), q1 = _mm512_loadu_si512(q + 64), q2 = _mm512_loadu_si512(q + 128), q3 = _mm512_loadu_si512(q + 192);
      d = _mm256_loadu_ps(a.d + b);
    } else {  // the activations end inside this chunk: the rest read as 0
      const std::size_t n = 32 * (a.blocks - b);
      q0 = _mm512_maskz_loadu_epi8(first_bytes(n, 0), q), q1 = _mm512_maskz_loadu_epi8(first_bytes(n, 64), q + 64);
      q2 = _mm512_maskz_loadu_epi8(first_bytes(n, 128), q + 128), q3 = _mm512_maskz_loadu_epi8(first_bytes(n, 192), q + 192);
      d = _mm256_maskz_loadu_ps(__mmask8((1u << (a.blocks - b)) - 1), a.d + b);
    }
    const __m512i base = _mm512_load_si512(bitnet_vbmi.act);
    chunk_x c;
    __m512i sum = _mm512_setzero_si512();
    for (int k = 0; k < 4; ++k) {
      const __m512i idx = _mm512_add_epi8(base, _mm512_set1_epi8(char(k)));
      // j < 32 from q[0..127], j >= 32 from q[128..255]
      c.x[k] = _mm512_mask_blend_epi64(0xf0, _mm512_permutex2var_epi8(q0, idx, q1), _mm512_permutex2var_epi8(q2, idx, q3));
      sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(1), c.x[k]);
    }
    c.bias = _mm512_sub_epi32(_mm512_setzero_si512(), sum);
    c.d = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7), _mm512_castps256_ps512(d));
    return c;
  }
  // What a row's chunk needs whatever the activations: digit k of its 256 weights (the order of
  // X_k), and lane i its group's scale.
  struct chunk_decoded {
    __m512i u[4];
    __m512 w;
  };
  TQLIB_KERNEL_INLINE static chunk_decoded chunk_decode(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    const std::byte* packed = row + 2 * bitnet_layout::groups(cols) + 8 * b;
    const std::size_t n = bitnet_layout::packed_bytes(cols) - 8 * b;
    // Past the row's bytes: 40 = 1 + 3 + 9 + 27, four zero trits (as the scalar decoder reads them).
    const __m512i v = n >= 64 ? _mm512_loadu_si512(packed) : _mm512_mask_loadu_epi8(_mm512_set1_epi8(40), first_bytes(n, 0), packed);
    chunk_decoded d;
    for (int k = 0; k < 4; ++k)
      d.u[k] = _mm512_permutex2var_epi8(_mm512_load_si512(bitnet_vbmi.digit[k]), v, _mm512_load_si512(bitnet_vbmi.digit[k] + 64));
    // The chunk's 4 group scales (b even: groups b/2 .. b/2 + 3), lane i taking group i / 4.
    const std::size_t groups = bitnet_layout::groups(cols) - b / 2;
    const __m128 g = _mm_cvtph_ps(groups >= 4 ? _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + b))
                                              : _mm_maskz_loadu_epi16(__mmask8((1u << groups) - 1), row + b));
    d.w = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), _mm512_castps128_ps512(g));
    return d;
  }
  // Sixteen int32 lanes, lane i the exact dot of weights 16i..16i+15 of the chunk.
  TQLIB_KERNEL_INLINE static __m512i chunk_dot(const chunk_decoded& d, const chunk_x& c) noexcept {
    __m512i s = c.bias;
    for (int k = 0; k < 4; ++k) s = _mm512_dpbusd_epi32(s, d.u[k], c.x[k]);
    return s;
  }
  TQLIB_KERNEL_INLINE static __m512 chunk_apply(const chunk_decoded& d, const chunk_x& c, __m512 acc) noexcept {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(chunk_dot(d, c)), _mm512_mul_ps(d.w, c.d), acc);
  }
  TQLIB_KERNEL_INLINE static void chunk_block_dots(const std::byte* row, std::size_t cols, std::size_t b, const chunk_x& c,
                                                   std::size_t n, std::int32_t* out) noexcept {
    alignas(64) std::int32_t lanes[16];
    _mm512_store_si512(lanes, chunk_dot(chunk_decode(row, cols, b), c));
    for (std::size_t j = 0; j < n; ++j) out[j] = lanes[2 * j] + lanes[2 * j + 1];
  }
#endif
};

// ternary with VBMI (below): 10 blocks, two 32-byte packs of 5 in one 64-byte load, at a time;
// D_n, digit n of all 64 bytes (trit_digits_vbmi), holds blocks n and 5 + n of the chunk, each in
// order. The activations and their bias are paired the same way, once per chunk for all rows.

// ternary: digits t + 1 of the trit stream go to the dot product as they are (unsigned, offset
// 1); a block pair (b even) is one group of 64 with one scale.
template <class Arch>
struct int8_simd_layout<ternary_layout, Arch> {
  static constexpr int u8_offset = 1;
#if TQLIB_INT8_VBMI
  static constexpr std::size_t chunk_blocks = 10;
  // Whole packs only (the stream's tail blocks go through the pair path); with an odd number of
  // packs the last chunk has one, its upper halves left at zero.
  TQLIB_KERNEL_INLINE static std::size_t chunk_end(std::size_t cols, std::size_t) noexcept { return ternary_layout::blocks(cols) / 5 * 5; }
  struct chunk_x {
    __m512i x[5], bias[5];  // activations of blocks n | 5 + n, and their offset correction
    __m512 d;               // lane i < 10: the scale of block b + i (0 past the chunk's blocks)
    bool one_pack;          // the upper halves lie past the packs: zero
  };
  TQLIB_KERNEL_INLINE static chunk_x chunk_activations(const act_view& a, std::size_t cols, std::size_t b) noexcept {
    chunk_x c;
    c.one_pack = one_pack(cols, b);
    for (std::size_t n = 0; n < 5; ++n) {
      const std::size_t lo = b + n, hi = b + 5 + n;
      const auto ld = [](const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); };
      const __m256i xh = c.one_pack ? _mm256_setzero_si256() : ld(a.q + 32 * hi);
      const __m256i bh = c.one_pack ? _mm256_setzero_si256() : ld(a.bias4 + 8 * hi);
      c.x[n] = _mm512_inserti64x4(_mm512_castsi256_si512(ld(a.q + 32 * lo)), xh, 1);
      c.bias[n] = _mm512_srai_epi32(_mm512_inserti64x4(_mm512_castsi256_si512(ld(a.bias4 + 8 * lo)), bh, 1), 7);
    }
    c.d = _mm512_maskz_loadu_ps(__mmask16(c.one_pack ? 0x1f : 0x3ff), a.d + b);
    return c;
  }
  // The chunk at block b has one pack when the packs end inside it (its upper halves are zero).
  TQLIB_KERNEL_INLINE static bool one_pack(std::size_t cols, std::size_t b) noexcept { return b + 10 > chunk_end(cols, 0); }
  // Sixteen int32 lanes of D_n: blocks b + n (lanes 0-7) and b + 5 + n (lanes 8-15).
  TQLIB_KERNEL_INLINE static __m512i chunk_dot(__m512i digits, std::size_t n, const chunk_x& c) noexcept {
    return _mm512_dpbusd_epi32(c.bias[n], digits, c.x[n]);
  }
  // What a row's chunk needs whatever the activations: D_n for n < 5, and lane i < 10 the group
  // scale of block b + i.
  struct chunk_decoded {
    __m512i u[5];
    __m512 scales;
  };
  TQLIB_KERNEL_INLINE static chunk_decoded chunk_decode(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    const std::byte* p = row + 2 * ternary_layout::groups(cols) + 32 * (b / 5);
    const __m512i f = one_pack(cols, b) ? _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))) : _mm512_loadu_si512(p);
    const __mmask64 high = _mm512_movepi8_mask(f);
    chunk_decoded d;
    TQLIB_INT8_UNROLL
    for (std::size_t n = 0; n < 5; ++n) d.u[n] = trit_digits_vbmi(f, high, trit_digit_table.digit[0][n]);
    // Groups b/2 .. b/2 + 4 (8 read; the stream follows them in the row, and lanes 5-7 go unused;
    // in a one-pack chunk groups past the row's are zeroed, their lanes' products being 0).
    const std::size_t groups = ternary_layout::groups(cols) - b / 2;
    const __m128i h = groups >= 8 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + b))
                                  : _mm_maskz_loadu_epi16(__mmask8((1u << groups) - 1), row + b);
    d.scales = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0, 0, 0, 0, 0, 0), _mm512_castps256_ps512(_mm256_cvtph_ps(h)));
    return d;
  }
  TQLIB_KERNEL_INLINE static __m512 chunk_apply(const chunk_decoded& d, const chunk_x& c, __m512 acc) noexcept {
    // Lane i < 10: the group scale of block b + i times its activation scale, so that each of the
    // five steps below needs only one permute to spread them.
    const __m512 scales = _mm512_mul_ps(d.scales, c.d);
    TQLIB_INT8_UNROLL
    for (std::size_t n = 0; n < 5; ++n) {
      const __m512i lanes = _mm512_inserti64x4(_mm512_set1_epi32(int(n)), _mm256_set1_epi32(int(n + 5)), 1);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(chunk_dot(d.u[n], n, c)), _mm512_permutexvar_ps(lanes, scales), acc);
    }
    return acc;
  }
  TQLIB_KERNEL_INLINE static void chunk_block_dots(const std::byte* row, std::size_t cols, std::size_t b, const chunk_x& c,
                                                   std::size_t count, std::int32_t* out) noexcept {
    const chunk_decoded d = chunk_decode(row, cols, b);
    for (std::size_t n = 0; n < 5; ++n) {
      const __m512i s = chunk_dot(d.u[n], n, c);
      out[n] = _mm512_mask_reduce_add_epi32(0x00ff, s);
      if (5 + n < count) out[5 + n] = _mm512_mask_reduce_add_epi32(0xff00, s);
    }
  }
#endif
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + 2 * (b / 2), 2);
    return std::uint32_t(s) * 0x10001u;
  }
#if TQLIB_INT8_AVX2
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_add_epi8(ternary_layout::decode_avx2<Arch>(row, cols, b), _mm256_set1_epi8(1));
  }
#endif
#if TQLIB_INT8_AVX512
  // Offsets and digit multipliers of a block pair, the same for every row.
  struct pair_ctx {
    __m512i k_even, k_odd;
    std::size_t lo, hi;  // offsets of the two 32-byte packs in a row
    bool whole;          // both blocks in whole packs (else: the stream's tail)
  };
  TQLIB_KERNEL_INLINE static pair_ctx pair_context(std::size_t cols, std::size_t b) noexcept {
    const std::size_t blocks = ternary_layout::blocks(cols), base = 2 * ternary_layout::groups(cols);
    const short m0 = pow3[b % 5], m1 = pow3[(b + 1) % 5];
    return {_mm512_inserti64x4(_mm512_set1_epi16(short(m0 << 8)), _mm256_set1_epi16(short(m1 << 8)), 1),
            _mm512_inserti64x4(_mm512_set1_epi16(m0), _mm256_set1_epi16(m1), 1), base + 32 * (b / 5),
            base + 32 * ((b + 1) / 5), b + 1 < 5 * (blocks / 5)};
  }
  TQLIB_KERNEL_INLINE static __m512i decode2_u8(const std::byte* row, std::size_t cols, std::size_t b, const pair_ctx& c) noexcept {
    if (c.whole) {
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c.lo));
      return trit_digits_avx512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c.hi)), 1),
                                c.k_even, c.k_odd);
    }
    return _mm512_inserti64x4(_mm512_castsi256_si512(decode_u8(row, cols, b)), decode_u8(row, cols, b + 1), 1);
  }
#endif
};
}  // namespace detail

TQLIB_INT8_KERNEL_DEFINITIONS(bitnet_kernels, bitnet_layout)
TQLIB_INT8_KERNEL_DEFINITIONS(ternary_kernels, ternary_layout)
}  // namespace tqlib::codec
