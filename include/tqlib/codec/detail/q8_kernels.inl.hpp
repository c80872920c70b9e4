#pragma once
#include <cstring>

#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/q8.hpp"

namespace tqlib::codec {

namespace detail {
// q8: both f16 scales of a block pair in one register conversion.
template <class Arch>
struct int8_simd_layout<q8_layout, Arch> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s0, s1;
    std::memcpy(&s0, row + b * q8_traits::block_bytes, 2);
    std::memcpy(&s1, row + (b + 1) * q8_traits::block_bytes, 2);
    return std::uint32_t(s0) | std::uint32_t(s1) << 16;
  }
};
}  // namespace detail

TQLIB_INT8_KERNEL_DEFINITIONS(q8_kernels, q8_layout)
}  // namespace tqlib::codec
