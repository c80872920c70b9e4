#pragma once
// AQLM (additive quantization, arXiv 2401.06118) as a tqlib codec: matvec / matmul over a blob
// whose layout is in aqlm_layout.hpp, the encoder in aqlm_encoder.hpp, the checkpoint importer
// in aqlm_import.hpp. Design and measured figures: docs/codecs/aqlm.md.
//
// matvec, small codebooks (nbits <= 8, e.g. 2x8, 8x8): per input group, a table of
// x_group . codeword for every codeword of every codebook (and every row of the out group), then
// each output row adds the table entries its codes select and multiplies by its scale; tables
// are built for a chunk of input groups at a time so they stay in cache.
// matvec, large codebooks (nbits > 8, e.g. 1x16): 2^16 table entries per input group would be
// computed to serve a few hundred lookups, so each row's codewords are gathered and dotted with
// x directly. matmul (prefill, T > 1) decodes each row once and dots it with every token.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "tqlib/codec/aqlm_encoder.hpp"
#include "tqlib/codec/aqlm_import.hpp"
#include "tqlib/codec/aqlm_layout.hpp"
#include "tqlib/codec/codec.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::aqlm {

// f16 bits to float for finite values (validate() rejects inf and nan): moving exponent and
// mantissa up by 13 bits and rescaling by 2^(127-15) normalises subnormals too, with no branch.
TQLIB_KERNEL_INLINE float f16_bits_to_f32_finite(std::uint16_t h) noexcept {
  // memcpy rather than std::bit_cast: emscripten 3.1's libc++ lacks bit_cast.
  const std::uint32_t shifted = std::uint32_t(h & 0x7fffu) << 13;
  float magnitude;
  std::memcpy(&magnitude, &shifted, 4);
  magnitude *= 0x1p112f;
  std::uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= std::uint32_t(h & 0x8000u) << 16;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

TQLIB_KERNEL_INLINE bool uses_lut(const layout& L) noexcept { return L.cfg.nbits <= 8; }

// Input groups whose tables are built at once: 256 KiB of tables stays in L2 while every row
// of the range reads them (2x8: 128 groups).
TQLIB_KERNEL_INLINE std::size_t lut_chunk_groups(const layout& L) noexcept {
  constexpr std::size_t budget_floats = std::size_t(64) << 10;
  const std::size_t per_group = std::size_t(L.cfg.num_codebooks) * L.cfg.out_group * L.codebook_entries;
  const std::size_t g = budget_floats / per_group;
  return g == 0 ? 1 : (g < L.in_groups ? g : L.in_groups);
}

// Floats of scratch a kernel call needs (the callers below own it).
inline std::size_t scratch_floats(const layout& L) noexcept {
  const std::size_t lut = L.codebook_floats() + lut_chunk_groups(L) * L.cfg.num_codebooks * L.cfg.out_group *
                                                    L.codebook_entries;
  return std::max(uses_lut(L) ? lut : std::size_t(0), L.cols);
}

template <class Arch>
struct aqlm_kernels {
  // y[r] = dot(W[r, :], x) for r in [r0, r1).
  static void matvec(const view& v, const float* x, float* y, std::size_t r0, std::size_t r1, float* scratch) noexcept;
  // Y[t, r] = dot(W[r, :], X[t, :]); Y is T x rows.
  static void matmul(const view& v, const float* X, std::size_t T, float* Y, std::size_t r0, std::size_t r1,
                     float* scratch) noexcept;
  // Steps, public for tests.
  static void transpose_codebooks(const view& v, float* cbT) noexcept;  // [C][Go][Gi][K] floats
  static void build_lut(const layout& L, const float* cbT, const float* xg, float* lut) noexcept;
  static float sum_lut_entries(const float* lut, const std::uint8_t* codes, std::size_t n, std::size_t stride) noexcept;
  static void matvec_lut(const view& v, const float* x, float* y, std::size_t r0, std::size_t r1,
                         float* scratch) noexcept;
  static void decode_row_unscaled(const view& v, std::size_t row, float* out) noexcept;
  static void matmul_decoded(const view& v, const float* X, std::size_t T, float* Y, std::size_t r0, std::size_t r1,
                             float* scratch) noexcept;
};

// Scalar reference in double, from the definition (tests hold the kernels to it).
inline void matvec_reference(const view& v, const float* x, float* y, std::size_t r0, std::size_t r1) {
  std::vector<double> w(v.L.cols);
  for (std::size_t row = r0; row < r1; ++row) {
    decode_row_reference(v, row, w.data());
    double s = 0;
    for (std::size_t i = 0; i < v.L.cols; ++i) s += w[i] * double(x[i]);
    y[row] = float(s);
  }
}

namespace detail {
inline float* thread_scratch(std::size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}
// The ops table's entry points trust that validate() accepted the blob (codec.hpp's contract);
// the header is parsed again here because it is cheap and the table passes only bytes. A blob
// whose header does not parse yields no view, and the entry points write zeros instead.
inline std::optional<view> unchecked_view(std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
  auto L = read_layout(blob, rows, cols);
  if (!L) return std::nullopt;
  return view{*L, blob.data()};
}
}  // namespace detail

inline void matvec(const view& v, const float* x, float* y, std::size_t r0, std::size_t r1) {
  if (r0 >= r1) return;
  float* scratch = detail::thread_scratch(scratch_floats(v.L));
  simd::dispatch<aqlm_kernels>([&](auto k) { decltype(k)::matvec(v, x, y, r0, r1, scratch); });
}

inline void matmul(const view& v, const float* X, std::size_t T, float* Y, std::size_t r0, std::size_t r1) {
  if (r0 >= r1 || T == 0) return;
  float* scratch = detail::thread_scratch(scratch_floats(v.L));
  simd::dispatch<aqlm_kernels>([&](auto k) { decltype(k)::matmul(v, X, T, Y, r0, r1, scratch); });
}

inline const codec_ops& aqlm_ops() {
  static const codec_ops ops{
      codec_id::aqlm,
      "aqlm",
      [](std::size_t, std::size_t) -> std::optional<std::size_t> { return std::nullopt; },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) { return validate(blob, rows, cols); },
      [](const float* w, std::size_t rows, std::size_t cols, const encode_options& o) {
        encoder_options eo;
        eo.cfg = config{unsigned(std::max(o.aqlm_num_codebooks, 0)), unsigned(std::max(o.aqlm_nbits, 0)),
                        unsigned(std::max(o.aqlm_in_group, 0)), unsigned(std::max(o.aqlm_out_group, 0))};
        eo.beam = std::max(o.aqlm_beam, 1);
        eo.seed = o.seed;
        return encode(w, rows, cols, eo);
      },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, std::size_t row, float* out) {
        const auto v = detail::unchecked_view(blob, rows, cols);
        std::vector<double> w(cols, 0.0);
        if (v && row < rows) decode_row_reference(*v, row, w.data());
        for (std::size_t i = 0; i < cols; ++i) out[i] = float(w[i]);
      },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* x, float* y, std::size_t r0,
         std::size_t r1) {
        if (const auto v = detail::unchecked_view(blob, rows, cols))
          matvec(*v, x, y, r0, std::min(r1, rows));
        else
          std::fill(y + r0, y + r1, 0.f);
      },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* X, std::size_t T, float* Y,
         std::size_t r0, std::size_t r1) {
        if (const auto v = detail::unchecked_view(blob, rows, cols))
          matmul(*v, X, T, Y, r0, std::min(r1, rows));
        else
          for (std::size_t t = 0; t < T; ++t) std::fill(Y + t * rows + r0, Y + t * rows + r1, 0.f);
      },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
        return double(blob.size()) * 8.0 / (double(rows) * double(cols));
      },
  };
  return ops;
}

}  // namespace tqlib::codec::aqlm

namespace tqlib::codec {
using aqlm::aqlm_ops;
}

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/aqlm.hpp"
#endif
