#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/codec/kernels/sign_magnitude/common.hpp"

namespace tqlib::codec::detail {

// AVX2 paths: the integer values of the AVX-512 paths (same activation and codebook rounding,
// exact int32 sums, so the same results per block), with the planes decoded by byte shuffles
// instead of k-masks. Per 32 coordinates the sign word and the magnitude plane words go into one
// register, vpshufb spreads byte j / 8 of each plane to byte j, and a compare with 1 << (j % 8)
// turns it into a byte mask; byte j is coordinate g + j throughout.
//
// Bytes are multiplied by vpmaddubsw, unsigned by signed: the level's magnitude times the
// activation carrying the level's sign. With both within 127 in magnitude a pair sums to at
// most 32258, so the int16 step never saturates, and vpmaddwd by ones widens it to int32: lane k
// of the sums holds coordinates 4k..4k+3 of every 32, in the matvec and the matmul alike.

// The plane words of coordinates g..g+31 of a block in both lanes: dword 0 the sign plane's, dword
// 1 + p magnitude plane p's (zero past the codec's planes).
template <unsigned MB>
TQLIB_KERNEL_INLINE __m256i sm_avx2_plane_words(const std::byte* signs, std::size_t plane, std::size_t g) noexcept {
  __m128i words = _mm_cvtsi32_si128(int(load_le<std::uint32_t>(signs + g / 8)));
  if constexpr (MB >= 1) words = _mm_insert_epi32(words, int(load_le<std::uint32_t>(signs + plane + g / 8)), 1);
  if constexpr (MB >= 2) words = _mm_insert_epi32(words, int(load_le<std::uint32_t>(signs + 2 * plane + g / 8)), 2);
  if constexpr (MB >= 3) words = _mm_insert_epi32(words, int(load_le<std::uint32_t>(signs + 3 * plane + g / 8)), 3);
  return _mm256_broadcastsi128_si256(words);
}

// The byte masks of coordinates g..g+31 of a block: mask[0] of the negative ones, mask[1 + p]
// of those with bit p of their magnitude index set. (Reading planes of 128- and 256-blocks as
// 16-byte broadcast loads instead of gathering the words measured no faster.)
template <unsigned MB>
TQLIB_KERNEL_INLINE void sm_avx2_plane_masks(const std::byte* signs, std::size_t plane, std::size_t g, __m256i* mask) noexcept {
  const __m256i bitmask = _mm256_set1_epi64x(0x8040201008040201LL);
  const __m256i src = sm_avx2_plane_words<MB>(signs, plane, g);
  // plane q (0 sign, 1.. magnitude planes) sits in dword q of src; byte j takes byte j / 8
  for (unsigned q = 0; q <= MB; ++q) {
    const char b0 = char(4 * q), b1 = char(b0 + 1), b2 = char(b0 + 2), b3 = char(b0 + 3);
    const __m256i spread = _mm256_setr_epi8(b0, b0, b0, b0, b0, b0, b0, b0, b1, b1, b1, b1, b1, b1, b1, b1,  //
                                            b2, b2, b2, b2, b2, b2, b2, b2, b3, b3, b3, b3, b3, b3, b3, b3);
    mask[q] = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(src, spread), bitmask), bitmask);
  }
}

// The magnitude index of each byte (masks from sm_avx2_plane_masks).
template <unsigned MB>
TQLIB_KERNEL_INLINE __m256i sm_avx2_magnitude_index(const __m256i* mask) noexcept {
  __m256i index = _mm256_setzero_si256();
  if constexpr (MB >= 1) index = _mm256_and_si256(mask[1], _mm256_set1_epi8(1));
  if constexpr (MB >= 2) index = _mm256_or_si256(index, _mm256_and_si256(mask[2], _mm256_set1_epi8(2)));
  if constexpr (MB >= 3) index = _mm256_or_si256(index, _mm256_and_si256(mask[3], _mm256_set1_epi8(4)));
  return index;
}

// The 4-bit codes (sign << 3 | magnitude index) of coordinates g..g+31 as bytes.
template <unsigned MB>
TQLIB_KERNEL_INLINE __m256i sm_avx2_codes(const std::byte* signs, std::size_t plane, std::size_t g) noexcept {
#if TQLIB_ISA_GFNI
  // The fma3+avx2+gfni target: a bit-matrix transpose, as the VBMI path (sm_gfni_gather). With
  // the plane words in dwords 0..3 of both lanes (sign, magnitude planes 0, 1, 2), vpshufb puts
  // byte j of the sign plane and of magnitude planes 2, 1, 0 in bytes 4..7 of qword j (bytes 0..3
  // zero), and gf2p8affineqb with 1 << i as byte i of the vector sets bit k of output byte i to bit
  // i of qword byte 7 - k: the code of coordinate g + 8j + i. Two instructions for 32 codes.
  const __m256i transpose_input = _mm256_setr_epi8(-1, -1, -1, -1, 0, 12, 8, 4, -1, -1, -1, -1, 1, 13, 9, 5,  //
                                                   -1, -1, -1, -1, 2, 14, 10, 6, -1, -1, -1, -1, 3, 15, 11, 7);
  return _mm256_gf2p8affine_epi64_epi8(_mm256_set1_epi64x(0x8040201008040201LL),
                                       _mm256_shuffle_epi8(sm_avx2_plane_words<MB>(signs, plane, g), transpose_input), 0);
#else
  __m256i mask[4];
  sm_avx2_plane_masks<MB>(signs, plane, g, mask);
  return _mm256_or_si256(sm_avx2_magnitude_index<MB>(mask), _mm256_and_si256(mask[0], _mm256_set1_epi8(8)));
#endif
}

#if TQLIB_ISA_GFNI
// 256-blocks with GFNI: the planes (32 bytes each) are loaded whole and dword-transposed once a
// block, so that lane l of words[k] holds the plane words of coordinates 32 (k + 4l) .. +31,
// instead of gathering four words a step. Code register 2k + h then holds coordinates 32k + 16h
// + (0..15) in its low lane and 32 (k + 4) + 16h + (0..15) in its high lane: the order the
// activations of 256-blocks are stored in (sm_avx2_order).
// (A template on Arch: the AVX2 target's order differs, and it is passed by address.)
template <class Arch>
std::size_t sm_avx2_order(std::size_t i, std::size_t n) noexcept {
  if (n != 256) return i;
  const std::size_t step = i / 32, half = i % 32 / 16;
  return (2 * (step % 4) + half) * 32 + step / 4 * 16 + i % 16;
}

// Calls f(r, codes of register r) for r = 0..7 of a 256-block (planes: its sign plane).
template <unsigned MB, class F>
TQLIB_KERNEL_INLINE void sm_avx2_codes256(const std::byte* planes, F&& f) noexcept {
  auto load = [&](unsigned q) {
    return q <= MB ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(planes + 32 * q)) : _mm256_setzero_si256();
  };
  const __m256i sign = load(0), m0 = load(1), m1 = load(2), m2 = load(3);
  const __m256i t0 = _mm256_unpacklo_epi32(sign, m0), t1 = _mm256_unpacklo_epi32(m1, m2);
  const __m256i t2 = _mm256_unpackhi_epi32(sign, m0), t3 = _mm256_unpackhi_epi32(m1, m2);
  const __m256i words[4] = {_mm256_unpacklo_epi64(t0, t1), _mm256_unpackhi_epi64(t0, t1), _mm256_unpacklo_epi64(t2, t3),
                            _mm256_unpackhi_epi64(t2, t3)};
  // as in sm_avx2_codes: bytes 2h and 2h + 1 of each plane word into qwords 0 and 1 of each lane
  const __m256i transpose_input[2] = {
      _mm256_setr_epi8(-1, -1, -1, -1, 0, 12, 8, 4, -1, -1, -1, -1, 1, 13, 9, 5, -1, -1, -1, -1, 0, 12, 8, 4, -1, -1, -1, -1, 1, 13, 9, 5),
      _mm256_setr_epi8(-1, -1, -1, -1, 2, 14, 10, 6, -1, -1, -1, -1, 3, 15, 11, 7, -1, -1, -1, -1, 2, 14, 10, 6, -1, -1, -1, -1, 3, 15, 11, 7)};
  const __m256i bit_select = _mm256_set1_epi64x(0x8040201008040201LL);
  TQLIB_SM_UNROLL for (std::size_t k = 0; k < 4; ++k)
    TQLIB_SM_UNROLL for (std::size_t h = 0; h < 2; ++h)
      f(2 * k + h, _mm256_gf2p8affine_epi64_epi8(bit_select, _mm256_shuffle_epi8(words[k], transpose_input[h]), 0));
}
#else
template <class Arch>
std::size_t sm_avx2_order(std::size_t i, std::size_t) noexcept {
  return i;
}
#endif

// Calls f(codes, at) for every 32 codes of a block of n (planes: its sign plane), at being where
// their activations are stored among the block's (sm_avx2_order).
template <unsigned MB, class F>
TQLIB_KERNEL_INLINE void sm_avx2_block_codes(const std::byte* planes, std::size_t n, F&& f) noexcept {
#if TQLIB_ISA_GFNI
  if (n == 256) return sm_avx2_codes256<MB>(planes, [&](std::size_t r, __m256i code) { f(code, 32 * r); });
#endif
  for (std::size_t g = 0; g < n; g += 32) f(sm_avx2_codes<MB>(planes, n / 8, g), g);
}

TQLIB_KERNEL_INLINE float sm_sum8(__m256 v) noexcept {
  const __m128 four = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(two, _mm_movehdup_ps(two)));
}

// A block's 16-entry table of int8 levels by code (sign << 3 | magnitude index) in both lanes;
// entries 0-7 are the magnitudes.
TQLIB_KERNEL_INLINE __m256i sm_avx2_table(const std::vector<std::uint8_t>& tables, std::size_t block) noexcept {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&tables[block * 32])));
}

TQLIB_KERNEL_INLINE __m256i sm_avx2_widened_sum(__m256i acc, __m256i pair_sums) noexcept {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pair_sums, _mm256_set1_epi16(1)));
}

// The arithmetic of the matmul (sm_matmul_tiles) and of the GFNI matvec: signed int8 levels,
// each step |w| (vpabsb, once per row in the matmul) times x with w's sign (vpsignb): the
// products and lane sums of the matvec without GFNI too.
struct sm_avx2_ops {
  using weight = std::int8_t;
  using activation = std::int8_t;
  struct wregs {
    __m256i magnitude, level;
  };
  using xregs = __m256i;
  using acc = __m256i;
  using total = __m256;
  static constexpr std::size_t step = 32;
  TQLIB_KERNEL_INLINE static wregs load_w(const void* p) noexcept {
    const __m256i w = _mm256_loadu_si256(static_cast<const __m256i*>(p));
    return {_mm256_abs_epi8(w), w};
  }
  TQLIB_KERNEL_INLINE static xregs load_x(const void* p) noexcept { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  TQLIB_KERNEL_INLINE static acc start(std::int32_t) noexcept { return _mm256_setzero_si256(); }
  TQLIB_KERNEL_INLINE static acc mac(acc a, wregs w, xregs x) noexcept {
    return sm_avx2_widened_sum(a, _mm256_maddubs_epi16(w.magnitude, _mm256_sign_epi8(x, w.level)));
  }
  TQLIB_KERNEL_INLINE static total zero_total() noexcept { return _mm256_setzero_ps(); }
  TQLIB_KERNEL_INLINE static total apply(total t, acc a, float scale) noexcept {
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(a), _mm256_set1_ps(scale), t);
  }
  TQLIB_KERNEL_INLINE static float sum(total t) noexcept { return sm_sum8(t); }
};

// The matvec. With GFNI, per 32 coordinates: the codes (sm_avx2_codes), one lookup of the
// signed levels and sm_avx2_ops::mac. Without: one lookup of the magnitudes by magnitude index
// and one blend of the stored activations and their negations by the sign mask.
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_avx2(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                        std::size_t nblocks, const float* xr, float* y, std::size_t r0, std::size_t r1) {
  const auto p = sm_prepare_integer<MB, std::int8_t>(blocks, nblocks, xr, 32, sm_avx2_order<Arch>);
#if !TQLIB_ISA_GFNI
  std::vector<std::int8_t> negated(p.xq.size());
  for (std::size_t i = 0; i < p.xq.size(); ++i) negated[i] = std::int8_t(-p.xq[i]);  // |q| <= 127
#endif
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    __m256 total = _mm256_setzero_ps();
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const __m256i table = sm_avx2_table(p.tables, b);  // levels by code; entries 0-7 the magnitudes
      __m256i acc = _mm256_setzero_si256();
#if TQLIB_ISA_GFNI
      sm_avx2_block_codes<MB>(row + d.byte + 2, d.size, [&](__m256i code, std::size_t at) {
        const __m256i level = _mm256_shuffle_epi8(table, code);
        acc = sm_avx2_ops::mac(acc, {_mm256_abs_epi8(level), level}, sm_avx2_ops::load_x(p.xq.data() + p.at[b] + at));
      });
#else
      for (std::size_t g = 0; g < d.size; g += 32) {
        const std::size_t at = p.at[b] + g;
        __m256i mask[4];
        sm_avx2_plane_masks<MB>(row + d.byte + 2, d.size / 8, g, mask);
        const __m256i w = _mm256_shuffle_epi8(table, sm_avx2_magnitude_index<MB>(mask));
        const __m256i x = _mm256_blendv_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.xq.data() + at)),
                                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(negated.data() + at)), mask[0]);
        acc = sm_avx2_widened_sum(acc, _mm256_maddubs_epi16(w, x));
      }
#endif
      total = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(p.unit[b] * sm_scale(row + d.byte)), total);
    }
    y[r] = sm_sum8(total);
  }
}

// matmul with sm_matvec_avx2's results: each row's signed levels decoded once (a lookup by
// code), then tiles of 2 rows x 2 tokens (sm_matmul_tiles).
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matmul_avx2(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                        std::size_t nblocks, const float* XR, std::size_t padded_cols, std::size_t T,
                                        float* Y, std::size_t rows, std::size_t r0, std::size_t r1) {
  const auto tokens = sm_prepare_tokens<MB, std::int8_t>(blocks, nblocks, XR, padded_cols, T, 32, sm_avx2_order<Arch>);
  const std::vector<std::size_t>& at = tokens[0].at;  // the same for every token
  const std::vector<std::uint8_t>& tables = tokens[0].tables;  // the levels do not depend on the activations
  auto decode = [&](const std::byte* row, std::int8_t* w, float* scale) {
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const __m256i levels = sm_avx2_table(tables, b);
      sm_avx2_block_codes<MB>(row + d.byte + 2, d.size, [&](__m256i code, std::size_t to) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(w + at[b] + to), _mm256_shuffle_epi8(levels, code));
      });
      scale[b] = sm_scale(row + d.byte);
    }
  };
  // 2 x 2: 4 int32 sums, 4 float totals, 2 activation and 4 weight registers of the 16.
  sm_matmul_tiles<sm_avx2_ops, 2>(blob, row_bytes, blocks, nblocks, tokens, Y, rows, r0, r1, decode);
}

// The AVX2 target's paths.
template <class Arch, unsigned MB>
struct sm_avx2_path {
  TQLIB_KERNEL_INLINE static void matvec(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks, std::size_t nblocks,
                                          const float* xr, float* y, std::size_t r0, std::size_t r1) noexcept {
    sm_matvec_avx2<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
  }
  TQLIB_KERNEL_INLINE static void matmul(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks, std::size_t nblocks,
                                          const float* XR, std::size_t padded_cols, std::size_t T, float* Y, std::size_t rows,
                                          std::size_t r0, std::size_t r1) noexcept {
    sm_matmul_avx2<Arch, MB>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
  }
};

}  // namespace tqlib::codec::detail
