#pragma once
// q8 on AVX2: the block's signed bytes are the weights.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/q8.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_avx2_layout<q8_layout> {
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + b * q8_traits::block_bytes + 2));
  }
};

}  // namespace tqlib::codec::detail
