#pragma once
// tq1_0: llama.cpp TQ1_0 blocks, bit for bit (ggml-common.h block_tq1_0; ggml-quants.c
// quantize_row_tq1_0_ref / dequantize_row_tq1_0). 256 weights per block: qs[48] (5 trits per
// byte), qh[4] (4 trits per byte), f16 scale d; 54 bytes, 1.6875 bits/weight. Trit t = digit - 1,
// w = d * t. Bytes use the fixed-point base-3 form of detail/trit_pack.hpp (digit n of byte q is
// ((uint8)(q * 3^n) * 3) >> 8). Element order within a block:
//   e in [0, 160):   qs[e % 32],             digit e / 32
//   e in [160, 240): qs[32 + (e - 160) % 16], digit (e - 160) / 16
//   e in [240, 256): qh[(e - 240) % 4],      digit (e - 240) / 4  (4 digits, then x3: digit 4 is 0)
// Encode (as ggml): d = max|w| over the block, trit = round(w / d).
// Rows must be a multiple of 256 weights. Layout spec: docs/codecs/tq1_0.md.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"
#include "tqlib/codec/detail/trit_pack.hpp"

namespace tqlib::codec {

struct tq1_0_traits {
  static constexpr std::size_t block_size = 256;
  static constexpr std::size_t block_bytes = 54;
  static constexpr double bits_per_weight = 8.0 * block_bytes / block_size;  // 1.6875
};

struct block_tq1_0 {
  std::uint8_t qs[48];  // 5 trits per byte
  std::uint8_t qh[4];   // 4 trits per byte
  std::uint16_t d;      // f16 scale
};
static_assert(sizeof(block_tq1_0) == tq1_0_traits::block_bytes, "TQ1_0 block must be 54 bytes as in ggml");

namespace detail {
// Where element e of a TQ1_0 block lives: byte offset in the block and digit.
struct tq1_0_place {
  std::size_t byte, digit;
};
TQLIB_KERNEL_INLINE constexpr tq1_0_place tq1_0_where(std::size_t e) noexcept {
  if (e < 160) return {e % 32, e / 32};
  if (e < 240) return {32 + (e - 160) % 16, (e - 160) / 16};
  return {48 + (e - 240) % 4, (e - 240) / 4};
}
// qh bytes: 4 digits shifted up one place, so the canonical bytes are those of 5 digits ending in 0.
inline constexpr std::array<bool, 256> canonical_tq1_0_qh = [] {
  std::array<bool, 256> ok{};
  for (unsigned q = 0; q < 81; ++q) ok[(q * 3 * 256 + 242) / 243] = true;
  return ok;
}();
}  // namespace detail

struct tq1_0_layout {
  static constexpr bool split_scales = false;
  static constexpr std::size_t row_bytes(std::size_t cols) { return cols / 256 * tq1_0_traits::block_bytes; }
  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    lo = hi = detail::f16_at(row + (b / 8) * tq1_0_traits::block_bytes + 52);
  }
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t, std::size_t b, std::int8_t* out) noexcept {
    const std::byte* blk = row + (b / 8) * tq1_0_traits::block_bytes;
    for (std::size_t m = 0; m < 32; ++m) {
      const auto at = detail::tq1_0_where(32 * (b % 8) + m);
      out[m] = std::int8_t(detail::trit_digit(std::uint8_t(blk[at.byte]), at.digit) - 1);
    }
  }
};

struct tq1_0_format {
  static constexpr codec_id id = codec_id::tq1_0;
  static constexpr std::string_view name = "tq1_0";
  static constexpr std::size_t cols_multiple = 256;  // QK_K: one block per 256 weights, no padding
  using layout = tq1_0_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) {
    for (std::size_t k = 0; k < cols / 256; ++k) {
      const std::byte* blk = row + k * tq1_0_traits::block_bytes;
      TQLIB_TRY(detail::check_finite_scale(name, detail::f16_at(blk + 52), r, k));
      for (std::size_t j = 0; j < 52; ++j) {
        const std::uint8_t v = std::uint8_t(blk[j]);
        if (!(j < 48 ? detail::canonical_trits5[v] : detail::canonical_tq1_0_qh[v]))
          return make_error(errc::corrupt, "tq1_0: byte " + std::to_string(j) + " of block " + std::to_string(k) + " in row " +
                                               std::to_string(r) + " (" + std::to_string(v) + ") is not a packed base-3 value");
      }
    }
    return {};
  }
};

}  // namespace tqlib::codec
