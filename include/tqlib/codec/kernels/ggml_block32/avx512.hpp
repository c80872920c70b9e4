#pragma once
// q4_1, q5_0 and q5_1 on AVX-512: the AVX2 decoders (two per register, int8_engine/avx512.hpp),
// both blocks' scales in one conversion: they lead their blocks as in q8 and q4_0.
#include <cstddef>
#include <cstdint>

#include "tqlib/codec/detail/ggml_block32.hpp"
#include "tqlib/codec/kernels/ggml_block32/avx2.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"

namespace tqlib::codec::detail {

template <bool HasMin, bool FifthBit>
struct int8_avx512_layout<ggml_block32_layout<HasMin, FifthBit>> : int8_avx2_layout<ggml_block32_layout<HasMin, FifthBit>> {
  TQLIB_KERNEL_INLINE static std::uint32_t scale_bits2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    return leading_scale_bits2<ggml_block32_layout<HasMin, FifthBit>::block_bytes>(row, b);
  }
};

}  // namespace tqlib::codec::detail
