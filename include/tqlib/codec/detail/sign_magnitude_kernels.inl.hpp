#pragma once
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include "tqlib/codec/sign_magnitude.hpp"
#include "tqlib/simd/vector_ops.hpp"

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

// What the integer paths share, prepared once per call (see "integer arithmetic" in
// sign_magnitude.hpp): the activations rounded per block and stored as T (int8 for vpdpbusd and
// vpmaddubsw, int16 for the WebAssembly path's int16 lanes) in the order the path's decoder produces
// weights, block b's from at[b] (blocks rounded up to `pad` coordinates, the padding zero), and
// xsum[b], the sum of block b's rounded activations; the 16-entry code tables (sign << 3 |
// magnitude index) of each block's signed levels, low bytes then high bytes of their int16 form
// (the low bytes are the int8 levels); and unit[b], activation step times level step (the block
// scale still to be applied per row).
template <class T>
struct sm_integer_prepared {
  std::vector<std::size_t> at;
  std::vector<T> xq;
  std::vector<std::int32_t> xsum;
  std::vector<float> unit;
  std::vector<std::uint8_t> tables;  // per block: 16 low bytes, 16 high bytes
};

// The stored order of the paths whose decoders produce a block's weights in coordinate order.
inline std::size_t sm_coordinate_order(std::size_t i, std::size_t) noexcept { return i; }

// order(i, n): where coordinate i of a block of n goes among the block's stored activations.
template <unsigned MB, class T, class Order>
inline sm_integer_prepared<T> sm_prepare_integer(const sm_block_desc* blocks, std::size_t nblocks, const float* xr,
                                                 std::size_t pad, Order order) {
  sm_integer_prepared<T> p;
  p.at.assign(nblocks + 1, 0);
  for (std::size_t b = 0; b < nblocks; ++b) p.at[b + 1] = p.at[b] + (blocks[b].size + pad - 1) / pad * pad;
  p.xq.assign(p.at[nblocks], 0);
  p.xsum.resize(nblocks);
  p.unit.resize(nblocks);
  p.tables.resize(nblocks * 32);
  std::int8_t q[sm_max_block];
  for (std::size_t b = 0; b < nblocks; ++b) {
    const sm_block_desc& d = blocks[b];
    const float dx = sm_quantize_activation_block(xr + d.col, d.size, q);
    std::int32_t sum = 0;
    for (std::size_t i = 0; i < d.size; ++i) p.xq[p.at[b] + order(i, d.size)] = q[i], sum += q[i];
    p.xsum[b] = sum;
    const auto levels = sm_code_levels(d.magnitude, MB);
    for (unsigned code = 0; code < 16; ++code) {
      p.tables[b * 32 + code] = std::uint8_t(levels[code]);
      p.tables[b * 32 + 16 + code] = levels[code] < 0 ? 0xffu : 0u;
    }
    p.unit[b] = dx * d.magnitude[(1u << MB) - 1] / sm_level_q_max;
  }
  return p;
}

// sm_prepare_integer for each of T activations (rows of XR, padded_cols apart), for a matmul.
template <unsigned MB, class T, class Order>
inline std::vector<sm_integer_prepared<T>> sm_prepare_tokens(const sm_block_desc* blocks, std::size_t nblocks, const float* XR,
                                                             std::size_t padded_cols, std::size_t tokens, std::size_t pad,
                                                             Order order) {
  std::vector<sm_integer_prepared<T>> p;
  p.reserve(tokens);
  for (std::size_t t = 0; t < tokens; ++t) p.push_back(sm_prepare_integer<MB, T>(blocks, nblocks, XR + t * padded_cols, pad, order));
  return p;
}

constexpr std::size_t sm_matmul_group = 8;  // 8 rows of 4864 weights (int16: 76 KiB), in L2 with the tokens' activations
#define TQLIB_SM_UNROLL _Pragma("GCC unroll 8")

// The loop every integer matmul shares: rows decoded sm_matmul_group at a time by
// decode(row, weights, block scales), each into integer weights in the path's form and in the
// order its activations are stored in, then tiles of RowTile rows times 2 tokens while they sit
// in L1 (the group's last rows and an odd last token as narrower tiles).
//
// Ops is the path's integer arithmetic, the same as its matvec's: `wregs` and `xregs` hold `step`
// weights and activations (`load_w`, `load_x`), `start` is a block's int32 sums before its products (the VNNI path's
// -128 * xsum correction), `mac` adds one step's products, `apply` a block's float step and `sum`
// the lanes of a total. A tile of RI rows x TT tokens loads RI weight and TT activation registers
// a step for RI * TT products, where a row and a token alone load two for one. Every (row, token)
// keeps its own int32 sums (exact in any order) and float total, taking the matvec's float steps
// in the matvec's order, so prefill equals decode bit for bit.
template <class Ops, std::size_t RowTile, class Decode>
TQLIB_KERNEL_INLINE void sm_matmul_tiles(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                         std::size_t nblocks, const std::vector<sm_integer_prepared<typename Ops::activation>>& tokens,
                                         float* Y, std::size_t rows, std::size_t r0, std::size_t r1, Decode&& decode) {
  using weight = typename Ops::weight;
  const std::vector<std::size_t>& at = tokens[0].at;  // the same for every token
  const std::size_t stride = at[nblocks], T = tokens.size();
  std::vector<weight> w(sm_matmul_group * stride);
  std::vector<float> scale(sm_matmul_group * nblocks);
  auto tile = [&]<std::size_t RI, std::size_t TT>(std::size_t r, std::size_t i, std::size_t t) {
    typename Ops::total total[RI][TT];
    TQLIB_SM_UNROLL for (std::size_t ri = 0; ri < RI; ++ri)
      TQLIB_SM_UNROLL for (std::size_t tt = 0; tt < TT; ++tt) total[ri][tt] = Ops::zero_total();
    for (std::size_t b = 0; b < nblocks; ++b) {
      typename Ops::acc acc[RI][TT];
      TQLIB_SM_UNROLL for (std::size_t ri = 0; ri < RI; ++ri)
        TQLIB_SM_UNROLL for (std::size_t tt = 0; tt < TT; ++tt) acc[ri][tt] = Ops::start(tokens[t + tt].xsum[b]);
      for (std::size_t g = 0; g < blocks[b].size; g += Ops::step) {  // 32-blocks: padding meets zero activations
        typename Ops::xregs x[TT];
        TQLIB_SM_UNROLL for (std::size_t tt = 0; tt < TT; ++tt) x[tt] = Ops::load_x(tokens[t + tt].xq.data() + at[b] + g);
        TQLIB_SM_UNROLL for (std::size_t ri = 0; ri < RI; ++ri) {
          const typename Ops::wregs wv = Ops::load_w(w.data() + (i + ri) * stride + at[b] + g);
          TQLIB_SM_UNROLL for (std::size_t tt = 0; tt < TT; ++tt) acc[ri][tt] = Ops::mac(acc[ri][tt], wv, x[tt]);
        }
      }
      TQLIB_SM_UNROLL for (std::size_t ri = 0; ri < RI; ++ri)
        TQLIB_SM_UNROLL for (std::size_t tt = 0; tt < TT; ++tt)
          total[ri][tt] = Ops::apply(total[ri][tt], acc[ri][tt], tokens[t + tt].unit[b] * scale[(i + ri) * nblocks + b]);
    }
    TQLIB_SM_UNROLL for (std::size_t ri = 0; ri < RI; ++ri)
      TQLIB_SM_UNROLL for (std::size_t tt = 0; tt < TT; ++tt) Y[(t + tt) * rows + r + i + ri] = Ops::sum(total[ri][tt]);
  };
  for (std::size_t r = r0; r < r1; r += sm_matmul_group) {
    const std::size_t n = std::min(sm_matmul_group, r1 - r);
    for (std::size_t i = 0; i < n; ++i) decode(blob + (r + i) * row_bytes, w.data() + i * stride, scale.data() + i * nblocks);
    auto rows_times_tokens = [&]<std::size_t RI>(std::size_t i) {
      std::size_t t = 0;
      for (; t + 2 <= T; t += 2) tile.template operator()<RI, 2>(r, i, t);
      if (t < T) tile.template operator()<RI, 1>(r, i, t);
    };
    std::size_t i = 0;
    for (; i + RowTile <= n; i += RowTile) rows_times_tokens.template operator()<RowTile>(i);
    for (; i < n; ++i) rows_times_tokens.template operator()<1>(i);
  }
}

#if defined(__AVX512BW__)
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
#endif

#if defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__AVX512VBMI__) && defined(__GFNI__)
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

#if defined(__AVX512BW__)
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
#endif

#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
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
#if defined(__AVX512VBMI__) && defined(__GFNI__)
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
#if defined(__AVX512VBMI__) && defined(__GFNI__)
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

#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
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


#if defined(__AVX512BW__)
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
#endif

#if defined(__AVX2__)
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
#if defined(__GFNI__)
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

#if defined(__GFNI__)
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
#if defined(__GFNI__)
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
#if !defined(__GFNI__)
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
#if defined(__GFNI__)
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
#endif

#if defined(__wasm_simd128__)
// WebAssembly SIMD128 path: the integer values of the other paths (same activation and codebook
// rounding, exact int32 sums) multiplied in int16 lanes, 16 coordinates per step. i8x16.swizzle
// spreads byte j / 8 of each plane to byte j, and/eq with 1 << (j % 8) makes the byte masks, the
// masks make the 4-bit code (sign << 3 | magnitude index), two swizzles look it up in the 16-entry
// tables of the levels' low and high bytes, and two byte shuffles interleave those into int16
// weights in coordinate order, so i32x4.dot_i16x8 pairs them with the activations as stored.
// Coordinates 16h..16h+15 of the 32 whose plane words are in src (dword q: plane q, 0 the sign) as
// int16 weights in coordinate order, 0-7 in w0 and 8-15 in w1.
template <unsigned MB>
TQLIB_KERNEL_INLINE void sm_wasm_weights(v128_t src, int h, v128_t lo_table, v128_t hi_table, v128_t& w0, v128_t& w1) noexcept {
  const v128_t bitmask = wasm_i64x2_splat(0x8040201008040201LL);
  // coordinates 16h..16h+15 take bytes 4q + 2h (first 8) and 4q + 2h + 1 of plane q's dword
  auto plane_mask = [&](int q) {
    const std::int8_t i0 = std::int8_t(4 * q + 2 * h), i1 = std::int8_t(i0 + 1);
    const v128_t spread = wasm_i8x16_make(i0, i0, i0, i0, i0, i0, i0, i0, i1, i1, i1, i1, i1, i1, i1, i1);
    return wasm_i8x16_eq(wasm_v128_and(wasm_i8x16_swizzle(src, spread), bitmask), bitmask);
  };
  v128_t code = wasm_v128_and(plane_mask(0), wasm_i8x16_splat(8));
  if constexpr (MB >= 1) code = wasm_v128_or(code, wasm_v128_and(plane_mask(1), wasm_i8x16_splat(1)));
  if constexpr (MB >= 2) code = wasm_v128_or(code, wasm_v128_and(plane_mask(2), wasm_i8x16_splat(2)));
  if constexpr (MB >= 3) code = wasm_v128_or(code, wasm_v128_and(plane_mask(3), wasm_i8x16_splat(4)));
  const v128_t lo = wasm_i8x16_swizzle(lo_table, code), hi = wasm_i8x16_swizzle(hi_table, code);
  w0 = wasm_i8x16_shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  w1 = wasm_i8x16_shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}

// The sign and magnitude plane words of coordinates g..g+31 of a block, dword q holding plane q.
template <unsigned MB>
TQLIB_KERNEL_INLINE v128_t sm_wasm_planes(const std::byte* signs, std::size_t plane, std::size_t g) noexcept {
  std::uint32_t pw[4] = {load_le<std::uint32_t>(signs + g / 8), 0, 0, 0};
  for (unsigned q = 1; q <= MB; ++q) pw[q] = load_le<std::uint32_t>(signs + q * plane + g / 8);
  return wasm_u32x4_make(pw[0], pw[1], pw[2], pw[3]);
}

TQLIB_KERNEL_INLINE float sm_sum4(v128_t total) noexcept {
  total = wasm_f32x4_add(total, wasm_i32x4_shuffle(total, total, 2, 3, 0, 1));
  total = wasm_f32x4_add(total, wasm_i32x4_shuffle(total, total, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(total, 0);
}

// The wasm paths' integer arithmetic (matvec and sm_matmul_tiles): 16 int16 weights times 16
// int16 activations a step, in two registers each, by i32x4.dot_i16x8; no FMA in SIMD128, so
// the float step is a multiply and an add.
struct sm_wasm_ops {
  using weight = std::int16_t;
  using activation = std::int16_t;
  struct regs {
    v128_t lo, hi;
  };
  using wregs = regs;
  using xregs = regs;
  using acc = v128_t;
  using total = v128_t;
  static constexpr std::size_t step = 16;
  TQLIB_KERNEL_INLINE static regs load(const void* p) noexcept {
    const std::int16_t* v = static_cast<const std::int16_t*>(p);
    return {wasm_v128_load(v), wasm_v128_load(v + 8)};
  }
  TQLIB_KERNEL_INLINE static regs load_w(const void* p) noexcept { return load(p); }
  TQLIB_KERNEL_INLINE static regs load_x(const void* p) noexcept { return load(p); }
  TQLIB_KERNEL_INLINE static acc start(std::int32_t) noexcept { return wasm_i32x4_splat(0); }
  TQLIB_KERNEL_INLINE static acc mac(acc a, regs w, regs x) noexcept {
    return wasm_i32x4_add(a, wasm_i32x4_add(wasm_i32x4_dot_i16x8(w.lo, x.lo), wasm_i32x4_dot_i16x8(w.hi, x.hi)));
  }
  TQLIB_KERNEL_INLINE static total zero_total() noexcept { return wasm_f32x4_splat(0.f); }
  TQLIB_KERNEL_INLINE static total apply(total t, acc a, float scale) noexcept {
    return wasm_f32x4_add(t, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a), wasm_f32x4_splat(scale)));
  }
  TQLIB_KERNEL_INLINE static float sum(total t) noexcept { return sm_sum4(t); }
};

template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_wasm_i16(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                            std::size_t nblocks, const float* xr, float* y, std::size_t r0,
                                            std::size_t r1) {
  const auto p = sm_prepare_integer<MB, std::int16_t>(blocks, nblocks, xr, 32, sm_coordinate_order);
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    sm_wasm_ops::total total = sm_wasm_ops::zero_total();
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const v128_t lo_table = wasm_v128_load(&p.tables[b * 32]), hi_table = wasm_v128_load(&p.tables[b * 32 + 16]);
      const std::int16_t* x = p.xq.data() + p.at[b];
      sm_wasm_ops::acc acc = sm_wasm_ops::start(p.xsum[b]);
      for (std::size_t g = 0; g < d.size; g += 32) {
        const v128_t src = sm_wasm_planes<MB>(row + d.byte + 2, d.size / 8, g);
        for (int h = 0; h < 2; ++h) {
          sm_wasm_ops::regs w;
          sm_wasm_weights<MB>(src, h, lo_table, hi_table, w.lo, w.hi);
          acc = sm_wasm_ops::mac(acc, w, sm_wasm_ops::load_x(x + g + sm_wasm_ops::step * std::size_t(h)));
        }
      }
      total = sm_wasm_ops::apply(total, acc, p.unit[b] * sm_scale(row + d.byte));
    }
    y[r] = sm_wasm_ops::sum(total);
  }
}

// matmul with sm_matvec_wasm_i16's arithmetic: each row's int16 weights decoded once, then
// tiles of 2 rows x 2 tokens (sm_matmul_tiles).
template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matmul_wasm_i16(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                            std::size_t nblocks, const float* XR, std::size_t padded_cols, std::size_t T,
                                            float* Y, std::size_t rows, std::size_t r0, std::size_t r1) {
  const auto tokens = sm_prepare_tokens<MB, std::int16_t>(blocks, nblocks, XR, padded_cols, T, 32, sm_coordinate_order);
  const std::vector<std::size_t>& at = tokens[0].at;  // the same for every token
  const std::vector<std::uint8_t>& tables = tokens[0].tables;  // the levels do not depend on the activations
  auto decode = [&](const std::byte* row, std::int16_t* w, float* scale) {
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const v128_t lo_table = wasm_v128_load(&tables[b * 32]), hi_table = wasm_v128_load(&tables[b * 32 + 16]);
      for (std::size_t g = 0; g < d.size; g += 32) {
        const v128_t src = sm_wasm_planes<MB>(row + d.byte + 2, d.size / 8, g);
        for (int h = 0; h < 2; ++h) {
          v128_t w0, w1;
          sm_wasm_weights<MB>(src, h, lo_table, hi_table, w0, w1);
          std::int16_t* out = w + at[b] + g + 16 * std::size_t(h);
          wasm_v128_store(out, w0);
          wasm_v128_store(out + 8, w1);
        }
      }
      scale[b] = sm_scale(row + d.byte);
    }
  };
  // 2 x 2: 4 int32 sums, 4 float totals and 6 loaded registers fit the 16 of an x86 host.
  sm_matmul_tiles<sm_wasm_ops, 2>(blob, row_bytes, blocks, nblocks, tokens, Y, rows, r0, r1, decode);
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
#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
  if constexpr (std::is_base_of_v<xsimd::avx512bw, Arch>)
    return sm_matvec_avx512_vnni<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#endif
#if defined(__AVX512BW__)
  if constexpr (std::is_base_of_v<xsimd::avx512bw, Arch>)
    return sm_matvec_avx512bw<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#endif
#if defined(__AVX2__)
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>)
    return sm_matvec_avx2<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#endif
#if defined(__wasm_simd128__)
  return sm_matvec_wasm_i16<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
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
                                                float* out) noexcept;

template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matmul_bits(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                        std::size_t nblocks, const float* XR, std::size_t padded_cols, std::size_t T,
                                        float* Y, std::size_t rows, std::size_t r0, std::size_t r1) noexcept {
  if (T == 0 || r0 >= r1) return;
  if (nblocks == 0) {
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t r = r0; r < r1; ++r) Y[t * rows + r] = 0;
    return;
  }
#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
  if constexpr (std::is_base_of_v<xsimd::avx512bw, Arch>)
    return sm_matmul_avx512_vnni<Arch, MB>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
#endif
#if defined(__AVX2__)  // also AVX-512BW without VNNI: the same integer values as its matvec
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch> || std::is_base_of_v<xsimd::avx512bw, Arch>)
    return sm_matmul_avx2<Arch, MB>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
#endif
#if defined(__wasm_simd128__)
  return sm_matmul_wasm_i16<Arch, MB>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
#endif
  // Float paths (as their matvec): each row decoded once, rotated domain, then dotted with every token.
  std::vector<float> w(padded_cols);
  for (std::size_t r = r0; r < r1; ++r) {
    sm_decode_rotated_bits<Arch, MB>(blob + r * row_bytes, blocks, nblocks, w.data());
    for (std::size_t t = 0; t < T; ++t) Y[t * rows + r] = simd::vector_kernels<Arch>::dot(w.data(), XR + t * padded_cols, padded_cols);
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
bool sign_magnitude_kernels<Arch>::integer_matvec() noexcept {
#if defined(__AVX512BW__)
  if constexpr (std::is_base_of_v<xsimd::avx512bw, Arch>) return true;
#endif
#if defined(__AVX2__)
  if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) return true;
#endif
#if defined(__wasm_simd128__)
  return true;
#endif
  return false;
}

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
void sign_magnitude_kernels<Arch>::matmul(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                          std::size_t nblocks, unsigned magnitude_bits, const float* XR,
                                          std::size_t padded_cols, std::size_t T, float* Y, std::size_t rows,
                                          std::size_t r0, std::size_t r1) noexcept {
  switch (magnitude_bits) {
    case 0: return detail::sm_matmul_bits<Arch, 0>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
    case 1: return detail::sm_matmul_bits<Arch, 1>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
    case 2: return detail::sm_matmul_bits<Arch, 2>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
    default: return detail::sm_matmul_bits<Arch, 3>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
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

#ifdef TQLIB_KERNEL_ARCH
template struct sign_magnitude_kernels<TQLIB_KERNEL_ARCH>;
#endif

}  // namespace tqlib::codec
