#pragma once
// TQ1_0 on AVX-512: a block pair (b even) shares the 256-block's scale, and whole 256-blocks go
// as chunks.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/kernels/trit_pack/avx512.hpp"
#include "tqlib/codec/kernels/tq1_0/avx2.hpp"
#include "tqlib/codec/tq1_0.hpp"

namespace tqlib::codec::detail {

// TQ1_0 with AVX-512BW, one 256-block (8 activation blocks) at a time: its 52 trit bytes in one
// load, D_n = digit n of each (trit_digits) holds element e(n, m) at byte m (tq1_0.hpp's order:
// m < 32: 32n + m; m < 48: 160 + 16n + m - 32; m < 52 and n < 4: 240 + 4n + m - 48), so X_n, the
// activations in that order, is three contiguous runs of x (0 where no element is), put together
// once per chunk for all rows.
struct tq1_0_chunk_tables {
  alignas(64) std::int32_t block[5][16];  // activation block of each int32 lane of X_n (0 where none)
};
inline constexpr tq1_0_chunk_tables tq1_0_chunk = [] {
  tq1_0_chunk_tables t{};
  for (std::size_t n = 0; n < 5; ++n)
    for (std::size_t m = 0; m < 52; ++m) {
      const std::size_t e = m < 32 ? 32 * n + m : m < 48 ? 160 + 16 * n + m - 32 : 240 + 4 * n + m - 48;
      if (m < 48 || n < 4) t.block[n][m / 4] = std::int32_t(e / 32);
    }
  return t;
}();
template <>
struct int8_avx512_layout<tq1_0_layout> : int8_avx2_layout<tq1_0_layout> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + (b / 8) * tq1_0_traits::block_bytes + 52, 2);
    return std::uint32_t(s) * 0x10001u;
  }
  static constexpr std::size_t chunk_blocks = 8;
  TQLIB_KERNEL_INLINE static std::size_t chunk_end(std::size_t, std::size_t blocks) noexcept { return blocks; }
  struct chunk_x {
    __m512i x[5], bias[5];  // X_n, and -(sum of each lane's activations): digits are t + 1
    __m512 d[5];            // activation scale of each lane's block
  };
  TQLIB_KERNEL_INLINE static chunk_x chunk_activations(const act_view& a, std::size_t, std::size_t b) noexcept {
    const std::int8_t* q = a.q + 32 * b;
    const __m512 d8 = _mm512_castps256_ps512(_mm256_loadu_ps(a.d + b));
    chunk_x c;
    for (std::size_t n = 0; n < 5; ++n) {
      std::int32_t last = 0;  // bytes 48-51
      if (n < 4) std::memcpy(&last, q + 240 + 4 * n, 4);
      const __m256i upper = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 160 + 16 * n))),
                                                    _mm_cvtsi32_si128(last), 1);
      c.x[n] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32 * n))), upper, 1);
      c.bias[n] = _mm512_sub_epi32(_mm512_setzero_si512(), dot_u8_i8(_mm512_setzero_si512(), _mm512_set1_epi8(1), c.x[n]));
      c.d[n] = _mm512_permutexvar_ps(_mm512_load_si512(tq1_0_chunk.block[n]), d8);
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
    const trit_bytes64 f = trit_bytes(chunk_bytes(row, b));
    chunk_decoded d;
    trit_all_digits(f, d.u);
    std::uint16_t h;
    std::memcpy(&h, row + (b / 8) * tq1_0_traits::block_bytes + 52, 2);
    d.w = _mm512_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
    return d;
  }
  TQLIB_KERNEL_INLINE static __m512 chunk_apply(const chunk_decoded& d, const chunk_x& c, __m512 acc) noexcept {
    TQLIB_KERNEL_UNROLL
    for (std::size_t n = 0; n < 5; ++n) {
      const __m512i s = dot_u8_i8(c.bias[n], d.u[n], c.x[n]);
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
      _mm512_store_si512(lanes, dot_u8_i8(c.bias[n], d.u[n], c.x[n]));
      for (std::size_t i = 0; i < 16; ++i) out[tq1_0_chunk.block[n][i]] += lanes[i];
    }
  }
};

}  // namespace tqlib::codec::detail
