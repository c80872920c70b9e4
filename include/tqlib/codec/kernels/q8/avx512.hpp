#pragma once
// q8 on AVX-512: both f16 scales of a block pair in one register conversion.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/q8.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_avx512_layout<q8_layout> : int8_avx2_layout<q8_layout> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    std::uint16_t s0, s1;
    std::memcpy(&s0, row + b * q8_traits::block_bytes, 2);
    std::memcpy(&s1, row + (b + 1) * q8_traits::block_bytes, 2);
    return std::uint32_t(s0) | std::uint32_t(s1) << 16;
  }
};

}  // namespace tqlib::codec::detail
