#pragma once
// trit2 on AVX2: each weight is digit 2b and 3 x digit 2b + 1 of the trit stream, q + 4 in 0..8.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/kernels/trit_pack/avx2.hpp"
#include "tqlib/codec/trit.hpp"

namespace tqlib::codec::detail {

// digit a + 3 digit a + 1 of every byte (a < 4) by multiplies: 3 digit a + digit a + 1 = p from
// trit_leading, and a 16-entry vpshufb swaps the digits (p % 3 * 3 + p / 3).
template <class V>
TQLIB_KERNEL_INLINE V trit2_pair_by_multiply(V f, V odd, std::size_t a) noexcept {
  alignas(16) static constexpr std::uint8_t swap[16] = {0, 3, 6, 1, 4, 7, 2, 5, 8};
  return byte_ops<8 * sizeof(V)>::lookup16(byte_ops<8 * sizeof(V)>::bytes_table(swap), trit_leading(f, odd, a, 9));
}

template <>
struct int8_avx2_layout<trit2_layout> {
  // The block's 32 signed digits in a register, straight from the packed bytes.
  TQLIB_KERNEL_INLINE static __m256i decode_i8(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    const std::byte* stream = row + trit2_layout::stream_offset(cols);
    const std::size_t n = 2 * trit2_layout::blocks(cols);
    __m256i q = _mm256_setzero_si256();
    for (int k = 1; k >= 0; --k) {
      const __m256i t = detail::decode_trit_block_avx2(stream, n, 2 * b + std::size_t(k));
      q = _mm256_add_epi8(_mm256_add_epi8(q, _mm256_add_epi8(q, q)), t);
    }
    return q;
  }
  // AVX2: 5 blocks (two packs, P0 and P1) a chunk, each block's u (trit2_pair_by_multiply) in one
  // register in element order: blocks 0 and 1 are digits (0, 1) and (2, 3) of P0, block 2 digit 4 of P0 and digit 0 of
  // P1, blocks 3 and 4 digits (1, 2) and (3, 4) of P1. Chunks cover whole pairs of packs; the
  // blocks after them go one at a time.
  using L = trit_layout<2>;
  static constexpr std::size_t chunk_blocks = 5;
  TQLIB_KERNEL_INLINE static std::size_t chunk_end(std::size_t cols, std::size_t) noexcept { return 2 * L::blocks(cols) / 10 * 5; }
  using chunk_x = five_blocks_x;
  TQLIB_KERNEL_INLINE static chunk_x chunk_activations(const act_view& a, std::size_t, std::size_t b) noexcept {
    return load_five_blocks(a, b, 5);  // -128 * sum >> 5 = -4 * sum: the offset of u = q + 4
  }
  // What a row's chunk needs whatever the activations: u of its blocks, and lane j < 5 of lo / hi
  // the scales of the two groups of block b + j.
  struct chunk_decoded {
    __m256i u[5];
    __m256 lo, hi;
  };
  TQLIB_KERNEL_INLINE static chunk_decoded chunk_decode(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    const std::byte* p = row + L::stream_offset(cols) + 32 * (2 * b / 5);
    const trit_bytes32 p0 = trit_bytes(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    const trit_bytes32 p1 = trit_bytes(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
    chunk_decoded d;
    d.u[0] = trit2_pair_by_multiply(p0.f, p0.odd, 0);
    d.u[1] = trit2_pair_by_multiply(p0.f, p0.odd, 2);
    d.u[2] = _mm256_add_epi8(trit_leading(p0.f, p0.odd, 4, 3), trit_digits_times3(p1.f, p1.odd, 0));
    d.u[3] = trit2_pair_by_multiply(p1.f, p1.odd, 1);
    d.u[4] = trit2_pair_by_multiply(p1.f, p1.odd, 3);
    // Code byte b + j holds groups 2(b + j) (low nibble) and 2(b + j) + 1; 8 read (the stream
    // follows the codes in the row). trit_group_scale[k] from two 8-entry permutes, on bit 3 of k.
    float s_row;
    std::memcpy(&s_row, row, 4);
    const __m256i codes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + 4 + b)));
    const __m256 t_lo = _mm256_mul_ps(_mm256_loadu_ps(trit_group_scale.data()), _mm256_set1_ps(s_row));
    const __m256 t_hi = _mm256_mul_ps(_mm256_loadu_ps(trit_group_scale.data() + 8), _mm256_set1_ps(s_row));
    const auto scale_of = [&](__m256i k) {
      return _mm256_blendv_ps(_mm256_permutevar8x32_ps(t_lo, k), _mm256_permutevar8x32_ps(t_hi, k), _mm256_castsi256_ps(_mm256_slli_epi32(k, 28)));
    };
    d.lo = scale_of(_mm256_and_si256(codes, _mm256_set1_epi32(15)));
    d.hi = scale_of(_mm256_srli_epi32(codes, 4));
    return d;
  }
  TQLIB_KERNEL_INLINE static __m256 chunk_apply(const chunk_decoded& d, const chunk_x& c, __m256 acc) noexcept {
    // Times the blocks' activation scales once; then block j's lanes 0-3 take lo[j], 4-7 hi[j].
    const __m256 lo = _mm256_mul_ps(d.lo, c.d), hi = _mm256_mul_ps(d.hi, c.d);
    TQLIB_KERNEL_UNROLL
    for (std::size_t j = 0; j < 5; ++j) {
      const __m256i at = _mm256_set1_epi32(int(j));
      const __m256 scale = _mm256_blend_ps(_mm256_permutevar8x32_ps(lo, at), _mm256_permutevar8x32_ps(hi, at), 0xf0);
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_u8_i8(c.bias[j], d.u[j], c.x[j])), scale, acc);
    }
    return acc;
  }
  TQLIB_KERNEL_INLINE static void chunk_block_dots(const std::byte* row, std::size_t cols, std::size_t b, const chunk_x& c,
                                                   std::size_t count, std::int32_t* out) noexcept {
    five_block_dots(chunk_decode(row, cols, b).u, c, count, out);
  }
};

}  // namespace tqlib::codec::detail
