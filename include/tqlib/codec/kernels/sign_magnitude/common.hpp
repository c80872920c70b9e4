#pragma once
// What every sign-magnitude path shares (tq4_1s and TurboQuant: sign_magnitude.hpp): the float
// path's lane decoder (xsimd, any architecture), the integer paths' prepared activations and code
// tables, and the matmul tile loop over a path's integer arithmetic.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "tqlib/codec/sign_magnitude.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::detail {

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

}  // namespace tqlib::codec::detail
