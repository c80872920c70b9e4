#pragma once
// q4_0 on AVX-512: two blocks' nibbles per register, both scales in one conversion.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/q4_0.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_avx512_layout<q4_0_layout> : int8_avx2_layout<q4_0_layout> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    return leading_scale_bits2<q4_0_traits::block_bytes>(row, b);
  }
  // Blocks b, b + 1: 128-bit quarters {qs_b, qs_b, qs_b+1, qs_b+1}, the odd quarters shifted by
  // 4, then the low nibble of every byte: {low_b, high_b, low_b+1, high_b+1} as ggml orders them.
  TQLIB_KERNEL_INLINE static __m512i decode2_u8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* qs = row + b * q4_0_traits::block_bytes + 2;
    const __m256i both = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + q4_0_traits::block_bytes)), 1);
    const __m512i spread = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(both));
    const long long four = 0x0004000400040004LL;
    const __m512i shifted = _mm512_srlv_epi16(spread, _mm512_setr_epi64(0, 0, four, four, 0, 0, four, four));
    return _mm512_and_si512(shifted, _mm512_set1_epi8(0x0f));
  }
};

}  // namespace tqlib::codec::detail
