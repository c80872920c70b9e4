#pragma once
// q8: llama.cpp Q8_0 blocks (ggml-common.h block_q8_0; ggml-quants.c quantize_row_q8_0_ref).
// 32 weights per block: f16 scale d, then 32 int8 codes; w = d * q. 34 bytes, 8.5 bits/weight.
// Encode: d = max|w| / 127, q = round(w / d). A row of cols weights is ceil(cols/32) blocks, the
// last one zero padded (identical to llama.cpp's bytes when cols is a multiple of 32).
// Matvec quantizes activations to int8 per 32 the same way and dots in int32 (vpdpbusd on VNNI).
// Layout spec: docs/codecs/q8.md.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"

namespace tqlib::codec {

struct q8_traits {
  static constexpr std::size_t block_size = 32;
  static constexpr std::size_t block_bytes = 34;
  static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;  // 8.5
};

struct block_q8_0 {
  std::uint16_t d;  // f16 scale
  std::int8_t qs[32];
};
static_assert(sizeof(block_q8_0) == q8_traits::block_bytes, "Q8_0 block must be 34 bytes as in ggml");

struct q8_layout {
  static constexpr bool split_scales = false;
  static constexpr std::size_t blocks_per_row(std::size_t cols) { return (cols + 31) / 32; }
  static constexpr std::size_t row_bytes(std::size_t cols) { return blocks_per_row(cols) * q8_traits::block_bytes; }
  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    lo = hi = detail::f16_at(row + b * q8_traits::block_bytes);
  }
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t, std::size_t b, std::int8_t* out) noexcept {
    std::memcpy(out, row + b * q8_traits::block_bytes + 2, 32);
  }
#if defined(__AVX2__)
  template <class Arch>
  TQLIB_KERNEL_INLINE static __m256i decode_avx2(const std::byte* row, std::size_t, std::size_t b) noexcept {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + b * q8_traits::block_bytes + 2));
  }
#endif
};

inline void q8_encode_row(const float* w, std::size_t cols, std::byte* out) {
  for (std::size_t b = 0; b < q8_layout::blocks_per_row(cols); ++b) {
    const std::size_t n = std::min<std::size_t>(32, cols - 32 * b);
    const float* x = w + 32 * b;
    float amax = 0.f;
    for (std::size_t j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    block_q8_0 blk{};
    blk.d = f32_to_f16(d);
    for (std::size_t j = 0; j < n; ++j) blk.qs[j] = std::int8_t(std::clamp(std::round(x[j] * id), -127.f, 127.f));
    store_le(out + b * q8_traits::block_bytes, blk.d);
    std::memcpy(out + b * q8_traits::block_bytes + 2, blk.qs, 32);
  }
}

inline void q8_decode_row(const std::byte* row, std::size_t cols, float* out) {
  for (std::size_t i = 0; i < cols; ++i) {
    const std::byte* blk = row + (i / 32) * q8_traits::block_bytes;
    out[i] = f16_to_f32(load_le<std::uint16_t>(blk)) * float(std::int8_t(blk[2 + i % 32]));
  }
}

// Scalar float reference: dequantized weights times x, in double.
inline double q8_dot_reference(const std::byte* row, std::size_t cols, const float* x) {
  std::vector<float> w(cols);
  q8_decode_row(row, cols, w.data());
  double s = 0;
  for (std::size_t i = 0; i < cols; ++i) s += double(w[i]) * x[i];
  return s;
}

template <class Arch>
struct q8_kernels {
  TQLIB_INT8_KERNEL_MEMBERS
};

inline const codec_ops& q8_ops() {
  static const codec_ops ops{
      codec_id::q8,
      "q8",
      [](std::size_t rows, std::size_t cols) -> std::optional<std::size_t> { return rows * q8_layout::row_bytes(cols); },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) -> result<void> {
        TQLIB_TRY(detail::check_blob_size("q8", blob, rows, cols, rows * q8_layout::row_bytes(cols)));
        const std::size_t nb = q8_layout::blocks_per_row(cols);
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t b = 0; b < nb; ++b) {
            const std::byte* blk = blob.data() + r * q8_layout::row_bytes(cols) + b * q8_traits::block_bytes;
            TQLIB_TRY(detail::check_finite_scale("q8", f16_to_f32(load_le<std::uint16_t>(blk)), r, b));
          }
        return {};
      },
      [](const float* w, std::size_t rows, std::size_t cols, const encode_options&) -> result<std::vector<std::byte>> {
        std::vector<std::byte> out(rows * q8_layout::row_bytes(cols));
        for (std::size_t r = 0; r < rows; ++r) q8_encode_row(w + r * cols, cols, out.data() + r * q8_layout::row_bytes(cols));
        return out;
      },
      [](std::span<const std::byte> blob, std::size_t, std::size_t cols, std::size_t row, float* out) {
        q8_decode_row(blob.data() + row * q8_layout::row_bytes(cols), cols, out);
      },
      detail::int8_matvec<q8_kernels>,
      detail::int8_matmul<q8_kernels>,
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
        return detail::bits_per_weight_of(blob.size(), rows, cols);
      },
  };
  return ops;
}

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/detail/q8_kernels.inl.hpp"
#endif
