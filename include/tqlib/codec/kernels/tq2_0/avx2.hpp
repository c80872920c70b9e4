#pragma once
// TQ2_0 on AVX2: the 2-bit codes t + 1 go to the dot product as they are (unsigned, offset 1).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/tq2_0.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_avx2_layout<tq2_0_layout> {
  static constexpr int u8_offset = 1;
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const __m256i v = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(row + (b / 8) * tq2_0_traits::block_bytes + 32 * ((b % 8) / 4)));
    const __m256i codes = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(int(2 * (b % 4)))), _mm256_set1_epi8(3));
    return _mm256_sub_epi8(codes, _mm256_set1_epi8(1));
  }
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_add_epi8(decode_i8(row, cols, b), _mm256_set1_epi8(1));
  }
};

}  // namespace tqlib::codec::detail
