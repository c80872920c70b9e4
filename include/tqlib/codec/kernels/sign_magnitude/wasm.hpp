#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/codec/kernels/sign_magnitude/common.hpp"

namespace tqlib::codec::detail {

// WebAssembly SIMD128 path: the integer values of the other paths (same activation and codebook
// rounding, exact int32 sums) multiplied in int16 lanes, 16 coordinates per step. A swizzle
// spreads byte j / 8 of each plane to byte j, and/eq with 1 << (j % 8) makes the byte masks, the
// masks make the 4-bit code (sign << 3 | magnitude index), two swizzles look it up in the 16-entry
// tables of the levels' low and high bytes, and two byte shuffles interleave those into int16
// weights in coordinate order, so i32x4.dot_i16x8 pairs them with the activations as stored.
// A byte lookup whose indices are all below 16 (every lookup in this file): there relaxed_swizzle
// is deterministic, and one pshufb on x86 hosts, where i8x16.swizzle needs a saturating add first.
TQLIB_KERNEL_INLINE v128_t sm_wasm_lookup(v128_t table, v128_t index) noexcept {
#if TQLIB_ISA_WASM_RELAXED
  return wasm_i8x16_relaxed_swizzle(table, index);
#else
  return wasm_i8x16_swizzle(table, index);
#endif
}

// All ones in byte j where coordinate 16h + j has its bit set in plane q (src: the plane words of
// 32 coordinates, dword q plane q, 0 the sign): coordinates 16h..16h+15 take bytes 4q + 2h (first
// 8) and 4q + 2h + 1 of plane q's dword, spread to byte j and tested against 1 << (j % 8).
TQLIB_KERNEL_INLINE v128_t sm_wasm_plane_mask(v128_t src, int q, int h) noexcept {
  const v128_t bitmask = wasm_i64x2_splat(0x8040201008040201LL);
  const std::int8_t i0 = std::int8_t(4 * q + 2 * h), i1 = std::int8_t(i0 + 1);
  const v128_t spread = wasm_i8x16_make(i0, i0, i0, i0, i0, i0, i0, i0, i1, i1, i1, i1, i1, i1, i1, i1);
  return wasm_i8x16_eq(wasm_v128_and(sm_wasm_lookup(src, spread), bitmask), bitmask);
}

// The magnitude index (planes 1..MB) of coordinates 16h..16h+15, one byte each.
template <unsigned MB>
TQLIB_KERNEL_INLINE v128_t sm_wasm_magnitude_index(v128_t src, int h) noexcept {
  v128_t index = wasm_i8x16_splat(0);
  if constexpr (MB >= 1) index = wasm_v128_and(sm_wasm_plane_mask(src, 1, h), wasm_i8x16_splat(1));
  if constexpr (MB >= 2) index = wasm_v128_or(index, wasm_v128_and(sm_wasm_plane_mask(src, 2, h), wasm_i8x16_splat(2)));
  if constexpr (MB >= 3) index = wasm_v128_or(index, wasm_v128_and(sm_wasm_plane_mask(src, 3, h), wasm_i8x16_splat(4)));
  return index;
}

// Coordinates 16h..16h+15 of the 32 whose plane words are in src as int16 weights in coordinate
// order, 0-7 in w0 and 8-15 in w1.
template <unsigned MB>
TQLIB_KERNEL_INLINE void sm_wasm_weights(v128_t src, int h, v128_t lo_table, v128_t hi_table, v128_t& w0, v128_t& w1) noexcept {
  const v128_t code = wasm_v128_or(wasm_v128_and(sm_wasm_plane_mask(src, 0, h), wasm_i8x16_splat(8)), sm_wasm_magnitude_index<MB>(src, h));
  const v128_t lo = sm_wasm_lookup(lo_table, code), hi = sm_wasm_lookup(hi_table, code);
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

// What every wasm path does around its products (sm_matmul_tiles' Ops): int32 sums start at 0,
// and no FMA in SIMD128, so a block's float step is a multiply and an add.
struct sm_wasm_float_steps {
  using acc = v128_t;
  using total = v128_t;
  TQLIB_KERNEL_INLINE static acc start(std::int32_t) noexcept { return wasm_i32x4_splat(0); }
  TQLIB_KERNEL_INLINE static total zero_total() noexcept { return wasm_f32x4_splat(0.f); }
  TQLIB_KERNEL_INLINE static total apply(total t, acc a, float scale) noexcept {
    return wasm_f32x4_add(t, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a), wasm_f32x4_splat(scale)));
  }
  TQLIB_KERNEL_INLINE static float sum(total t) noexcept { return sm_sum4(t); }
};

// The wasm paths' integer arithmetic (matvec and sm_matmul_tiles): 16 int16 weights times 16
// int16 activations a step, in two registers each, by i32x4.dot_i16x8.
struct sm_wasm_ops : sm_wasm_float_steps {
  using weight = std::int16_t;
  using activation = std::int16_t;
  struct regs {
    v128_t lo, hi;
  };
  using wregs = regs;
  using xregs = regs;
  static constexpr std::size_t step = 16;
  TQLIB_KERNEL_INLINE static regs load(const void* p) noexcept {
    const std::int16_t* v = static_cast<const std::int16_t*>(p);
    return {wasm_v128_load(v), wasm_v128_load(v + 8)};
  }
  TQLIB_KERNEL_INLINE static regs load_w(const void* p) noexcept { return load(p); }
  TQLIB_KERNEL_INLINE static regs load_x(const void* p) noexcept { return load(p); }
  TQLIB_KERNEL_INLINE static acc mac(acc a, regs w, regs x) noexcept {
    return wasm_i32x4_add(a, wasm_i32x4_add(wasm_i32x4_dot_i16x8(w.lo, x.lo), wasm_i32x4_dot_i16x8(w.hi, x.hi)));
  }
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

#if TQLIB_ISA_WASM_RELAXED
// Relaxed SIMD: int8 products without widening. i32x4.relaxed_dot_i8x16_i7x16_add is exact on
// every engine only while its second operand is in 0..127, so that operand is the level's
// magnitude (|level| <= 127, sm_level_q_max) and the sign moves to the activation (|x| <= 127,
// sm_activation_q_max): x * sign * magnitude = x * level, the integers of the other paths.

// x with its sign flipped where neg is all ones: (x ^ neg) - neg.
TQLIB_KERNEL_INLINE v128_t sm_wasm_apply_sign(v128_t x, v128_t neg) noexcept {
  return wasm_i8x16_sub(wasm_v128_xor(x, neg), neg);
}

// Coordinates 16h..16h+15 of the 32 whose plane words are in src: their level magnitudes as bytes
// (the code table's positive half, indexed by the magnitude bits) and sign masks (all ones where
// negative).
template <unsigned MB>
TQLIB_KERNEL_INLINE void sm_wasm_magnitudes(v128_t src, int h, v128_t level_table, v128_t& magnitude, v128_t& negative) noexcept {
  magnitude = sm_wasm_lookup(level_table, sm_wasm_magnitude_index<MB>(src, h));
  negative = sm_wasm_plane_mask(src, 0, h);
}

// The relaxed paths' integer arithmetic (matvec and sm_matmul_tiles), 16 products a step. The
// matvec takes magnitudes and sign masks as decoded (mac_split); the matmul stores signed int8
// levels per row and splits them again at each product (abs, compare, xor, subtract: cheaper than
// widening both operands).
struct sm_wasm_relaxed_ops : sm_wasm_float_steps {
  using weight = std::int8_t;
  using activation = std::int8_t;
  using wregs = v128_t;
  using xregs = v128_t;
  static constexpr std::size_t step = 16;
  TQLIB_KERNEL_INLINE static v128_t load_w(const void* p) noexcept { return wasm_v128_load(p); }
  TQLIB_KERNEL_INLINE static v128_t load_x(const void* p) noexcept { return wasm_v128_load(p); }
  // acc + the 16 products of signed levels w (|w| <= 127) and activations x.
  TQLIB_KERNEL_INLINE static acc mac(acc a, v128_t w, v128_t x) noexcept {
    return mac_split(a, wasm_i8x16_abs(w), wasm_i8x16_lt(w, wasm_i8x16_splat(0)), x);
  }
  // The same from the magnitudes and sign masks (sm_wasm_magnitudes).
  TQLIB_KERNEL_INLINE static acc mac_split(acc a, v128_t magnitude, v128_t negative, v128_t x) noexcept {
    return wasm_i32x4_relaxed_dot_i8x16_i7x16_add(sm_wasm_apply_sign(x, negative), magnitude, a);
  }
};

template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_wasm_relaxed(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                                std::size_t nblocks, const float* xr, float* y, std::size_t r0, std::size_t r1) {
  const auto p = sm_prepare_integer<MB, std::int8_t>(blocks, nblocks, xr, 32, sm_coordinate_order);
  for (std::size_t r = r0; r < r1; ++r) {
    const std::byte* row = blob + r * row_bytes;
    using ops = sm_wasm_relaxed_ops;
    ops::total total = ops::zero_total();
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const v128_t level_table = wasm_v128_load(&p.tables[b * 32]);  // codes 0..7: the positive levels
      const std::int8_t* x = p.xq.data() + p.at[b];
      ops::acc acc = ops::start(p.xsum[b]);
      for (std::size_t g = 0; g < d.size; g += 32) {
        const v128_t src = sm_wasm_planes<MB>(row + d.byte + 2, d.size / 8, g);
        for (int h = 0; h < 2; ++h) {
          v128_t magnitude, negative;
          sm_wasm_magnitudes<MB>(src, h, level_table, magnitude, negative);
          acc = ops::mac_split(acc, magnitude, negative, ops::load_x(x + g + ops::step * std::size_t(h)));
        }
      }
      total = ops::apply(total, acc, p.unit[b] * sm_scale(row + d.byte));
    }
    y[r] = ops::sum(total);
  }
}

template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matmul_wasm_relaxed(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                                std::size_t nblocks, const float* XR, std::size_t padded_cols, std::size_t T,
                                                float* Y, std::size_t rows, std::size_t r0, std::size_t r1) {
  const auto tokens = sm_prepare_tokens<MB, std::int8_t>(blocks, nblocks, XR, padded_cols, T, 32, sm_coordinate_order);
  const std::vector<std::size_t>& at = tokens[0].at;
  const std::vector<std::uint8_t>& tables = tokens[0].tables;
  auto decode = [&](const std::byte* row, std::int8_t* w, float* scale) {
    for (std::size_t b = 0; b < nblocks; ++b) {
      const sm_block_desc& d = blocks[b];
      const v128_t level_table = wasm_v128_load(&tables[b * 32]);
      for (std::size_t g = 0; g < d.size; g += 32) {
        const v128_t src = sm_wasm_planes<MB>(row + d.byte + 2, d.size / 8, g);
        for (int h = 0; h < 2; ++h) {
          v128_t magnitude, negative;
          sm_wasm_magnitudes<MB>(src, h, level_table, magnitude, negative);
          wasm_v128_store(w + at[b] + g + 16 * std::size_t(h), sm_wasm_apply_sign(magnitude, negative));
        }
      }
      scale[b] = sm_scale(row + d.byte);
    }
  };
  // 4 rows x 2 tokens: 8 int32 sums, 8 float totals and 6 loaded registers.
  sm_matmul_tiles<sm_wasm_relaxed_ops, 4>(blob, row_bytes, blocks, nblocks, tokens, Y, rows, r0, r1, decode);
}
#endif

// The WebAssembly SIMD128 paths (relaxed SIMD where the build has it).
template <class Arch, unsigned MB>
struct sm_wasm_path {
  TQLIB_KERNEL_INLINE static void matvec(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks, std::size_t nblocks,
                                          const float* xr, float* y, std::size_t r0, std::size_t r1) noexcept {
#if TQLIB_ISA_WASM_RELAXED
    sm_matvec_wasm_relaxed<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#else
    sm_matvec_wasm_i16<Arch, MB>(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
#endif
  }
  TQLIB_KERNEL_INLINE static void matmul(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks, std::size_t nblocks,
                                          const float* XR, std::size_t padded_cols, std::size_t T, float* Y, std::size_t rows,
                                          std::size_t r0, std::size_t r1) noexcept {
#if TQLIB_ISA_WASM_RELAXED
    sm_matmul_wasm_relaxed<Arch, MB>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
#else
    sm_matmul_wasm_i16<Arch, MB>(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
#endif
  }
};

}  // namespace tqlib::codec::detail
