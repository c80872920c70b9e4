#pragma once
#include <cstring>

#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/tq1_0.hpp"

namespace tqlib::codec {

namespace detail {
#if TQLIB_INT8_VBMI
// TQ1_0 with VBMI, one 256-block (8 activation blocks) at a time: its 52 trit bytes in one load,
// D_n = digit n of each (trit_digits_vbmi) holds element e(n, m) at byte m (tq1_0.hpp's order:
// m < 32: 32n + m; m < 48: 160 + 16n + m - 32; m < 52 and n < 4: 240 + 4n + m - 48). The
// activations are gathered into that order (X_n[m] = x[e(n, m)], 0 where no element is), once per
// matvec for all rows.
struct tq1_0_vbmi_tables {
  alignas(64) std::uint8_t index[5][64];  // e(n, m) % 128
  std::uint64_t upper[5], valid[5];       // bytes with e >= 128; bytes holding an element
  alignas(64) std::int32_t block[5][16];  // activation block of each int32 lane (0 where none)
};
inline constexpr tq1_0_vbmi_tables tq1_0_vbmi = [] {
  tq1_0_vbmi_tables t{};
  for (std::size_t n = 0; n < 5; ++n)
    for (std::size_t m = 0; m < 64; ++m) {
      std::size_t e = 256;
      if (m < 32) e = 32 * n + m;
      else if (m < 48) e = 160 + 16 * n + m - 32;
      else if (m < 52 && n < 4) e = 240 + 4 * n + m - 48;
      if (e < 256) {
        t.index[n][m] = std::uint8_t(e % 128);
        if (e >= 128) t.upper[n] |= std::uint64_t(1) << m;
        t.valid[n] |= std::uint64_t(1) << m;
        t.block[n][m / 4] = std::int32_t(e / 32);
      }
    }
  return t;
}();
#endif

// TQ1_0: digits t + 1 go to the dot product as they are (unsigned, offset 1; the -1 of the
// layout's decoder folds away); a block pair (b even) shares the 256-block's scale.
template <class Arch>
struct int8_simd_layout<tq1_0_layout, Arch> {
  static constexpr int u8_offset = 1;
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + (b / 8) * tq1_0_traits::block_bytes + 52, 2);
    return std::uint32_t(s) * 0x10001u;
  }
#if TQLIB_INT8_AVX2
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_add_epi8(tq1_0_layout::decode_avx2<Arch>(row, cols, b), _mm256_set1_epi8(1));
  }
#endif
#if TQLIB_INT8_VBMI
  static constexpr std::size_t chunk_blocks = 8;
  TQLIB_KERNEL_INLINE static std::size_t chunk_end(std::size_t, std::size_t blocks) noexcept { return blocks; }
  struct chunk_x {
    __m512i x[5], bias[5];  // X_n, and -(sum of each lane's activations): digits are t + 1
    __m512 d[5];            // activation scale of each lane's block
  };
  TQLIB_KERNEL_INLINE static chunk_x chunk_activations(const act_view& a, std::size_t, std::size_t b) noexcept {
    const std::int8_t* q = a.q + 32 * b;
    const __m512i q0 = _mm512_loadu_si512(q), q1 = _mm512_loadu_si512(q + 64);
    const __m512i q2 = _mm512_loadu_si512(q + 128), q3 = _mm512_loadu_si512(q + 192);
    const __m512 d8 = _mm512_castps256_ps512(_mm256_loadu_ps(a.d + b));
    chunk_x c;
    for (std::size_t n = 0; n < 5; ++n) {
      const __m512i idx = _mm512_load_si512(tq1_0_vbmi.index[n]);
      const __m512i x = _mm512_mask_blend_epi8(_cvtu64_mask64(tq1_0_vbmi.upper[n]), _mm512_permutex2var_epi8(q0, idx, q1),
                                               _mm512_permutex2var_epi8(q2, idx, q3));
      c.x[n] = _mm512_maskz_mov_epi8(_cvtu64_mask64(tq1_0_vbmi.valid[n]), x);
      c.bias[n] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), c.x[n]));
      c.d[n] = _mm512_permutexvar_ps(_mm512_load_si512(tq1_0_vbmi.block[n]), d8);
    }
    return c;
  }
  TQLIB_KERNEL_INLINE static __m512i chunk_bytes(const std::byte* row, std::size_t b) noexcept {
    return _mm512_maskz_loadu_epi8((std::uint64_t(1) << 52) - 1, row + (b / 8) * tq1_0_traits::block_bytes);
  }
  // What a row's chunk (one 256-block) needs whatever the activations: its digits n < 5 (the order
  // of X_n) and its scale.
  struct chunk_decoded {
    __m512i u[5];
    __m512 w;
  };
  TQLIB_KERNEL_INLINE static chunk_decoded chunk_decode(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const __m512i f = chunk_bytes(row, b);
    const __mmask64 high = _mm512_movepi8_mask(f);
    chunk_decoded d;
    TQLIB_INT8_UNROLL
    for (std::size_t n = 0; n < 5; ++n) d.u[n] = trit_digits_vbmi(f, high, trit_digit_table.digit[0][n]);
    std::uint16_t h;
    std::memcpy(&h, row + (b / 8) * tq1_0_traits::block_bytes + 52, 2);
    d.w = _mm512_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
    return d;
  }
  TQLIB_KERNEL_INLINE static __m512 chunk_apply(const chunk_decoded& d, const chunk_x& c, __m512 acc) noexcept {
    TQLIB_INT8_UNROLL
    for (std::size_t n = 0; n < 5; ++n) {
      const __m512i s = _mm512_dpbusd_epi32(c.bias[n], d.u[n], c.x[n]);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d.w, c.d[n]), acc);
    }
    return acc;
  }
  TQLIB_KERNEL_INLINE static void chunk_block_dots(const std::byte* row, std::size_t, std::size_t b, const chunk_x& c,
                                                   std::size_t, std::int32_t* out) noexcept {
    const chunk_decoded d = chunk_decode(row, 0, b);
    for (std::size_t j = 0; j < 8; ++j) out[j] = 0;
    for (std::size_t n = 0; n < 5; ++n) {
      alignas(64) std::int32_t lanes[16];
      _mm512_store_si512(lanes, _mm512_dpbusd_epi32(c.bias[n], d.u[n], c.x[n]));
      for (std::size_t i = 0; i < 16; ++i) out[tq1_0_vbmi.block[n][i]] += lanes[i];
    }
  }
#endif
};
}  // namespace detail

TQLIB_INT8_KERNEL_DEFINITIONS(tq1_0_kernels, tq1_0_layout)
}  // namespace tqlib::codec
