#pragma once
// AVX2 register decoders of the K-quants (codec/detail/k_quant_layout.hpp): one 32-block's codes
// per register, straight from the packed bytes, going to the dot product unsigned (offset: the
// layout's centre: 8 for Q4_K, 16 for Q5_K, 32 for Q6_K).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/detail/k_quant_layout.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"

namespace tqlib::codec::detail {

// Q4_K, Q5_K: 32-block j of a super-block is the low (j even) or high nibbles of 32 bytes; Q5_K
// adds bit j of each of its 32 qh bytes as bit 4.
template <bool FifthBit>
struct int8_avx2_layout<k_quant_min_layout<FifthBit>> {
  using L = k_quant_min_layout<FifthBit>;
  static constexpr int u8_offset = L::centre;
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* sb = row + (b / 8) * L::block_bytes;
    const std::size_t j = b % 8;
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + L::qs_at + 32 * (j / 2)));
    __m256i codes = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(int(4 * (j % 2)))), _mm256_set1_epi8(0x0f));
    if constexpr (FifthBit) {
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + L::qh_at));
      const __m256i bit = _mm256_set1_epi8(char(1u << j));
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
      codes = _mm256_or_si256(codes, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
    }
    return codes;
  }
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_sub_epi8(decode_u8(row, cols, b), _mm256_set1_epi8(char(L::centre)));
  }
  // Super-block k's eight scales d * sc_j (lane j) and offsets centre * d * sc_j - dmin * m_j, the
  // 6-bit fields unpacked four at a time in 32-bit words (as k_scale_min reads them one by one).
  static constexpr std::size_t super_block = 8;
  TQLIB_KERNEL_INLINE static void super_block_scales(const std::byte* row, std::size_t k, __m256& lo, __m256& hi,
                                                     __m256& offset) noexcept {
    const std::byte* sb = row + k * L::block_bytes;
    std::uint32_t w[3];
    std::memcpy(w, sb + L::scales_at, 12);
    const std::uint32_t sc_lo = w[0] & 0x3f3f3f3fu, m_lo = w[1] & 0x3f3f3f3fu;
    const std::uint32_t sc_hi = (w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u);
    const std::uint32_t m_hi = ((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u);
    const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_setr_epi32(int(sc_lo), int(sc_hi), 0, 0)));
    const __m256 m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_setr_epi32(int(m_lo), int(m_hi), 0, 0)));
    const __m256 d = _mm256_set1_ps(f16_at(sb)), dmin = _mm256_set1_ps(f16_at(sb + 2));
    lo = hi = _mm256_mul_ps(sc, d);
    offset = _mm256_fmsub_ps(lo, _mm256_set1_ps(float(L::centre)), _mm256_mul_ps(m, dmin));
  }
};

// Q6_K: half n = (b % 8) / 4, block k = b % 4 of it: a nibble of ql (low for k < 2) and bits
// 2k, 2k + 1 of qh as bits 4, 5. 16-bit shifts are safe: each byte's bits land inside it before
// the mask.
template <>
struct int8_avx2_layout<q6_k_block_layout> {
  using L = q6_k_block_layout;
  static constexpr int u8_offset = L::centre;
  TQLIB_KERNEL_INLINE static __m256i decode_u8(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* sb = row + (b / 8) * L::block_bytes;
    const std::size_t n = (b % 8) / 4, k = b % 4;
    const __m256i ql = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + L::ql_at + 64 * n + 32 * (k % 2)));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + L::qh_at + 32 * n));
    const __m256i low = _mm256_and_si256(_mm256_srl_epi16(ql, _mm_cvtsi32_si128(int(4 * (k / 2)))), _mm256_set1_epi8(0x0f));
    // bits 2k, 2k+1 to 4, 5: left by 4 - 2k (k <= 2) or right by 2 (k = 3).
    const __m256i moved = k < 3 ? _mm256_sll_epi16(qh, _mm_cvtsi32_si128(int(4 - 2 * k))) : _mm256_srli_epi16(qh, 2);
    return _mm256_or_si256(low, _mm256_and_si256(moved, _mm256_set1_epi8(0x30)));
  }
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    return _mm256_sub_epi8(decode_u8(row, cols, b), _mm256_set1_epi8(char(L::centre)));
  }
  // Super-block k's sixteen int8 scales times d: lane j of lo / hi is 32-block j's first / second 16.
  static constexpr std::size_t super_block = 8;
  TQLIB_KERNEL_INLINE static void super_block_scales(const std::byte* row, std::size_t k, __m256& lo, __m256& hi,
                                                     __m256& offset) noexcept {
    const std::byte* sb = row + k * L::block_bytes;
    const __m128i sc = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + L::scales_at)),
                                        _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
    const __m256 d = _mm256_set1_ps(f16_at(sb + L::d_at));
    lo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc)), d);
    hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8))), d);
    offset = _mm256_setzero_ps();
  }
};

}  // namespace tqlib::codec::detail
