#pragma once
#include <cstring>

#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/q8.hpp"

namespace tqlib::codec {

namespace detail {
// q8: both f16 scales of a block pair in one register conversion.
template <class Arch>
struct int8_simd_layout<q8_layout, Arch> {
#if TQLIB_INT8_AVX2
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + b * q8_traits::block_bytes + 2));
  }
#endif
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s0, s1;
    std::memcpy(&s0, row + b * q8_traits::block_bytes, 2);
    std::memcpy(&s1, row + (b + 1) * q8_traits::block_bytes, 2);
    return std::uint32_t(s0) | std::uint32_t(s1) << 16;
  }
};
}  // namespace detail

#ifdef TQLIB_KERNEL_ARCH
template struct detail::int8_kernels<TQLIB_KERNEL_ARCH, q8_layout>;
#endif
}  // namespace tqlib::codec
