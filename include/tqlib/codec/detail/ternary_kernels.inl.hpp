#pragma once
#include <cstring>

#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/ternary.hpp"

namespace tqlib::codec {

namespace detail {
// bitnet: a block pair (b even) is one group of 64 with one scale.
template <class Arch>
struct int8_simd_layout<bitnet_layout, Arch> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + 2 * (b / 2), 2);
    return std::uint32_t(s) * 0x10001u;
  }
};

// ternary: digits t + 1 of the trit stream go to the dot product as they are (unsigned, offset
// 1); a block pair (b even) is one group of 64 with one scale.
template <class Arch>
struct int8_simd_layout<ternary_layout, Arch> {
  static constexpr int u8_offset = 1;
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
