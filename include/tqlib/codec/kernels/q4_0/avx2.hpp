#pragma once
// q4_0 on AVX2: the nibbles q = w + 8 go to the dot product as they are (unsigned, offset 8).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/q4_0.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_avx2_layout<q4_0_layout> {
  static constexpr int u8_offset = 8;
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + b * q4_0_traits::block_bytes + 2));
    const __m128i mask = _mm_set1_epi8(0x0f);
    const __m256i nibbles = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, mask)),
                                                    _mm_and_si128(_mm_srli_epi16(v, 4), mask), 1);
    return _mm256_sub_epi8(nibbles, _mm256_set1_epi8(8));
  }
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_add_epi8(decode_i8(row, cols, b), _mm256_set1_epi8(8));
  }
};

}  // namespace tqlib::codec::detail
