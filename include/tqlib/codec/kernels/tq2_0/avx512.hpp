#pragma once
// TQ2_0 on AVX-512: a block pair (b even) is one 32-byte run of qs at two bit positions and shares the 256-block's scale.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/tq2_0.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_avx512_layout<tq2_0_layout> : int8_avx2_layout<tq2_0_layout> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s;
    std::memcpy(&s, row + (b / 8) * tq2_0_traits::block_bytes + 64, 2);
    return std::uint32_t(s) * 0x10001u;
  }
  TQLIB_KERNEL_INLINE static __m512i decode2_u8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* qs = row + (b / 8) * tq2_0_traits::block_bytes + 32 * ((b % 8) / 4);
    const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs)));
    const short shift = short(2 * (b % 4));
    const __m512i counts = _mm512_inserti64x4(_mm512_set1_epi16(shift), _mm256_set1_epi16(short(shift + 2)), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(v, counts), _mm512_set1_epi8(3));
  }
};

}  // namespace tqlib::codec::detail
