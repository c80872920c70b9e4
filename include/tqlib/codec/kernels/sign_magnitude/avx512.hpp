#pragma once
// The sign-magnitude integer paths on AVX-512BW: the planes' 64-bit words are k-masks; with VNNI
// 64 products per vpdpbusd, codes by GFNI bit-matrix transposes where the target has VBMI and
// GFNI; without VNNI vpmaddubsw as on AVX2 (whose matmul, sign_magnitude/avx2.hpp, it shares).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/codec/kernels/sign_magnitude/common.hpp"
#include "tqlib/codec/kernels/sign_magnitude/avx2.hpp"

namespace tqlib::codec::detail {

// The 64-bit word of a plane covering coordinates g..g+63 (32-blocks have 32-bit planes).
TQLIB_KERNEL_INLINE std::uint64_t sm_plane_word(const std::byte* at, std::size_t n) noexcept {
  return n >= 64 ? load_le<std::uint64_t>(at) : std::uint64_t(load_le<std::uint32_t>(at));
}

// The sign plane's k-mask of coordinates g..g+63 (bit i: coordinate g + i is negative).
TQLIB_KERNEL_INLINE __mmask64 sm_sign_mask(const std::byte* signs, std::size_t n, std::size_t g) noexcept {
  return _cvtu64_mask64(sm_plane_word(signs + g / 8, n));
}

// The magnitude indices of coordinates g..g+63 as bytes, in coordinate order: each magnitude
// plane's 64-bit word is a k-mask, and masked byte adds build the index.
template <unsigned MB>
TQLIB_KERNEL_INLINE __m512i sm_magnitude_index_from_masks(const std::byte* signs, std::size_t n, std::size_t g) noexcept {
  const std::size_t plane = n / 8;
  __m512i index = _mm512_setzero_si512();
  if constexpr (MB >= 1) index = _mm512_maskz_mov_epi8(_cvtu64_mask64(sm_plane_word(signs + plane + g / 8, n)), _mm512_set1_epi8(1));
  if constexpr (MB >= 2)
    index = _mm512_mask_add_epi8(index, _cvtu64_mask64(sm_plane_word(signs + 2 * plane + g / 8, n)), index, _mm512_set1_epi8(2));
  if constexpr (MB >= 3)
    index = _mm512_mask_add_epi8(index, _cvtu64_mask64(sm_plane_word(signs + 3 * plane + g / 8, n)), index, _mm512_set1_epi8(4));
  return index;
}

// The 4-bit codes (sign << 3 | magnitude index) of coordinates g..g+63 as bytes.
template <unsigned MB>
TQLIB_KERNEL_INLINE __m512i sm_codes_from_masks(const std::byte* signs, std::size_t n, std::size_t g) noexcept {
  const __m512i index = sm_magnitude_index_from_masks<MB>(signs, n, g);
  return _mm512_mask_add_epi8(index, sm_sign_mask(signs, n, g), index, _mm512_set1_epi8(8));
}

#if TQLIB_ISA_VBMI && TQLIB_ISA_GFNI
// Codes by bit-matrix transpose (GFNI): for coordinates g + 8j .. g + 8j + 7, vpermi2b gathers
// byte g/8 + j of the sign plane and of magnitude planes 2, 1, 0 into bytes 4, 5, 6, 7 of qword j
// (bytes 0-3 zero), and gf2p8affineqb with that qword as the matrix and 1 << i as byte i of the
// vector sets bit k of output byte i to bit i of qword byte 7 - k (Intel SDM, GF2P8AFFINEQB):
// the code of coordinate g + 8j + i, in coordinate order. Two instructions per 64 coordinates
// where the k-masks take four mask loads and four masked byte operations. (The dispatch picks the
// target built with -mgfni only on CPUs with GFNI: simd/dispatch.hpp.)
struct sm_gfni_gather {
  // Per block size n = 32 << s: the byte index of each group of 64 coordinates into the block's
  // planes (loaded as two registers, bytes 0..127 after the scale), and which bytes of the two
  // registers the block's planes fill. The loads zero the rest, so the planes a codec with fewer
  // magnitude bits lacks gather as zero bits; the qwords past a 32-block's 4-byte planes gather
  // other planes' bytes, but meet zero activations (the block's padding).
  std::uint8_t index[4][4][64];
  std::uint64_t load_lo[4], load_hi[4];
  static constexpr std::uint64_t live = 0xf0f0f0f0f0f0f0f0u;  // bytes 4..7 of every qword

  template <unsigned MB>
  static sm_gfni_gather make() noexcept {
    sm_gfni_gather t{};
    for (unsigned s = 0; s < 4; ++s) {
      const std::size_t n = std::size_t(32) << s, plane = n / 8, bytes = (MB + 1) * plane;
      const std::size_t source[4] = {0, 3 * plane, 2 * plane, plane};  // qword bytes 4..7: sign, m2, m1, m0
      for (std::size_t g = 0; g < n; g += 64)
        for (std::size_t j = 0; j < 8; ++j)
          for (std::size_t q = 0; q < 4; ++q) t.index[s][g / 64][8 * j + 4 + q] = std::uint8_t(source[q] + g / 8 + j);
      t.load_lo[s] = bytes >= 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << bytes) - 1;
      t.load_hi[s] = bytes >= 128 ? ~std::uint64_t(0) : bytes <= 64 ? 0 : (std::uint64_t(1) << (bytes - 64)) - 1;
    }
    return t;
  }
};

template <unsigned MB>
TQLIB_KERNEL_INLINE const sm_gfni_gather& sm_gfni_gather_for() noexcept {
  static const sm_gfni_gather table = sm_gfni_gather::make<MB>();
  return table;
}

#endif

// The row loop of the AVX-512 paths: y[r] = sum over blocks b of (the int32 lanes block_sum(b,
// block's planes) returns, summed) * unit[b] * block scale, one float FMA per block.
template <class BlockSum>
TQLIB_KERNEL_INLINE void sm_avx512_rows(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                        std::size_t nblocks, const float* unit, float* y, std::size_t r0, std::size_t r1,
                                        BlockSum&& block_sum) {
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    __m512 total = _mm512_setzero_ps();
    for (std::size_t b = 0; b < nblocks; ++b) {
      const float scale = unit[b] * sm_scale(row + blocks[b].byte);
      total = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_sum(b, row + blocks[b].byte + 2)), _mm512_set1_ps(scale), total);
    }
    y[r] = _mm512_reduce_add_ps(total);
  }
}

#if TQLIB_ISA_VNNI
// AVX-512 VNNI path: 64 products per vpdpbusd. It multiplies unsigned by signed bytes, so the
// weights are looked up as level + 128 (one vpshufb in the 16-entry table of biased levels) and
// the activations as int8; sum (w + 128) x = sum w x + 128 sum x, so each block's accumulator
// starts at -128 * xsum[b]. Codes come from GFNI where the target has it (sm_gfni_gather), from
// k-masks otherwise (sm_codes_from_masks).
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_avx512_vnni(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                               std::size_t nblocks, const float* xr, float* y, std::size_t r0,
                                               std::size_t r1) {
  const auto p = sm_prepare_integer<MB, std::int8_t>(blocks, nblocks, xr, 64, sm_coordinate_order);
  std::vector<std::uint8_t> biased(nblocks * 16);
  for (std::size_t b = 0; b < nblocks; ++b)
    for (unsigned c = 0; c < 16; ++c) biased[b * 16 + c] = std::uint8_t(p.tables[b * 32 + c] ^ 0x80u);
#if TQLIB_ISA_VBMI && TQLIB_ISA_GFNI
  const sm_gfni_gather& gather = sm_gfni_gather_for<MB>();
  const __m512i bit_select = _mm512_set1_epi64(0x8040201008040201LL);
  const __mmask64 live = _cvtu64_mask64(sm_gfni_gather::live);
  const __m512i full_index[4] = {_mm512_loadu_si512(gather.index[3][0]), _mm512_loadu_si512(gather.index[3][1]),
                                 _mm512_loadu_si512(gather.index[3][2]), _mm512_loadu_si512(gather.index[3][3])};
  const __m512i half_index[2] = {_mm512_loadu_si512(gather.index[2][0]), _mm512_loadu_si512(gather.index[2][1])};
#endif
  sm_avx512_rows(blob, row_bytes, blocks, nblocks, p.unit.data(), y, r0, r1, [&](std::size_t b, const std::byte* signs) {
    const sm_block_desc& d = blocks[b];
    const __m512i table = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&biased[b * 16])));
    const std::int8_t* x = p.xq.data() + p.at[b];
    // Two accumulators, so that the vpdpbusd of a block do not wait on each other's latency.
    __m512i acc = _mm512_zextsi128_si512(_mm_cvtsi32_si128(-128 * p.xsum[b])), acc2 = _mm512_setzero_si512();
    auto step = [&](__m512i& into, __m512i code, std::size_t g) {
      into = _mm512_dpbusd_epi32(into, _mm512_shuffle_epi8(table, code), _mm512_loadu_si512(x + g));
    };
#if TQLIB_ISA_VBMI && TQLIB_ISA_GFNI
    auto codes = [&](__m512i lo, __m512i hi, __m512i index) {
      return _mm512_gf2p8affine_epi64_epi8(bit_select, _mm512_maskz_permutex2var_epi8(live, lo, index, hi), 0);
    };
    if (MB == 3 && d.size == 256) {  // the common block: indices in registers, no masked loads
      const __m512i lo = _mm512_loadu_si512(signs), hi = _mm512_loadu_si512(signs + 64);
      step(acc, codes(lo, hi, full_index[0]), 0);
      step(acc2, codes(lo, hi, full_index[1]), 64);
      step(acc, codes(lo, hi, full_index[2]), 128);
      step(acc2, codes(lo, hi, full_index[3]), 192);
    } else if (MB == 3 && d.size == 128) {  // the tail block of 896-column rows: its planes are 64 bytes
      const __m512i planes = _mm512_loadu_si512(signs);
      step(acc, _mm512_gf2p8affine_epi64_epi8(bit_select, _mm512_maskz_permutexvar_epi8(live, half_index[0], planes), 0), 0);
      step(acc2, _mm512_gf2p8affine_epi64_epi8(bit_select, _mm512_maskz_permutexvar_epi8(live, half_index[1], planes), 0), 64);
    } else {
      const unsigned s = unsigned(std::countr_zero(d.size)) - 5;  // tzcnt: log2_exact is a loop
      // masked loads: bytes past the block are not read (the block may end the blob)
      const __m512i lo = _mm512_maskz_loadu_epi8(_cvtu64_mask64(gather.load_lo[s]), signs);
      const __m512i hi = _mm512_maskz_loadu_epi8(_cvtu64_mask64(gather.load_hi[s]), signs + 64);
      for (std::size_t g = 0; g < d.size; g += 64)
        step(g % 128 ? acc2 : acc, codes(lo, hi, _mm512_loadu_si512(gather.index[s][g / 64])), g);
    }
#else
    {
      std::size_t g = 0;
      for (; g + 128 <= d.size; g += 128)
        step(acc, sm_codes_from_masks<MB>(signs, d.size, g), g), step(acc2, sm_codes_from_masks<MB>(signs, d.size, g + 64), g + 64);
      if (g < d.size) step(acc, sm_codes_from_masks<MB>(signs, d.size, g), g);
    }
#endif
    return _mm512_add_epi32(acc, acc2);
  });
}
#endif

#if TQLIB_ISA_VNNI
// sm_matvec_avx512_vnni's arithmetic for sm_matmul_tiles: 64 biased levels times 64 int8
// activations per vpdpbusd, a block's sums starting at -128 * xsum.
struct sm_vnni_ops {
  using weight = std::uint8_t;
  using activation = std::int8_t;
  using wregs = __m512i;
  using xregs = __m512i;
  using acc = __m512i;
  using total = __m512;
  static constexpr std::size_t step = 64;
  TQLIB_KERNEL_INLINE static wregs load_w(const void* p) noexcept { return _mm512_loadu_si512(p); }
  TQLIB_KERNEL_INLINE static xregs load_x(const void* p) noexcept { return _mm512_loadu_si512(p); }
  TQLIB_KERNEL_INLINE static acc start(std::int32_t xsum) noexcept { return _mm512_zextsi128_si512(_mm_cvtsi32_si128(-128 * xsum)); }
  TQLIB_KERNEL_INLINE static acc mac(acc a, wregs w, xregs x) noexcept { return _mm512_dpbusd_epi32(a, w, x); }
  TQLIB_KERNEL_INLINE static total zero_total() noexcept { return _mm512_setzero_ps(); }
  TQLIB_KERNEL_INLINE static total apply(total t, acc a, float scale) noexcept {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(a), _mm512_set1_ps(scale), t);
  }
  TQLIB_KERNEL_INLINE static float sum(total t) noexcept { return _mm512_reduce_add_ps(t); }
};

// matmul with sm_matvec_avx512_vnni's arithmetic: each row's codes become biased levels once
// (k-mask codes: the decode is paid once per row, not per token), then tiles of 4 rows x 2
// tokens (sm_matmul_tiles).
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matmul_avx512_vnni(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                               std::size_t nblocks, const float* XR, std::size_t padded_cols, std::size_t T,
                                               float* Y, std::size_t rows, std::size_t r0, std::size_t r1) {
  const auto tokens = sm_prepare_tokens<MB, std::int8_t>(blocks, nblocks, XR, padded_cols, T, 64, sm_coordinate_order);
  const std::vector<std::size_t>& at = tokens[0].at;  // the same for every token
  std::vector<std::uint8_t> biased(nblocks * 16);  // the levels do not depend on the activations
  for (std::size_t b = 0; b < nblocks; ++b)
    for (unsigned c = 0; c < 16; ++c) biased[b * 16 + c] = std::uint8_t(tokens[0].tables[b * 32 + c] ^ 0x80u);
  auto decode = [&](const std::byte* row, std::uint8_t* w, float* scale) {
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const __m512i table = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&biased[b * 16])));
      for (std::size_t g = 0; g < d.size; g += 64)  // 32-blocks: the padding's codes meet zero activations
        _mm512_storeu_si512(w + at[b] + g, _mm512_shuffle_epi8(table, sm_codes_from_masks<MB>(row + d.byte + 2, d.size, g)));
      scale[b] = sm_scale(row + d.byte);
    }
  };
  // 4 x 2: 8 int32 accumulators, 8 float totals and 6 loaded registers of the 32 (2 x 4 and
  // 3 x 3 measured slower, 4 x 3 no faster).
  sm_matmul_tiles<sm_vnni_ops, 4>(blob, row_bytes, blocks, nblocks, tokens, Y, rows, r0, r1, decode);
}
#endif


// AVX-512BW path without VNNI: the same integer values as bytes multiplied by vpmaddubsw, as
// the AVX2 matvec (below): a vpshufb by magnitude index gives the levels' magnitudes, and the
// sign plane's k-mask blends the stored activations with their negations. Both factors are
// within 127 in magnitude, so a pair sums to at most 32258 and the int16 step never saturates.
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_avx512bw(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                            std::size_t nblocks, const float* xr, float* y, std::size_t r0, std::size_t r1) {
  const auto p = sm_prepare_integer<MB, std::int8_t>(blocks, nblocks, xr, 64, sm_coordinate_order);
  std::vector<std::int8_t> negated(p.xq.size());
  for (std::size_t i = 0; i < p.xq.size(); ++i) negated[i] = std::int8_t(-p.xq[i]);  // |q| <= 127
  const __m512i ones = _mm512_set1_epi16(1);
  sm_avx512_rows(blob, row_bytes, blocks, nblocks, p.unit.data(), y, r0, r1, [&](std::size_t b, const std::byte* signs) {
    const sm_block_desc& d = blocks[b];
    const __m512i magnitude = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&p.tables[b * 32])));
    const std::int8_t* x = p.xq.data() + p.at[b];
    const std::int8_t* nx = negated.data() + p.at[b];
    __m512i acc = _mm512_setzero_si512(), acc2 = _mm512_setzero_si512();
    auto step = [&](__m512i& into, std::size_t g) {
      const __m512i w = _mm512_shuffle_epi8(magnitude, sm_magnitude_index_from_masks<MB>(signs, d.size, g));
      const __m512i xs = _mm512_mask_blend_epi8(sm_sign_mask(signs, d.size, g), _mm512_loadu_si512(x + g), _mm512_loadu_si512(nx + g));
      into = _mm512_add_epi32(into, _mm512_madd_epi16(_mm512_maddubs_epi16(w, xs), ones));
    };
    std::size_t g = 0;
    for (; g + 128 <= d.size; g += 128) step(acc, g), step(acc2, g + 64);
    if (g < d.size) step(acc, g);  // 32-blocks: the padding meets zero activations
    return _mm512_add_epi32(acc, acc2);
  });
}

// The AVX-512 target's paths (the codec's entry point, sign_magnitude.hpp, picks this file's).
template <class Arch, unsigned MB>
struct sm_avx512_path {
  TQLIB_KERNEL_INLINE static void matvec(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks, std::size_t nblocks,
                                          const float* xr, float* y, std::size_t r0, std::size_t r1) noexcept {
#if TQLIB_ISA_VNNI
    sm_matvec_avx512_vnni<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#else
    sm_matvec_avx512bw<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#endif
  }
  TQLIB_KERNEL_INLINE static void matmul(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks, std::size_t nblocks,
                                          const float* XR, std::size_t padded_cols, std::size_t T, float* Y, std::size_t rows,
                                          std::size_t r0, std::size_t r1) noexcept {
    // Without VNNI the AVX2 matmul: the same integer values as the matvec.
#if TQLIB_ISA_VNNI
    sm_matmul_avx512_vnni<Arch, MB>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
#else
    sm_matmul_avx2<Arch, MB>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
#endif
  }
};

}  // namespace tqlib::codec::detail
