#pragma once
#include <cstring>

#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/tq1_0.hpp"

namespace tqlib::codec {

namespace detail {
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
};
}  // namespace detail

TQLIB_INT8_KERNEL_DEFINITIONS(tq1_0_kernels, tq1_0_layout)
}  // namespace tqlib::codec
