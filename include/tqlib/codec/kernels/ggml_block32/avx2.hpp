#pragma once
// The AVX2 register decoder that q4_1, q5_0 and q5_1 share (their layout is one template,
// codec/detail/ggml_block32.hpp): a block's 32 unsigned codes, nibble | fifth bit << 4, in one
// register; the codes go to the dot product as they are (offset: the layout's centre).
#include <cstddef>
#include <cstdint>

#include "tqlib/codec/detail/ggml_block32.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"

namespace tqlib::codec::detail {

template <bool HasMin, bool FifthBit>
struct int8_avx2_layout<ggml_block32_layout<HasMin, FifthBit>> {
  using L = ggml_block32_layout<HasMin, FifthBit>;
  static constexpr int u8_offset = L::centre;
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* blk = row + b * L::block_bytes;
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + L::qs_at));
    const __m128i mask = _mm_set1_epi8(0x0f);
    __m256i codes = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, mask)),
                                            _mm_and_si128(_mm_srli_epi16(v, 4), mask), 1);
    if constexpr (FifthBit) {
      // Bit j of qh to byte j: byte k of qh spread over bytes 8k..8k+7, each tested against its bit.
      const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(int(L::high_bits(blk))),
                                                 _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL, 0x0303030303030303LL));
      const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
      codes = _mm256_or_si256(codes, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
    }
    return codes;
  }
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_sub_epi8(decode_u8(row, cols, b), _mm256_set1_epi8(char(L::centre)));
  }
};

}  // namespace tqlib::codec::detail
