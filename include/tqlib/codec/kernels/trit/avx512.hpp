#pragma once
// trit2 with AVX-512BW, 10 blocks (20 stream blocks: four 32-byte packs) at a time. Block j of the
// chunk is stream blocks 2j (digit 0) and 2j + 1 (digit 1, times 3), so with Z1 = packs 0 | 2 and
// Z2 = packs 1 | 3 in one register each, blocks j and j + 5 sit at the same digit positions of the
// two halves, and u = digit_{2j % 5} + 3 digit_{(2j + 1) % 5} is q + 4 in 0..8 for both blocks.
// For j = 0, 1, 3, 4 both digits are adjacent positions of the same byte (trit2_pair); block 2
// straddles Z1 and Z2 (digit 4 of one, digit 0 of the other): two digit positions and an add. The
// activations and their bias (offset 4) are paired the same way once per chunk for all rows; a
// row's 16-weight group scales come from its codes with one vpermps each into trit_group_scale,
// times the blocks' activation scales.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/kernels/trit/avx2.hpp"
#include "tqlib/codec/kernels/trit_pack/avx512.hpp"
#include "tqlib/codec/trit.hpp"

namespace tqlib::codec::detail {

// pair[a][f] = digit a + 3 * digit a + 1 of byte f (trit_digit's arithmetic, canonical byte or not).
struct trit2_pair_tables {
  alignas(64) std::uint8_t pair[4][256];
};
inline constexpr trit2_pair_tables trit2_pair_table = [] {
  trit2_pair_tables t{};
  for (std::size_t a = 0; a < 4; ++a)
    for (unsigned f = 0; f < 256; ++f)
      t.pair[a][f] = std::uint8_t(trit_digit(std::uint8_t(f), a) + 3 * trit_digit(std::uint8_t(f), a + 1));
  return t;
}();

// digit a + 3 digit a + 1 of every byte (a < 4): one table lookup with VBMI; else the multiply
// gives 3 digit a + digit a + 1 = p, and a 16-entry vpshufb swaps the digits (p % 3 * 3 + p / 3).
TQLIB_KERNEL_INLINE __m512i trit2_pair(const trit_bytes64& z, std::size_t a) noexcept {
#if TQLIB_ISA_VBMI
  return trit_lookup(z, trit2_pair_table.pair[a]);
#else
  return trit2_pair_by_multiply(z.f, z.odd, a);
#endif
}

template <>
struct int8_avx512_layout<trit2_layout> : int8_avx2_layout<trit2_layout> {
  using L = trit_layout<2>;
  static constexpr std::size_t chunk_blocks = 10;
  // Blocks whose two stream blocks are both in packs: the last chunk may have 1, 2 or 3 of its 4
  // packs, and then 2, 5 or 7 blocks; its other lanes are left at zero. When the stream ends in a
  // one-block tail (2 * blocks % 5 == 1, e.g. 896 columns), that tail block is digit 1 of the row's
  // last block and the pack it would start sits at an odd position of the last chunk (pack index 1
  // or 3: digit 0 of Z2's lower or upper half), so the chunk takes it too (tail_pack) and covers
  // the whole row: 3 or 8 blocks.
  TQLIB_KERNEL_INLINE static bool one_block_tail(std::size_t cols) noexcept { return 2 * L::blocks(cols) % 5 == 1; }
  TQLIB_KERNEL_INLINE static std::size_t chunk_end(std::size_t cols, std::size_t) noexcept {
    const std::size_t packs = 2 * L::blocks(cols) / 5;
    constexpr std::size_t covered[4] = {0, 2, 5, 7};
    return 10 * (packs / 4) + covered[packs % 4] + (one_block_tail(cols) ? 1 : 0);
  }
  struct chunk_x {
    __m512i x[5], bias[5];  // activations of blocks j | 5 + j, and their offset correction
    __m512 d;               // lane i < 10: the scale of block b + i (0 past the chunk's blocks)
    std::size_t packs;      // of the chunk, 4 but in the last
    bool tail_pack;         // the last chunk, taking a one-block tail as pack `packs`
  };
  TQLIB_KERNEL_INLINE static chunk_x chunk_activations(const act_view& a, std::size_t cols, std::size_t b) noexcept {
    chunk_x c;
    const std::size_t blocks = std::min<std::size_t>(10, chunk_end(cols, a.blocks) - b);
    c.packs = std::min<std::size_t>(4, 2 * L::blocks(cols) / 5 - 2 * b / 5);
    c.tail_pack = c.packs < 4 && one_block_tail(cols);
    const auto ld = [](const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); };
    for (std::size_t j = 0; j < 5; ++j) {
      const std::size_t lo = b + j, hi = b + 5 + j;
      const bool has_lo = j < blocks, has_hi = 5 + j < blocks;
      c.x[j] = _mm512_inserti64x4(_mm512_castsi256_si512(has_lo ? ld(a.q + 32 * lo) : _mm256_setzero_si256()),
                                  has_hi ? ld(a.q + 32 * hi) : _mm256_setzero_si256(), 1);
      // -128 * sum >> 5 = -4 * sum: the offset of u = q + 4
      c.bias[j] = _mm512_srai_epi32(_mm512_inserti64x4(_mm512_castsi256_si512(has_lo ? ld(a.bias4 + 8 * lo) : _mm256_setzero_si256()),
                                                       has_hi ? ld(a.bias4 + 8 * hi) : _mm256_setzero_si256(), 1),
                                    5);
    }
    c.d = _mm512_maskz_loadu_ps(__mmask16((1u << blocks) - 1), a.d + b);
    return c;
  }
  struct chunk_w {
    trit_bytes64 z1, z2;
  };
  // 32 bytes whose digit 0 is the one-block tail's digits (the tail's trit m is digit m % 5 of its
  // byte m / 5, trit_pack.hpp): 0, 86 and 171 are the fixed-point bytes of digit 0 = 0, 1, 2 (their
  // other digits are 0, meeting only zero activations).
  TQLIB_KERNEL_INLINE static __m256i tail_as_pack(const std::byte* tail) noexcept {
    const __m256i digits = trit_tail_digits_avx2(_mm256_broadcastsi128_si256(_mm_maskz_loadu_epi8(0x7f, tail)), 0);  // 7 bytes
    const __m256i to_byte = _mm256_setr_epi8(0, 86, char(171), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                             0, 86, char(171), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm256_shuffle_epi8(to_byte, digits);
  }
  TQLIB_KERNEL_INLINE static chunk_w chunk_weights(const std::byte* row, std::size_t cols, std::size_t b, std::size_t packs,
                                                   bool tail_pack) noexcept {
    const std::byte* p = row + L::stream_offset(cols) + 32 * (2 * b / 5);
    const auto ld = [](const std::byte* q) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)); };
    __m512i z1, z2;
    if (packs == 4) [[likely]] {
      z1 = _mm512_inserti64x4(_mm512_castsi256_si512(ld(p)), ld(p + 64), 1);
      z2 = _mm512_inserti64x4(_mm512_castsi256_si512(ld(p + 32)), ld(p + 96), 1);
    } else {  // the packs past the stream's read as zero bytes (their lanes' activations are 0)
      const __m256i zero = _mm256_setzero_si256();
      const __m256i tail = tail_pack ? tail_as_pack(p + 32 * packs) : zero;  // pack index 1 or 3
      z1 = _mm512_inserti64x4(_mm512_castsi256_si512(ld(p)), packs > 2 ? ld(p + 64) : zero, 1);
      z2 = _mm512_inserti64x4(_mm512_castsi256_si512(packs > 1 ? ld(p + 32) : tail), packs == 3 ? tail : zero, 1);
    }
    return {trit_bytes(z1), trit_bytes(z2)};
  }
  // u = q + 4 of blocks b + j (bytes 0-31) and b + 5 + j (bytes 32-63).
  TQLIB_KERNEL_INLINE static __m512i chunk_u(const chunk_w& w, std::size_t j) noexcept {
    if (j == 2)  // digit 4 of Z1, digit 0 of Z2
      return _mm512_add_epi8(trit_digits(w.z1, 4), trit_digits_times3(w.z2, 0));
    // digits 2j, 2j + 1 of Z1 (j < 2) or 2j - 5, 2j - 4 of Z2
    return j < 2 ? trit2_pair(w.z1, 2 * j) : trit2_pair(w.z2, 2 * j - 5);
  }
  // Sixteen int32 lanes: blocks b + j (lanes 0-7) and b + 5 + j (lanes 8-15).
  TQLIB_KERNEL_INLINE static __m512i chunk_dot(__m512i u, std::size_t j, const chunk_x& c) noexcept {
    return dot_u8_i8(c.bias[j], u, c.x[j]);
  }
  // What a row's chunk needs whatever the activations: its u values, and lane i < 10 of lo / hi the
  // scales of the two groups of block b + i.
  struct chunk_decoded {
    __m512i u[5];
    __m512 lo, hi;
  };
  TQLIB_KERNEL_INLINE static chunk_decoded chunk_decode(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    const std::size_t packs = std::min<std::size_t>(4, 2 * L::blocks(cols) / 5 - 2 * b / 5);
    const chunk_w w = chunk_weights(row, cols, b, packs, packs < 4 && one_block_tail(cols));
    chunk_decoded d;
    TQLIB_KERNEL_UNROLL
    for (std::size_t j = 0; j < 5; ++j) d.u[j] = chunk_u(w, j);
    // Code byte b + j holds groups 2(b + j) (low nibble) and 2(b + j) + 1. 16 bytes read: the
    // stream follows the codes in the row.
    float s_row;
    std::memcpy(&s_row, row, 4);
    const __m512i codes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 4 + b)));
    const __m512 table = _mm512_mul_ps(_mm512_loadu_ps(trit_group_scale.data()), _mm512_set1_ps(s_row));
    d.lo = _mm512_permutexvar_ps(_mm512_and_si512(codes, _mm512_set1_epi32(15)), table);
    d.hi = _mm512_permutexvar_ps(_mm512_srli_epi32(codes, 4), table);
    return d;
  }
  TQLIB_KERNEL_INLINE static __m512 chunk_apply(const chunk_decoded& d, const chunk_x& c, __m512 acc) noexcept {
    // Times the blocks' activation scales once, so that each of the five steps below needs only
    // one permute to spread them.
    const __m512 lo = _mm512_mul_ps(d.lo, c.d), hi = _mm512_mul_ps(d.hi, c.d);
    TQLIB_KERNEL_UNROLL
    for (std::size_t j = 0; j < 5; ++j) {
      // lanes: 4 x group lo of block j, 4 x its hi, then the same for block j + 5
      const int l = int(j), h = int(j + 5);
      const __m512i lanes = _mm512_setr_epi32(l, l, l, l, 16 + l, 16 + l, 16 + l, 16 + l, h, h, h, h, 16 + h, 16 + h, 16 + h, 16 + h);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(chunk_dot(d.u[j], j, c)), _mm512_permutex2var_ps(lo, lanes, hi), acc);
    }
    return acc;
  }
  TQLIB_KERNEL_INLINE static void chunk_block_dots(const std::byte* row, std::size_t cols, std::size_t b, const chunk_x& c,
                                                   std::size_t count, std::int32_t* out) noexcept {
    const chunk_w w = chunk_weights(row, cols, b, c.packs, c.tail_pack);
    for (std::size_t j = 0; j < 5 && j < count; ++j) {
      const __m512i s = chunk_dot(chunk_u(w, j), j, c);
      out[j] = _mm512_mask_reduce_add_epi32(0x00ff, s);
      if (5 + j < count) out[5 + j] = _mm512_mask_reduce_add_epi32(0xff00, s);
    }
  }
};

}  // namespace tqlib::codec::detail
