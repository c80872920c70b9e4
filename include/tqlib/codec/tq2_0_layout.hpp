#pragma once
// tq2_0: llama.cpp TQ2_0 blocks, bit for bit (ggml-common.h block_tq2_0; ggml-quants.c
// quantize_row_tq2_0_ref / dequantize_row_tq2_0). 256 weights per block: 64 bytes of 2-bit codes
// then an f16 scale d; 66 bytes, 2.0625 bits/weight. Code c in {0,1,2} means w = d * (c - 1);
// code 3 never occurs and is rejected. Element order: block half h (0..1) uses bytes 32h..32h+31;
// byte 32h + m holds elements 128h + m + 32n at bits 2n..2n+1 (n = 0..3).
// Encode (as ggml): d = max|w| over the block, c = round(w / d) + 1.
// Rows must be a multiple of 256 weights. Layout spec: docs/codecs/tq2_0.md.
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

struct tq2_0_traits {
  static constexpr std::size_t block_size = 256;
  static constexpr std::size_t block_bytes = 66;
  static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;  // 2.0625
};

struct block_tq2_0 {
  std::uint8_t qs[64];  // 2 bits per element
  std::uint16_t d;      // f16 scale
};
static_assert(sizeof(block_tq2_0) == tq2_0_traits::block_bytes, "TQ2_0 block must be 66 bytes as in ggml");

struct tq2_0_layout {
  static constexpr bool split_scales = false;
  static constexpr std::size_t row_bytes(std::size_t cols) { return cols / 256 * tq2_0_traits::block_bytes; }
  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    lo = hi = detail::f16_at(row + (b / 8) * tq2_0_traits::block_bytes + 64);
  }
  // 32-block b is sub-block s = b % 8 of a 256-block: half s / 4, bit pair s % 4.
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t, std::size_t b, std::int8_t* out) noexcept {
    const std::byte* qs = row + (b / 8) * tq2_0_traits::block_bytes + 32 * ((b % 8) / 4);
    const unsigned shift = 2 * (b % 4);
    for (int m = 0; m < 32; ++m) out[m] = std::int8_t(((std::uint8_t(qs[m]) >> shift) & 3) - 1);
  }
};

struct tq2_0_format {
  static constexpr codec_id id = codec_id::tq2_0;
  static constexpr std::string_view name = "tq2_0";
  static constexpr std::size_t cols_multiple = 256;  // QK_K: one block per 256 weights, no padding
  using layout = tq2_0_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) {
    for (std::size_t k = 0; k < cols / 256; ++k) {
      const std::byte* blk = row + k * tq2_0_traits::block_bytes;
      TQLIB_TRY(detail::check_finite_scale(name, detail::f16_at(blk + 64), r, k));
      for (std::size_t j = 0; j < 64; ++j) {
        const unsigned v = std::uint8_t(blk[j]);
        // A code of 3 (binary 11) in any of the four pairs: (v & (v >> 1)) has bit 2n set.
        if ((v & (v >> 1) & 0x55u) != 0)
          return make_error(errc::corrupt, "tq2_0: code 3 (not a trit) in row " + std::to_string(r) + ", block " +
                                               std::to_string(k) + ", byte " + std::to_string(j));
      }
    }
    return {};
  }
};

}  // namespace tqlib::codec
