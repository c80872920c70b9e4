#pragma once
// q4_0: llama.cpp Q4_0 blocks (ggml-common.h block_q4_0; ggml-quants.c quantize_row_q4_0_ref),
// the 4-bit baseline the README compares with. 32 weights per block: f16 scale d, then 16 bytes
// whose low nibbles are elements 0..15 and high nibbles elements 16..31; w = d * (q - 8).
// 18 bytes, 4.5 bits/weight. Encode (as ggml): m = the element of largest magnitude (signed),
// d = m / -8, q = min(15, int(w / d + 8.5)). Rows are ceil(cols/32) blocks, the last zero padded.
// Layout spec: docs/codecs/q4_0.md.
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

struct q4_0_traits {
  static constexpr std::size_t block_size = 32;
  static constexpr std::size_t block_bytes = 18;
  static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;  // 4.5
};

struct block_q4_0 {
  std::uint16_t d;  // f16 scale
  std::uint8_t qs[16];
};
static_assert(sizeof(block_q4_0) == q4_0_traits::block_bytes, "Q4_0 block must be 18 bytes as in ggml");

struct q4_0_layout {
  static constexpr bool split_scales = false;
  static constexpr std::size_t blocks_per_row(std::size_t cols) { return (cols + 31) / 32; }
  static constexpr std::size_t row_bytes(std::size_t cols) { return blocks_per_row(cols) * q4_0_traits::block_bytes; }
  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    lo = hi = detail::f16_at(row + b * q4_0_traits::block_bytes);
  }
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t, std::size_t b, std::int8_t* out) noexcept {
    const std::byte* qs = row + b * q4_0_traits::block_bytes + 2;
    for (int j = 0; j < 16; ++j) {
      out[j] = std::int8_t((std::uint8_t(qs[j]) & 0x0f) - 8);
      out[j + 16] = std::int8_t((std::uint8_t(qs[j]) >> 4) - 8);
    }
  }
};

struct q4_0_format {
  static constexpr codec_id id = codec_id::q4_0;
  static constexpr std::string_view name = "q4_0";
  static constexpr std::size_t cols_multiple = 1;
  using layout = q4_0_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) {
    for (std::size_t b = 0; b < q4_0_layout::blocks_per_row(cols); ++b)
      TQLIB_TRY(detail::check_finite_scale(name, detail::f16_at(row + b * q4_0_traits::block_bytes), r, b));
    return {};
  }
};

}  // namespace tqlib::codec
