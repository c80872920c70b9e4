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
    return leading_scale_bits2<q8_traits::block_bytes>(row, b);
  }
};

}  // namespace tqlib::codec::detail
