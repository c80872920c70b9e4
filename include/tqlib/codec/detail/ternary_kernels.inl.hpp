#pragma once
#include <cstring>

#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/detail/trit_pack_x86.hpp"
#include "tqlib/codec/ternary.hpp"

namespace tqlib::codec {

namespace detail {
// bitnet, 4 trits per byte, many blocks at a time (a chunk): digit k of every packed byte v,
// D_k[j] = (v_j / 3^k) % 3 = t + 1, is one register per k, so D_k's byte j is weight 4j + k. The
// activations are permuted to match once per chunk for all rows, X_k[j] = x[4j + k], and the
// chunk's dot is sum_k D_k . X_k: int32 lane i (bytes 4i..4i+3) holds weights 16i..16i+15, in
// block i / 2 and group i / 4. Digits are unsigned (offset 1): each lane starts at -(the sum of
// its 16 activations). The digits come from
//  - AVX-512 VBMI: one 128-byte table lookup (vpermi2b) per k, 64 bytes (256 weights) a chunk;
//  - AVX-512BW and AVX2: 16-byte lookups (vpshufb) on the two nibbles of v, 64 or 32 bytes a
//    chunk (bitnet_nibble_digits).
#if TQLIB_INT8_AVX2
// The base-3 digits of v < 81 from its nibbles v = 16 h + l (h <= 5): 16 h = 9 Q[h] + R[h] and
// l = 9 A[l] + (l % 9), so with s = R[h] + l % 9 (<= 15 for every v < 81)
//   v % 9 = s % 9,   v / 9 = Q[h] + A[l] + (s >= 9),
// and the digits are (v % 9) % 3, (v % 9) / 3, (v / 9) % 3, (v / 9) / 3: nine lookups in eight
// 16-entry tables, 14 byte instructions for all four digits of a register of bytes. Bytes >= 81 (rejected by
// validation) give digits that are not meaningful but stay in 0..2 or 0.
struct bitnet_nibble_tables {
  alignas(16) std::uint8_t rem_h[16], quot_h[16], rem_l[16], at_least_9[16], d0[16], d1[16];
};
inline constexpr bitnet_nibble_tables bitnet_nibbles = [] {
  bitnet_nibble_tables t{};
  for (unsigned i = 0; i < 16; ++i) {
    t.rem_h[i] = std::uint8_t(i < 6 ? 16 * i % 9 : 0);
    t.quot_h[i] = std::uint8_t(i < 6 ? 16 * i / 9 : 0);
    t.rem_l[i] = std::uint8_t(i % 9);
    t.at_least_9[i] = std::uint8_t(i >= 9);  // [l >= 9] and [s >= 9]
    t.d0[i] = std::uint8_t(i % 9 % 3);
    t.d1[i] = std::uint8_t(i % 9 / 3);
  }
  return t;
}();

// The byte operations the nibble decode and the activation spread need, for 256- and 512-bit
// registers (AVX2 / AVX-512BW), so each algorithm below is written once (with bytes_table and
// lookup16 from trit_pack.hpp).
TQLIB_KERNEL_INLINE __m256i add8(__m256i a, __m256i b) noexcept { return _mm256_add_epi8(a, b); }
TQLIB_KERNEL_INLINE __m256i high_nibbles(__m256i v) noexcept { return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f)); }
TQLIB_KERNEL_INLINE __m256i splat8(char c, __m256i) noexcept { return _mm256_set1_epi8(c); }
TQLIB_KERNEL_INLINE __m256i negate32(__m256i v) noexcept { return _mm256_sub_epi32(_mm256_setzero_si256(), v); }
TQLIB_KERNEL_INLINE __m256i sum16_u8_times_i8(const __m256i* u, const __m256i* x) noexcept {
  // u <= 2 and |x| <= 128: each int16 pair sum is at most 512, four of them 2048.
  const __m256i p = _mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(u[0], x[0]), _mm256_maddubs_epi16(u[1], x[1])),
                                     _mm256_add_epi16(_mm256_maddubs_epi16(u[2], x[2]), _mm256_maddubs_epi16(u[3], x[3])));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
#if TQLIB_INT8_AVX512
TQLIB_KERNEL_INLINE __m512i add8(__m512i a, __m512i b) noexcept { return _mm512_add_epi8(a, b); }
TQLIB_KERNEL_INLINE __m512i high_nibbles(__m512i v) noexcept { return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0f)); }
TQLIB_KERNEL_INLINE __m512i splat8(char c, __m512i) noexcept { return _mm512_set1_epi8(c); }
TQLIB_KERNEL_INLINE __m512i negate32(__m512i v) noexcept { return _mm512_sub_epi32(_mm512_setzero_si512(), v); }
TQLIB_KERNEL_INLINE __m512i sum16_u8_times_i8(const __m512i* u, const __m512i* x) noexcept {
  const __m512i p = _mm512_add_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(u[0], x[0]), _mm512_maddubs_epi16(u[1], x[1])),
                                     _mm512_add_epi16(_mm512_maddubs_epi16(u[2], x[2]), _mm512_maddubs_epi16(u[3], x[3])));
  return _mm512_madd_epi16(p, _mm512_set1_epi16(1));
}
#endif

// D_k of every byte of v (see bitnet_nibble_tables). vpshufb reads the low nibble of an index
// byte (v < 128: bit 7 clear), so v itself indexes the tables of l.
template <class V>
TQLIB_KERNEL_INLINE void bitnet_nibble_digits(V v, V* digit) noexcept {
  const bitnet_nibble_tables& t = bitnet_nibbles;
  const V h = high_nibbles(v);
  const V s = add8(lookup16(bytes_table(t.rem_h, v), h), lookup16(bytes_table(t.rem_l, v), v));
  const V at_least_9 = bytes_table(t.at_least_9, v);
  const V q = add8(add8(lookup16(bytes_table(t.quot_h, v), h), lookup16(at_least_9, v)), lookup16(at_least_9, s));
  digit[0] = lookup16(bytes_table(t.d0, v), s);
  digit[1] = lookup16(bytes_table(t.d1, v), s);
  digit[2] = lookup16(bytes_table(base3_split.low, v), q);
  digit[3] = lookup16(bytes_table(base3_split.high, v), q);
}

// -(the sum of each int32 lane's 16 activations), lane i covering byte positions 4i..4i+3 of X_k.
template <class V>
TQLIB_KERNEL_INLINE V bitnet_activation_bias(const V* x) noexcept {
  const V one = splat8(1, x[0]);
  const V ones[4] = {one, one, one, one};
  return negate32(sum16_u8_times_i8(ones, x));
}
#endif

#if TQLIB_INT8_VBMI
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
#if TQLIB_INT8_AVX512 && !TQLIB_INT8_VBMI
// X_k[j] = q[4j + k] for j < 64 from q[0..255] in four registers, without byte permutes across
// 128-bit lanes: vpshufb groups each lane's bytes by k (dword k of lane L of register m is
// X_k[16m + 4L ..]), vpermd gathers dword k of every lane into lane k, and a 4 x 4 transpose of
// 128-bit lanes puts lane k of every register into X_k.
TQLIB_KERNEL_INLINE void bitnet_spread_activations(const __m512i* q, __m512i* x) noexcept {
  const __m512i by_k = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  const __m512i lanes = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  __m512i c[4];
  for (int m = 0; m < 4; ++m) c[m] = _mm512_permutexvar_epi32(lanes, _mm512_shuffle_epi8(q[m], by_k));
  const __m512i e0 = _mm512_shuffle_i64x2(c[0], c[1], 0x44), e1 = _mm512_shuffle_i64x2(c[0], c[1], 0xee);
  const __m512i f0 = _mm512_shuffle_i64x2(c[2], c[3], 0x44), f1 = _mm512_shuffle_i64x2(c[2], c[3], 0xee);
  x[0] = _mm512_shuffle_i64x2(e0, f0, 0x88), x[1] = _mm512_shuffle_i64x2(e0, f0, 0xdd);
  x[2] = _mm512_shuffle_i64x2(e1, f1, 0x88), x[3] = _mm512_shuffle_i64x2(e1, f1, 0xdd);
}
#elif TQLIB_INT8_AVX2 && !TQLIB_INT8_AVX512
// X_k[j] = q[4j + k] for j < 32 from q[0..127] in four registers: vpshufb groups each lane's
// bytes by k, vpermd makes qword k of register m X_k[8m .. 8m + 7], and a 4 x 4 transpose of
// qwords puts qword k of every register into X_k.
TQLIB_KERNEL_INLINE void bitnet_spread_activations(const __m256i* q, __m256i* x) noexcept {
  const __m256i by_k = _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  const __m256i lanes = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  __m256i c[4];
  for (int m = 0; m < 4; ++m) c[m] = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(q[m], by_k), lanes);
  const __m256i u0 = _mm256_unpacklo_epi64(c[0], c[1]), u1 = _mm256_unpackhi_epi64(c[0], c[1]);
  const __m256i v0 = _mm256_unpacklo_epi64(c[2], c[3]), v1 = _mm256_unpackhi_epi64(c[2], c[3]);
  x[0] = _mm256_permute2x128_si256(u0, v0, 0x20), x[2] = _mm256_permute2x128_si256(u0, v0, 0x31);
  x[1] = _mm256_permute2x128_si256(u1, v1, 0x20), x[3] = _mm256_permute2x128_si256(u1, v1, 0x31);
}
#endif

// bitnet: a block pair (b even) is one group of 64 with one scale.
template <class Arch>
struct int8_simd_layout<bitnet_layout, Arch> {
#if TQLIB_INT8_AVX2
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    const std::byte* packed = row + 2 * bitnet_layout::groups(cols);
    if (8 * b + 8 > bitnet_layout::packed_bytes(cols)) {
      alignas(32) std::int8_t w[32];
      bitnet_layout::decode(row, cols, b, w);
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
    }
    // Eight bytes index a table of their four trits each: one gather gives all 32.
    const __m256i index = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(packed + 8 * b)));
    return _mm256_i32gather_epi32(reinterpret_cast<const int*>(detail::bitnet_byte_trits.data()), index, 4);
  }
#endif
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + 2 * (b / 2), 2);
    return std::uint32_t(s) * 0x10001u;
  }
#if TQLIB_INT8_AVX512
  // 64 packed bytes (256 weights, 8 blocks, 4 groups) a chunk; the row's last may be short.
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
    const std::int8_t* p = a.q + 32 * b;
    __m512i q[4];
    __m256 d;
    if (b + 8 <= a.blocks) [[likely]] {
      for (int m = 0; m < 4; ++m) q[m] = _mm512_loadu_si512(p + 64 * m);
      d = _mm256_loadu_ps(a.d + b);
    } else {  // the activations end inside this chunk: the rest read as 0
      const std::size_t n = 32 * (a.blocks - b);
      for (int m = 0; m < 4; ++m) q[m] = _mm512_maskz_loadu_epi8(first_bytes(n, std::size_t(64 * m)), p + 64 * m);
      d = _mm256_maskz_loadu_ps(__mmask8((1u << (a.blocks - b)) - 1), a.d + b);
    }
    chunk_x c;
#if TQLIB_INT8_VBMI
    const __m512i base = _mm512_load_si512(bitnet_vbmi.act);
    for (int k = 0; k < 4; ++k) {
      const __m512i idx = _mm512_add_epi8(base, _mm512_set1_epi8(char(k)));
      // j < 32 from q[0..127], j >= 32 from q[128..255]
      c.x[k] = _mm512_mask_blend_epi64(0xf0, _mm512_permutex2var_epi8(q[0], idx, q[1]), _mm512_permutex2var_epi8(q[2], idx, q[3]));
    }
#else
    bitnet_spread_activations(q, c.x);
#endif
    c.bias = bitnet_activation_bias(c.x);
    c.d = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7), _mm512_castps256_ps512(d));
    return c;
  }
  // What a row's chunk needs whatever the activations: D_k of its 256 weights, and lane i its
  // group's scale.
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
#if TQLIB_INT8_VBMI
    for (int k = 0; k < 4; ++k)
      d.u[k] = _mm512_permutex2var_epi8(_mm512_load_si512(bitnet_vbmi.digit[k]), v, _mm512_load_si512(bitnet_vbmi.digit[k] + 64));
#else
    bitnet_nibble_digits(v, d.u);
#endif
    // The chunk's 4 group scales (b even: groups b/2 .. b/2 + 3), lane i taking group i / 4.
    const std::size_t groups = bitnet_layout::groups(cols) - b / 2;
    const __m128 g = _mm_cvtph_ps(groups >= 4 ? _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + b))
                                              : _mm_maskz_loadu_epi16(__mmask8((1u << groups) - 1), row + b));
    d.w = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), _mm512_castps128_ps512(g));
    return d;
  }
  // Sixteen int32 lanes, lane i the exact dot of weights 16i..16i+15 of the chunk.
  TQLIB_KERNEL_INLINE static __m512i chunk_dot(const chunk_decoded& d, const chunk_x& c) noexcept {
#if TQLIB_INT8_VNNI
    __m512i s = c.bias;
    for (int k = 0; k < 4; ++k) s = _mm512_dpbusd_epi32(s, d.u[k], c.x[k]);
    return s;
#else
    return _mm512_add_epi32(c.bias, sum16_u8_times_i8(d.u, c.x));
#endif
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
#elif TQLIB_INT8_AVX2
  // 32 packed bytes (128 weights, 4 blocks, 2 groups) a chunk, whole chunks only: a row's last
  // blocks past them go through the per-block path.
  static constexpr std::size_t chunk_blocks = 4;
  TQLIB_KERNEL_INLINE static std::size_t chunk_end(std::size_t cols, std::size_t) noexcept {
    return bitnet_layout::packed_bytes(cols) / 32 * chunk_blocks;
  }
  struct chunk_x {
    __m256i x[4];  // X_k
    __m256i bias;  // -(sum of each lane's 16 activations)
    __m256 d;      // activation scale of each lane's block
  };
  TQLIB_KERNEL_INLINE static chunk_x chunk_activations(const act_view& a, std::size_t, std::size_t b) noexcept {
    __m256i q[4];
    for (int m = 0; m < 4; ++m) q[m] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b + 32 * m));
    chunk_x c;
    bitnet_spread_activations(q, c.x);
    c.bias = bitnet_activation_bias(c.x);
    c.d = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(a.d + b)), _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
    return c;
  }
  struct chunk_decoded {
    __m256i u[4];
    __m256 w;
  };
  TQLIB_KERNEL_INLINE static chunk_decoded chunk_decode(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    chunk_decoded d;
    bitnet_nibble_digits(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * bitnet_layout::groups(cols) + 8 * b)), d.u);
    std::int32_t two_scales;  // groups b/2 and b/2 + 1, lane i taking group i / 4
    std::memcpy(&two_scales, row + b, 4);
    d.w = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_cvtph_ps(_mm_cvtsi32_si128(two_scales))),
                                   _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
    return d;
  }
  // Eight int32 lanes, lane i the exact dot of weights 16i..16i+15 of the chunk.
  TQLIB_KERNEL_INLINE static __m256i chunk_dot(const chunk_decoded& d, const chunk_x& c) noexcept {
    return _mm256_add_epi32(c.bias, sum16_u8_times_i8(d.u, c.x));
  }
  TQLIB_KERNEL_INLINE static __m256 chunk_apply(const chunk_decoded& d, const chunk_x& c, __m256 acc) noexcept {
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(chunk_dot(d, c)), _mm256_mul_ps(d.w, c.d), acc);
  }
  TQLIB_KERNEL_INLINE static void chunk_block_dots(const std::byte* row, std::size_t cols, std::size_t b, const chunk_x& c,
                                                   std::size_t n, std::int32_t* out) noexcept {
    alignas(32) std::int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), chunk_dot(chunk_decode(row, cols, b), c));
    for (std::size_t j = 0; j < n; ++j) out[j] = lanes[2 * j] + lanes[2 * j + 1];
  }
#endif
};

// ternary with AVX-512BW (below): 10 blocks, two 32-byte packs of 5 in one 64-byte load, at a
// time; D_n, digit n of all 64 bytes (trit_digits: table lookups with VBMI, else multiplies), holds
// blocks n and 5 + n of the chunk, each in order. The activations and their bias are paired the
// same way, once per chunk for all rows.

// ternary: digits t + 1 of the trit stream go to the dot product as they are (unsigned, offset
// 1); a block pair (b even) is one group of 64 with one scale.
template <class Arch>
struct int8_simd_layout<ternary_layout, Arch> {
#if TQLIB_INT8_AVX2
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return detail::decode_trit_block_avx2(row + 2 * ternary_layout::groups(cols), ternary_layout::blocks(cols), b);
  }
#endif
  static constexpr int u8_offset = 1;
#if TQLIB_INT8_AVX512
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
    return dot_u8_i8(c.bias[n], digits, c.x[n]);
  }
  // What a row's chunk needs whatever the activations: D_n for n < 5, and lane i < 10 the group
  // scale of block b + i.
  struct chunk_decoded {
    __m512i u[5];
    __m512 scales;
  };
  TQLIB_KERNEL_INLINE static chunk_decoded chunk_decode(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    const std::byte* p = row + 2 * ternary_layout::groups(cols) + 32 * (b / 5);
    const trit_bytes64 f = trit_bytes(one_pack(cols, b) ? _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))
                                                        : _mm512_loadu_si512(p));
    chunk_decoded d;
    trit_all_digits(f, d.u);
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
#elif TQLIB_INT8_AVX2
  // AVX2: one pack (5 blocks) a chunk; D_n is block b + n in order, so the activations need no
  // permuting. Whole packs only, as above.
  static constexpr std::size_t chunk_blocks = 5;
  TQLIB_KERNEL_INLINE static std::size_t chunk_end(std::size_t cols, std::size_t) noexcept { return ternary_layout::blocks(cols) / 5 * 5; }
  using chunk_x = five_blocks_x;
  TQLIB_KERNEL_INLINE static chunk_x chunk_activations(const act_view& a, std::size_t, std::size_t b) noexcept {
    return load_five_blocks(a, b, 7);  // offset 1: -128 * sum >> 7
  }
  // What a row's chunk needs whatever the activations: block b + n's digits and, in lane n, its
  // group's scale.
  struct chunk_decoded {
    __m256i u[5];
    __m256 w;
  };
  TQLIB_KERNEL_INLINE static chunk_decoded chunk_decode(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    chunk_decoded d;
    trit_all_digits(trit_bytes(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * ternary_layout::groups(cols) + 32 * (b / 5)))), d.u);
    // The scales of groups b / 2 .. b / 2 + 3 (the stream follows them in the row; the fourth is
    // never used), spread to the blocks: block b is the second of its group when b is odd.
    const __m256 groups = _mm256_castps128_ps256(_mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + 2 * (b / 2)))));
    d.w = _mm256_permutevar8x32_ps(groups, b % 2 ? _mm256_setr_epi32(0, 1, 1, 2, 2, 0, 0, 0) : _mm256_setr_epi32(0, 0, 1, 1, 2, 0, 0, 0));
    return d;
  }
  TQLIB_KERNEL_INLINE static __m256 chunk_apply(const chunk_decoded& d, const chunk_x& c, __m256 acc) noexcept {
    // Lane n: block b + n's weight scale times its activation scale, then one broadcast per block.
    const __m256 scales = _mm256_mul_ps(d.w, c.d);
    TQLIB_INT8_UNROLL
    for (std::size_t n = 0; n < 5; ++n) {
      const __m256 scale = _mm256_permutevar8x32_ps(scales, _mm256_set1_epi32(int(n)));
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_u8_i8(c.bias[n], d.u[n], c.x[n])), scale, acc);
    }
    return acc;
  }
  TQLIB_KERNEL_INLINE static void chunk_block_dots(const std::byte* row, std::size_t cols, std::size_t b, const chunk_x& c,
                                                   std::size_t count, std::int32_t* out) noexcept {
    five_block_dots(chunk_decode(row, cols, b).u, c, count, out);
  }
#endif
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + 2 * (b / 2), 2);
    return std::uint32_t(s) * 0x10001u;
  }
#if TQLIB_INT8_AVX2
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_add_epi8(decode_i8(row, cols, b), _mm256_set1_epi8(1));
  }
#endif
};
}  // namespace detail

#ifdef TQLIB_KERNEL_ARCH
template struct detail::int8_kernels<TQLIB_KERNEL_ARCH, bitnet_layout>;
template struct detail::int8_kernels<TQLIB_KERNEL_ARCH, ternary_layout>;
#endif
}  // namespace tqlib::codec
