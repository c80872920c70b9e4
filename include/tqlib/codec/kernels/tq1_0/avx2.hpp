#pragma once
// TQ1_0 on AVX2: digits t + 1 go to the dot product as they are (unsigned, offset 1; the -1 of
// the layout's decoder folds away), one block per register.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/kernels/trit_pack/avx2.hpp"
#include "tqlib/codec/tq1_0.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_avx2_layout<tq1_0_layout> {
  static constexpr int u8_offset = 1;
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* blk = row + (b / 8) * tq1_0_traits::block_bytes;
    const std::size_t s = b % 8;
    __m256i bytes, mul;
    if (s < 5) {  // 32 bytes of qs, one digit
      bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk));
      mul = _mm256_set1_epi8(char(detail::pow3[s]));
    } else {  // qs[32..47] twice (two digits), or once plus qh for the last 16 elements
      const __m128i q16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 32));
      if (s < 7) {
        bytes = _mm256_inserti128_si256(_mm256_castsi128_si256(q16), q16, 1);
        const int n = 2 * int(s - 5);
        mul = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi8(char(detail::pow3[n]))),
                                      _mm_set1_epi8(char(detail::pow3[n + 1])), 1);
      } else {
        std::int32_t qh;
        std::memcpy(&qh, blk + 48, 4);
        bytes = _mm256_inserti128_si256(_mm256_castsi128_si256(q16), _mm_set1_epi32(qh), 1);
        mul = _mm256_setr_epi8(81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81, 81,  //
                               1, 1, 1, 1, 3, 3, 3, 3, 9, 9, 9, 9, 27, 27, 27, 27);
      }
    }
    return _mm256_sub_epi8(detail::trit_digits_avx2(bytes, mul), _mm256_set1_epi8(1));
  }
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_add_epi8(decode_i8(row, cols, b), _mm256_set1_epi8(1));
  }
};

}  // namespace tqlib::codec::detail
