#pragma once
// The byte layout that ggml's Q4_1, Q5_0 and Q5_1 blocks share (ggml-common.h block_q4_1,
// block_q5_0, block_q5_1): 32 weights per block, an f16 scale d, an f16 min m (Q4_1, Q5_1), the
// 32 fifth bits as a little-endian uint32 qh (Q5_0, Q5_1), then 16 bytes whose low nibbles are
// elements 0..15 and high nibbles elements 16..31. Code c = nibble | (qh bit j) << 4;
// w = d * (c - 16) for Q5_0, w = d * c + m with a min (ggml-quants.c dequantize_row_q*).
// For the int8 engine a block is d times the signed digit c - centre, plus the offset
// m + centre * d (int8_codec_ops.hpp, has_block_offsets) when the block has a min.
// Layout spec: docs/codecs/ggml_quants.md.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "tqlib/codec/detail/codec_support.hpp"

namespace tqlib::codec::detail {

template <bool HasMin, bool FifthBit>
struct ggml_block32_layout {
  static constexpr bool has_min = HasMin;
  static constexpr bool fifth_bit = FifthBit;
  static constexpr std::size_t block_bytes = 18 + (HasMin ? 2 : 0) + (FifthBit ? 4 : 0);
  static constexpr std::size_t qh_at = HasMin ? 4 : 2;               // after d (and m)
  static constexpr std::size_t qs_at = qh_at + (FifthBit ? 4 : 0);  // the 16 nibble bytes
  static constexpr int levels = FifthBit ? 32 : 16;
  static constexpr int centre = levels / 2;  // digits c - centre are signed
  static constexpr bool split_scales = false;

  static constexpr std::size_t blocks_per_row(std::size_t cols) { return (cols + 31) / 32; }
  static constexpr std::size_t row_bytes(std::size_t cols) { return blocks_per_row(cols) * block_bytes; }

  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    lo = hi = f16_at(row + b * block_bytes);
  }
  TQLIB_KERNEL_INLINE static std::uint32_t high_bits(const std::byte* block) noexcept {
    if constexpr (FifthBit) return load_le<std::uint32_t>(block + qh_at);
    else return 0;
  }
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t, std::size_t b, std::int8_t* out) noexcept {
    const std::byte* blk = row + b * block_bytes;
    const std::byte* qs = blk + qs_at;
    const std::uint32_t qh = high_bits(blk);
    for (int j = 0; j < 16; ++j) {
      const int lo = (std::uint8_t(qs[j]) & 0x0f) | int((qh >> j) & 1) << 4;
      const int hi = (std::uint8_t(qs[j]) >> 4) | int((qh >> (j + 16)) & 1) << 4;
      out[j] = std::int8_t(lo - centre);
      out[j + 16] = std::int8_t(hi - centre);
    }
  }
  // m + centre * d: the digits are c - centre.
  TQLIB_KERNEL_INLINE static float block_offset(const std::byte* row, std::size_t, std::size_t b) noexcept
    requires HasMin
  {
    const std::byte* blk = row + b * block_bytes;
    return f16_at(blk + 2) + float(centre) * f16_at(blk);
  }

  static result<void> check_row(std::string_view name, const std::byte* row, std::size_t cols, std::size_t r) {
    for (std::size_t b = 0; b < blocks_per_row(cols); ++b) {
      TQLIB_TRY(check_finite_scale(name, f16_at(row + b * block_bytes), r, b));
      if constexpr (HasMin)
        if (!std::isfinite(f16_at(row + b * block_bytes + 2)))
          return make_error(errc::corrupt, std::string(name) + ": min " + std::to_string(b) + " of row " + std::to_string(r) +
                                               " is not finite");
    }
    return {};
  }
};

}  // namespace tqlib::codec::detail
