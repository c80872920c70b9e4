#pragma once
// K-quants on AVX-512: a 32-block pair per register straight from the packed bytes. Blocks 2i and
// 2i + 1 of a Q4_K / Q5_K super-block are the low and high nibbles of the same 32 bytes (one load);
// Q6_K's pair (k, k + 1 of a half, k even) is 64 contiguous bytes of ql and one read of qh.
// Scales and offsets come per super-block from the AVX2 super_block_scales (int8_engine/avx512.hpp).
#include <cstddef>
#include <cstdint>

#include "tqlib/codec/detail/k_quant_layout.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/kernels/k_quants/avx2.hpp"

namespace tqlib::codec::detail {

template <bool FifthBit>
struct int8_avx512_layout<k_quant_min_layout<FifthBit>> : int8_avx2_layout<k_quant_min_layout<FifthBit>> {
  using L = k_quant_min_layout<FifthBit>;
  TQLIB_KERNEL_INLINE static __m512i decode2_u8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* sb = row + (b / 8) * L::block_bytes;
    const unsigned j = unsigned(b % 8);  // even
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + L::qs_at + 16 * j));
    __m512i codes = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1), _mm512_set1_epi8(0x0f));
    if constexpr (FifthBit) {
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + L::qh_at));
      const __m512i bits = _mm512_inserti64x4(_mm512_set1_epi8(char(1u << j)), _mm256_set1_epi8(char(1u << (j + 1))), 1);
      const __mmask64 set = _mm512_test_epi8_mask(_mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1), bits);
      codes = _mm512_mask_add_epi8(codes, set, codes, _mm512_set1_epi8(0x10));
    }
    return codes;
  }
};

template <>
struct int8_avx512_layout<q6_k_block_layout> : int8_avx2_layout<q6_k_block_layout> {
  using L = q6_k_block_layout;
  TQLIB_KERNEL_INLINE static __m512i decode2_u8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* sb = row + (b / 8) * L::block_bytes;
    const unsigned n = unsigned((b % 8) / 4), k = unsigned(b % 4);  // k even: blocks k, k + 1 of half n
    const __m512i ql = _mm512_loadu_si512(sb + L::ql_at + 64 * n);
    const __m512i low = _mm512_and_si512(_mm512_srl_epi16(ql, _mm_cvtsi32_si128(int(2 * k))), _mm512_set1_epi8(0x0f));
    // Bits 2k, 2k + 1 (block k) and 2k + 2, 2k + 3 (block k + 1) of each qh byte to bits 4, 5.
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + L::qh_at + 32 * n));
    const __m512i counts = _mm512_inserti64x4(_mm512_set1_epi16(short(2 * k)), _mm256_set1_epi16(short(2 * k + 2)), 1);
    const __m512i two = _mm512_and_si512(_mm512_srlv_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1), counts), _mm512_set1_epi8(0x03));
    return _mm512_or_si512(low, _mm512_slli_epi16(two, 4));
  }
};

}  // namespace tqlib::codec::detail
