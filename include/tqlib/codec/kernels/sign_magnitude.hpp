#pragma once
// The sign-magnitude kernels (tq4_1s and TurboQuant; sign_magnitude.hpp): the integer path of
// this translation unit's instruction set, sign_magnitude/{avx512, avx2, wasm}.hpp, where it has
// one, else the float path (xsimd, any architecture: SSE4.2, NEON, WebAssembly without SIMD).
#include <cstddef>
#include <type_traits>
#include <vector>

#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/codec/kernels/sign_magnitude/common.hpp"
#include "tqlib/codec/sign_magnitude.hpp"
#include "tqlib/simd/vector_ops.hpp"
#if TQLIB_ISA_AVX512
#include "tqlib/codec/kernels/sign_magnitude/avx512.hpp"
#define TQLIB_SM_INTEGER_PATH sm_avx512_path
#elif TQLIB_ISA_AVX2
#include "tqlib/codec/kernels/sign_magnitude/avx2.hpp"
#define TQLIB_SM_INTEGER_PATH sm_avx2_path
#elif TQLIB_ISA_WASM
#include "tqlib/codec/kernels/sign_magnitude/wasm.hpp"
#define TQLIB_SM_INTEGER_PATH sm_wasm_path
#endif

namespace tqlib::codec::detail {
#ifdef TQLIB_SM_INTEGER_PATH
template <class Arch, unsigned MB>
using sm_integer_path = TQLIB_SM_INTEGER_PATH<Arch, MB>;
#undef TQLIB_SM_INTEGER_PATH
#else
template <class Arch, unsigned MB>
struct sm_integer_path;  // none: the float path
#endif
// Whether this translation unit has an integer path (a complete sm_integer_path).
template <class Arch>
inline constexpr bool sm_has_integer_path = requires { sizeof(sm_integer_path<Arch, 0>); };
}  // namespace tqlib::codec::detail

namespace tqlib::codec {

namespace detail {

template <class Arch, unsigned MB>
TQLIB_KERNEL_INLINE void sm_matvec_bits(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks,
                                        std::size_t nblocks, const float* xr, float* y, std::size_t r0,
                                        std::size_t r1) noexcept {
  using batch = xsimd::batch<float, Arch>;
  if (nblocks == 0) {
    for (std::size_t r = r0; r < r1; ++r) y[r] = 0;
    return;
  }
  if constexpr (sm_has_integer_path<Arch>) {
    sm_integer_path<Arch, MB>::matvec(blob, row_bytes, blocks, nblocks, xr, y, r0, r1);
    return;
  }
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
  if constexpr (sm_has_integer_path<Arch>) {
    sm_integer_path<Arch, MB>::matmul(blob, row_bytes, blocks, nblocks, XR, padded_cols, T, Y, rows, r0, r1);
    return;
  }
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
  return detail::sm_has_integer_path<Arch>;
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
