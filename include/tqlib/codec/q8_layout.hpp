#pragma once
// q8: llama.cpp Q8_0 blocks (ggml-common.h block_q8_0; ggml-quants.c quantize_row_q8_0_ref).
// 32 weights per block: f16 scale d, then 32 int8 codes; w = d * q. 34 bytes, 8.5 bits/weight.
// Encode: d = max|w| / 127, q = round(w / d). A row of cols weights is ceil(cols/32) blocks, the
// last one zero padded (identical to llama.cpp's bytes when cols is a multiple of 32).
// Matvec quantizes activations to int8 per 32 the same way and dots in int32 (vpdpbusd on VNNI).
// Layout spec: docs/codecs/q8.md.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"

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
};

struct q8_format {
  static constexpr codec_id id = codec_id::q8;
  static constexpr std::string_view name = "q8";
  static constexpr std::size_t cols_multiple = 1;
  using layout = q8_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) {
    for (std::size_t b = 0; b < q8_layout::blocks_per_row(cols); ++b)
      TQLIB_TRY(detail::check_finite_scale(name, detail::f16_at(row + b * q8_traits::block_bytes), r, b));
    return {};
  }
};

}  // namespace tqlib::codec
