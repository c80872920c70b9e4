#pragma once
#include <cstring>

#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/tq2_0.hpp"

namespace tqlib::codec {

namespace detail {
// TQ2_0: the 2-bit codes t + 1 go to the dot product as they are (unsigned, offset 1); a block
// pair (b even) is one 32-byte run of qs at two bit positions and shares the 256-block's scale.
template <class Arch>
struct int8_simd_layout<tq2_0_layout, Arch> {
#if TQLIB_INT8_AVX2
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const __m256i v = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(row + (b / 8) * tq2_0_traits::block_bytes + 32 * ((b % 8) / 4)));
    const __m256i codes = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(int(2 * (b % 4)))), _mm256_set1_epi8(3));
    return _mm256_sub_epi8(codes, _mm256_set1_epi8(1));
  }
#endif
  static constexpr int u8_offset = 1;
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + (b / 8) * tq2_0_traits::block_bytes + 64, 2);
    return std::uint32_t(s) * 0x10001u;
  }
#if TQLIB_INT8_AVX2
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_add_epi8(decode_i8(row, cols, b), _mm256_set1_epi8(1));
  }
#endif
#if TQLIB_INT8_AVX512
  TQLIB_KERNEL_INLINE static __m512i decode2_u8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* qs = row + (b / 8) * tq2_0_traits::block_bytes + 32 * ((b % 8) / 4);
    const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs)));
    const short shift = short(2 * (b % 4));
    const __m512i counts = _mm512_inserti64x4(_mm512_set1_epi16(shift), _mm256_set1_epi16(short(shift + 2)), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(v, counts), _mm512_set1_epi8(3));
  }
#endif
};
}  // namespace detail

#ifdef TQLIB_KERNEL_ARCH
template struct detail::int8_kernels<TQLIB_KERNEL_ARCH, tq2_0_layout>;
#endif
}  // namespace tqlib::codec
