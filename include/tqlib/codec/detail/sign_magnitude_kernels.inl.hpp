#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include "tqlib/codec/sign_magnitude.hpp"

namespace tqlib::codec {

namespace detail {

// Decodes W neighbouring rotated coordinates (bits already shifted to lane order) as IEEE bit
// patterns: a select tree over the magnitude planes picks the codebook entry (no gather, no
// table in memory), then the sign plane sets the float's sign bit. On AVX-512 the plane bits
// are the select masks themselves (k registers); elsewhere they are broadcast and tested.
template <class Arch, unsigned MB>
struct sm_lane_decoder {
  using ubatch = xsimd::batch<std::uint32_t, Arch>;
  using fbatch = xsimd::batch<float, Arch>;
  static constexpr std::size_t W = ubatch::size;
  static constexpr bool native_masks = std::is_base_of_v<xsimd::avx512f, Arch>;
  ubatch lane_bit;
  ubatch level[8];
  ubatch sign_bit{0x80000000u};

  TQLIB_KERNEL_INLINE explicit sm_lane_decoder(const float* magnitude) noexcept {
    alignas(64) std::uint32_t bits[W];
    for (std::size_t i = 0; i < W; ++i) bits[i] = 1u << i;
    lane_bit = ubatch::load_aligned(bits);
    for (unsigned k = 0; k < (1u << MB); ++k) level[k] = xsimd::bitwise_cast<std::uint32_t>(fbatch(magnitude[k]));
  }

  TQLIB_KERNEL_INLINE auto test(std::uint32_t bits) const noexcept {
    if constexpr (native_masks) return xsimd::batch_bool<std::uint32_t, Arch>::from_mask(bits);
    else return (ubatch(bits) & lane_bit) != ubatch(0u);
  }

  // plane_bits[p] holds bit p of the magnitude index of lanes 0..W-1 in its low W bits.
  TQLIB_KERNEL_INLINE ubatch decode(std::uint32_t sign_bits, const std::uint32_t* plane_bits) const noexcept {
    ubatch v;
    if constexpr (MB == 0) {
      v = level[0];
    } else if constexpr (MB == 1) {
      v = xsimd::select(test(plane_bits[0]), level[1], level[0]);
    } else if constexpr (MB == 2) {
      const auto m0 = test(plane_bits[0]);
      v = xsimd::select(test(plane_bits[1]), xsimd::select(m0, level[3], level[2]), xsimd::select(m0, level[1], level[0]));
    } else {
      const auto m0 = test(plane_bits[0]), m1 = test(plane_bits[1]);
      const ubatch low = xsimd::select(m1, xsimd::select(m0, level[3], level[2]), xsimd::select(m0, level[1], level[0]));
      const ubatch high = xsimd::select(m1, xsimd::select(m0, level[7], level[6]), xsimd::select(m0, level[5], level[4]));
      v = xsimd::select(test(plane_bits[2]), high, low);
    }
    return xsimd::select(test(sign_bits), v | sign_bit, v);
  }
};

// Calls f(e, decoded bit patterns of coordinates e .. e+W-1) for every W-lane chunk of a block.
template <class Arch, unsigned MB, class F>
TQLIB_KERNEL_INLINE void sm_for_each_chunk(const sm_lane_decoder<Arch, MB>& dec, const std::byte* block, std::size_t n,
                                           F&& f) noexcept {
  constexpr std::size_t W = sm_lane_decoder<Arch, MB>::W;
  static_assert(32 % W == 0, "lanes must tile a 32-bit plane word");
  constexpr std::uint32_t low_mask = W == 32 ? 0xffffffffu : (1u << W) - 1u;
  const std::byte* signs = block + 2;
  const std::size_t plane = n / 8;
  for (std::size_t g = 0; g < n; g += 32) {
    const std::uint32_t sw = load_le<std::uint32_t>(signs + g / 8);
    std::uint32_t pw[3] = {0, 0, 0};
    for (unsigned p = 0; p < MB; ++p) pw[p] = load_le<std::uint32_t>(signs + (1 + p) * plane + g / 8);
    for (std::size_t c = 0; c < 32; c += W) {
      const std::uint32_t pb[3] = {(pw[0] >> c) & low_mask, (pw[1] >> c) & low_mask, (pw[2] >> c) & low_mask};
      f(g + c, dec.decode((sw >> c) & low_mask, pb));
    }
  }
}

#if defined(__AVX512BW__)
// AVX-512BW path: 32 coordinates per register as int16. Each plane word (32 bits) is directly a
// k-mask; a blend tree over int16 codebook entries decodes the magnitudes, the sign plane negates
// the activation (masked subtract), and vpmaddwd / vpdpwssd accumulates pairs into int32 -- twice
// the coordinates per instruction of the float path. Quantization (docs/codecs/tq4_1s.md):
// activation block b -> round(xr * 8191 / max|xr_b|), codebook -> round(L_k * 4096 / L_max); with
// |products| < 2^25 the int32 sums of a 256-block cannot overflow. The error this adds is bounded
// by sm_int16_error_bound() and is ~1e-4 of the dot product.
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_avx512_i16(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                              std::size_t nblocks, const float* xr, float* y, std::size_t r0,
                                              std::size_t r1) {
  const std::size_t padded = blocks[nblocks - 1].col + blocks[nblocks - 1].size;
  std::vector<std::int16_t> xq(padded);
  std::vector<float> unit(nblocks);  // activation step x weight-level step per block (without block scale)
  std::vector<std::int16_t> levels(nblocks * 8);  // int16 codebook magnitudes per block
  for (std::size_t b = 0; b < nblocks; ++b) {
    const sm_block_desc& d = blocks[b];
    float amax = 0;
    for (std::size_t i = 0; i < d.size; ++i) amax = std::max(amax, std::fabs(xr[d.col + i]));
    const float xstep = amax / sm_activation_q_max;
    const float inv = amax > 0 ? sm_activation_q_max / amax : 0.f;
    for (std::size_t i = 0; i < d.size; ++i) xq[d.col + i] = std::int16_t(std::lrintf(xr[d.col + i] * inv));
    const float lmax = d.magnitude[(1u << MB) - 1];
    for (unsigned k = 0; k < (1u << MB); ++k) levels[b * 8 + k] = sm_quantized_level(d.magnitude[k], lmax);
    unit[b] = xstep * lmax / sm_level_q_max;
  }
  const __m512i zero = _mm512_setzero_si512();
  __m512i first[8];
  for (unsigned k = 0; k < 8; ++k) first[k] = _mm512_set1_epi16(levels[k]);
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    __m512 total = _mm512_setzero_ps();
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const std::byte* signs = row + d.byte + 2;
      const std::size_t plane = d.size / 8;
      __m512i local[8];
      const __m512i* lv = first;
      if (d.magnitude != blocks[0].magnitude) {  // a tail block with its own codebook
        for (unsigned k = 0; k < (1u << MB); ++k) local[k] = _mm512_set1_epi16(levels[b * 8 + k]);
        lv = local;
      }
      __m512i acc = _mm512_setzero_si512();
      for (std::size_t g = 0; g < d.size; g += 32) {
        const __mmask32 ks = _cvtu32_mask32(load_le<std::uint32_t>(signs + g / 8));
        __m512i v;
        if constexpr (MB == 0) {
          v = lv[0];
        } else {
          const __mmask32 k0 = _cvtu32_mask32(load_le<std::uint32_t>(signs + plane + g / 8));
          if constexpr (MB == 1) {
            v = _mm512_mask_blend_epi16(k0, lv[0], lv[1]);
          } else {
            const __mmask32 k1 = _cvtu32_mask32(load_le<std::uint32_t>(signs + 2 * plane + g / 8));
            const __m512i low = _mm512_mask_blend_epi16(k1, _mm512_mask_blend_epi16(k0, lv[0], lv[1]),
                                                        _mm512_mask_blend_epi16(k0, lv[2], lv[3]));
            if constexpr (MB == 2) {
              v = low;
            } else {
              const __mmask32 k2 = _cvtu32_mask32(load_le<std::uint32_t>(signs + 3 * plane + g / 8));
              const __m512i high = _mm512_mask_blend_epi16(k1, _mm512_mask_blend_epi16(k0, lv[4], lv[5]),
                                                           _mm512_mask_blend_epi16(k0, lv[6], lv[7]));
              v = _mm512_mask_blend_epi16(k2, low, high);
            }
          }
        }
        __m512i x = _mm512_loadu_si512(xq.data() + d.col + g);
        x = _mm512_mask_sub_epi16(x, ks, zero, x);
#if defined(__AVX512VNNI__)
        if constexpr (std::is_base_of_v<xsimd::avx512vnni<xsimd::avx512bw>, Arch> ||
                      std::is_same_v<Arch, xsimd::avx512vnni<xsimd::avx512vbmi>>)
          acc = _mm512_dpwssd_epi32(acc, v, x);
        else
          acc = _mm512_add_epi32(acc, _mm512_madd_epi16(v, x));
#else
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(v, x));
#endif
      }
      total = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(unit[b] * sm_scale(row + d.byte)), total);
    }
    y[r] = xsimd::reduce_add(xsimd::batch<float, Arch>(total));
  }
}
#endif

template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_bits(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                        std::size_t nblocks, const float* xr, float* y, std::size_t r0,
                                        std::size_t r1) noexcept {
  using batch = xsimd::batch<float, Arch>;
  if (nblocks == 0) {
    for (std::size_t r = r0; r < r1; ++r) y[r] = 0;
    return;
  }
#if defined(__AVX512BW__)
  if constexpr (std::is_base_of_v<xsimd::avx512bw, Arch>)
    return sm_matvec_avx512_i16<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#endif
  // Full-size blocks share one codebook: build its decoder (levels in registers) once per call.
  const sm_lane_decoder<Arch, MB> first(blocks[0].magnitude);
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    batch total(0.f);
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const float* x = xr + d.col;
      batch acc(0.f);
      auto accumulate = [&](std::size_t e, const auto& bits) {
        acc = xsimd::fma(xsimd::bitwise_cast<float>(bits), batch::load_unaligned(x + e), acc);
      };
      if (d.magnitude == blocks[0].magnitude) {
        sm_for_each_chunk<Arch, MB>(first, row + d.byte, d.size, accumulate);
      } else {
        const sm_lane_decoder<Arch, MB> dec(d.magnitude);
        sm_for_each_chunk<Arch, MB>(dec, row + d.byte, d.size, accumulate);
      }
      total = xsimd::fma(acc, batch(sm_scale(row + d.byte)), total);
    }
    y[r] = xsimd::reduce_add(total);
  }
}

template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_decode_rotated_bits(const std::byte* row, const sm_block_desc* blocks, std::size_t nblocks,
                                                float* out) noexcept {
  using batch = xsimd::batch<float, Arch>;
  for (std::size_t b = 0; b < nblocks; ++b) {
    const sm_block_desc& d = blocks[b];
    const sm_lane_decoder<Arch, MB> dec(d.magnitude);
    const batch s(sm_scale(row + d.byte));
    float* o = out + d.col;
    sm_for_each_chunk<Arch, MB>(dec, row + d.byte, d.size, [&](std::size_t e, const auto& bits) {
      (xsimd::bitwise_cast<float>(bits) * s).store_unaligned(o + e);
    });
  }
}

}  // namespace detail

template <class Arch>
void sign_magnitude_kernels<Arch>::matvec(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                          std::size_t nblocks, unsigned magnitude_bits, const float* xr, float* y,
                                          std::size_t r0, std::size_t r1) noexcept {
  switch (magnitude_bits) {
    case 0: return detail::sm_matvec_bits<Arch, 0>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
    case 1: return detail::sm_matvec_bits<Arch, 1>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
    case 2: return detail::sm_matvec_bits<Arch, 2>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
    default: return detail::sm_matvec_bits<Arch, 3>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
  }
}

template <class Arch>
void sign_magnitude_kernels<Arch>::decode_rotated_row(const std::byte* row, const sm_block_desc* blocks,
                                                      std::size_t nblocks, unsigned magnitude_bits, float* out) noexcept {
  switch (magnitude_bits) {
    case 0: return detail::sm_decode_rotated_bits<Arch, 0>(row, blocks, nblocks, out);
    case 1: return detail::sm_decode_rotated_bits<Arch, 1>(row, blocks, nblocks, out);
    case 2: return detail::sm_decode_rotated_bits<Arch, 2>(row, blocks, nblocks, out);
    default: return detail::sm_decode_rotated_bits<Arch, 3>(row, blocks, nblocks, out);
  }
}

}  // namespace tqlib::codec
