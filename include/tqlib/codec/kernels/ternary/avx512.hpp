#pragma once
// bitnet and ternary on AVX-512 (BW; VNNI and VBMI where the target has them): the chunks of
// ternary/avx2.hpp on 512-bit registers, with table lookups (vpermi2b) for the digits under VBMI.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/kernels/ternary/avx2.hpp"
#include "tqlib/codec/kernels/trit_pack/avx512.hpp"
#include "tqlib/codec/ternary.hpp"

namespace tqlib::codec::detail {

// bitnet's digit tables and activation spread for VBMI's byte permutes.
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
// Without VBMI:
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

template <>
struct int8_avx512_layout<bitnet_layout> : int8_avx2_layout<bitnet_layout> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + 2 * (b / 2), 2);
    return std::uint32_t(s) * 0x10001u;
  }
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
#if TQLIB_ISA_VBMI
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
#if TQLIB_ISA_VBMI
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
#if TQLIB_ISA_VNNI
    __m512i s = c.bias;
    for (int k = 0; k < 4; ++k) s = _mm512_dpbusd_epi32(s, d.u[k], c.x[k]);
    return s;
#else
    return _mm512_add_epi32(c.bias, byte_ops<512>::sum16_u8_times_i8(d.u, c.x));
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
};

// ternary with AVX-512BW (below): 10 blocks, two 32-byte packs of 5 in one 64-byte load, at a
// time; D_n, digit n of all 64 bytes (trit_digits: table lookups with VBMI, else multiplies), holds
// blocks n and 5 + n of the chunk, each in order. The activations and their bias are paired the
// same way, once per chunk for all rows.

template <>
struct int8_avx512_layout<ternary_layout> : int8_avx2_layout<ternary_layout> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + 2 * (b / 2), 2);
    return std::uint32_t(s) * 0x10001u;
  }
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
    TQLIB_KERNEL_UNROLL
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
};

}  // namespace tqlib::codec::detail
