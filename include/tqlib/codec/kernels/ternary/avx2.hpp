#pragma once
// bitnet and ternary on AVX2.
//
// bitnet, 4 trits per byte, many blocks at a time (a chunk): digit k of every packed byte v,
// D_k[j] = (v_j / 3^k) % 3 = t + 1, is one register per k, so D_k's byte j is weight 4j + k. The
// activations are permuted to match once per chunk for all rows, X_k[j] = x[4j + k], and the
// chunk's dot is sum_k D_k . X_k: int32 lane i (bytes 4i..4i+3) holds weights 16i..16i+15, in
// block i / 2 and group i / 4. Digits are unsigned (offset 1): each lane starts at -(the sum of
// its 16 activations). The digits come from
//  - AVX-512 VBMI: one 128-byte table lookup (vpermi2b) per k, 64 bytes (256 weights) a chunk;
//  - AVX-512BW and AVX2: 16-byte lookups (vpshufb) on the two nibbles of v, 64 or 32 bytes a
//    chunk (bitnet_nibble_digits).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/kernels/trit_pack/avx2.hpp"
#include "tqlib/codec/ternary.hpp"

namespace tqlib::codec::detail {

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

// D_k of every byte of v (see bitnet_nibble_tables). vpshufb reads the low nibble of an index
// byte (v < 128: bit 7 clear), so v itself indexes the tables of l.
template <class V>
TQLIB_KERNEL_INLINE void bitnet_nibble_digits(V v, V* digit) noexcept {
  const bitnet_nibble_tables& t = bitnet_nibbles;
  const V h = byte_ops<8 * sizeof(V)>::high_nibbles(v);
  const V s = byte_ops<8 * sizeof(V)>::add8(byte_ops<8 * sizeof(V)>::lookup16(byte_ops<8 * sizeof(V)>::bytes_table(t.rem_h), h), byte_ops<8 * sizeof(V)>::lookup16(byte_ops<8 * sizeof(V)>::bytes_table(t.rem_l), v));
  const V at_least_9 = byte_ops<8 * sizeof(V)>::bytes_table(t.at_least_9);
  const V q = byte_ops<8 * sizeof(V)>::add8(byte_ops<8 * sizeof(V)>::add8(byte_ops<8 * sizeof(V)>::lookup16(byte_ops<8 * sizeof(V)>::bytes_table(t.quot_h), h), byte_ops<8 * sizeof(V)>::lookup16(at_least_9, v)), byte_ops<8 * sizeof(V)>::lookup16(at_least_9, s));
  digit[0] = byte_ops<8 * sizeof(V)>::lookup16(byte_ops<8 * sizeof(V)>::bytes_table(t.d0), s);
  digit[1] = byte_ops<8 * sizeof(V)>::lookup16(byte_ops<8 * sizeof(V)>::bytes_table(t.d1), s);
  digit[2] = byte_ops<8 * sizeof(V)>::lookup16(byte_ops<8 * sizeof(V)>::bytes_table(base3_split.low), q);
  digit[3] = byte_ops<8 * sizeof(V)>::lookup16(byte_ops<8 * sizeof(V)>::bytes_table(base3_split.high), q);
}

// -(the sum of each int32 lane's 16 activations), lane i covering byte positions 4i..4i+3 of X_k.
template <class V>
TQLIB_KERNEL_INLINE V bitnet_activation_bias(const V* x) noexcept {
  const V one = byte_ops<8 * sizeof(V)>::splat8(1);
  const V ones[4] = {one, one, one, one};
  return byte_ops<8 * sizeof(V)>::negate32(byte_ops<8 * sizeof(V)>::sum16_u8_times_i8(ones, x));
}
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

// bitnet: a block pair (b even) is one group of 64 with one scale.
template <>
struct int8_avx2_layout<bitnet_layout> {
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
    return _mm256_add_epi32(c.bias, byte_ops<256>::sum16_u8_times_i8(d.u, c.x));
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
};

// ternary: digits t + 1 of the trit stream go to the dot product as they are (unsigned, offset
// 1); a block pair (b even) is one group of 64 with one scale.
template <>
struct int8_avx2_layout<ternary_layout> {
  static constexpr int u8_offset = 1;
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return detail::decode_trit_block_avx2(row + 2 * ternary_layout::groups(cols), ternary_layout::blocks(cols), b);
  }
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_add_epi8(decode_i8(row, cols, b), _mm256_set1_epi8(1));
  }
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
    TQLIB_KERNEL_UNROLL
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
};

}  // namespace tqlib::codec::detail
