#pragma once
// BitNet b1.58 ternary weights (Ma et al. 2024, arXiv 2402.17764, eq. 1-3): per group of 64
// weights, scale = mean|w| ("absmean"), t = clamp(round(w / scale), -1, 1), w ~ scale * t.
// Two codecs share this quantizer and differ only in how trits are packed:
//
//  bitnet  - seed 002's own packing, byte for byte: 4 trits per byte as v0 + 3 v1 + 9 v2 + 27 v3
//            with v = t + 1, weights in row order. Row layout: f16 scale per 64 weights
//            (ceil(cols/64) of them), then ceil(cols/4) packed bytes. 2 + 16/64 = 2.25 bits/weight.
//            Bytes >= 81 are not base-3 values and are rejected. bitnet_from_seed() builds a blob
//            from the seed checkpoint's packed tensor and scales tensor as they are.
//  ternary - dense: 5 trits per byte in the fixed-point form of detail/trit_pack.hpp (a trit
//            stream of ceil(cols/32) blocks). Row layout: f16 scale per 64, then the stream.
//            1.6 + 16/64 = 1.85 bits/weight (plus < 1 byte per row of tail), e.g. 1.857 at 896.
// Layout specs: docs/codecs/bitnet.md, docs/codecs/ternary.md.
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

inline constexpr std::size_t absmean_group = 64;  // seed 002: "Group Size 64"
// ---------------------------------------------------------------------------------------------
// bitnet: 4 trits per byte (seed 002)

struct bitnet_traits {
  static constexpr std::size_t group_size = absmean_group;
  static constexpr std::size_t trits_per_byte = 4;
  static constexpr double bits_per_weight = 8.0 / trits_per_byte + 16.0 / group_size;  // 2.25 (cols % 64 == 0)
};

namespace detail {
// byte -> its 4 trits (t0 in the low byte), for bytes < 81; 0 otherwise (validate rejects those).
inline constexpr std::array<std::uint32_t, 256> bitnet_byte_trits = [] {
  std::array<std::uint32_t, 256> lut{};
  for (unsigned v = 0; v < 81; ++v) {
    std::uint32_t word = 0;
    for (unsigned i = 0, x = v; i < 4; ++i, x /= 3) word |= std::uint32_t(std::uint8_t(std::int8_t(x % 3) - 1)) << (8 * i);
    lut[v] = word;
  }
  return lut;
}();
}  // namespace detail

struct bitnet_layout {
  static constexpr bool split_scales = false;
  static constexpr std::size_t groups(std::size_t cols) { return (cols + absmean_group - 1) / absmean_group; }
  static constexpr std::size_t packed_bytes(std::size_t cols) { return (cols + 3) / 4; }
  static constexpr std::size_t row_bytes(std::size_t cols) { return 2 * groups(cols) + packed_bytes(cols); }
  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    lo = hi = detail::f16_at(row + 2 * (b / 2));
  }
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t cols, std::size_t b, std::int8_t* out) noexcept {
    const std::byte* packed = row + 2 * groups(cols);
    const std::size_t bytes = packed_bytes(cols);
    for (std::size_t i = 0; i < 8; ++i) {
      const std::size_t j = 8 * b + i;
      const std::uint32_t word = j < bytes ? detail::bitnet_byte_trits[std::uint8_t(packed[j])] : 0u;
      for (std::size_t k = 0; k < 4; ++k) out[4 * i + k] = std::int8_t(std::uint8_t(word >> (8 * k)));
    }
  }
};

// ---------------------------------------------------------------------------------------------
// ternary: 5 trits per byte

struct ternary_traits {
  static constexpr std::size_t group_size = absmean_group;
  static constexpr double trit_bits = 8.0 / 5.0;
  static constexpr double bits_per_weight = trit_bits + 16.0 / group_size;  // 1.85 before the row tail
};

struct ternary_layout {
  static constexpr bool split_scales = false;
  static constexpr std::size_t groups(std::size_t cols) { return (cols + absmean_group - 1) / absmean_group; }
  static constexpr std::size_t blocks(std::size_t cols) { return (cols + 31) / 32; }
  static constexpr std::size_t row_bytes(std::size_t cols) { return 2 * groups(cols) + detail::trit_stream_bytes(blocks(cols)); }
  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    lo = hi = detail::f16_at(row + 2 * (b / 2));
  }
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t cols, std::size_t b, std::int8_t* out) noexcept {
    detail::decode_trit_block(row + 2 * groups(cols), blocks(cols), b, out);
  }
};

namespace detail {

// Scales finite, and every packed byte a value the packing can produce.
inline result<void> check_ternary_family_row(std::string_view name, bool five_per_byte, const std::byte* row, std::size_t cols,
                                             std::size_t r) {
  const std::size_t groups = (cols + absmean_group - 1) / absmean_group;
  const std::size_t row_bytes = five_per_byte ? ternary_layout::row_bytes(cols) : bitnet_layout::row_bytes(cols);
  for (std::size_t g = 0; g < groups; ++g) TQLIB_TRY(check_finite_scale(name, f16_at(row + 2 * g), r, g));
  for (std::size_t j = 2 * groups; j < row_bytes; ++j) {
    const std::uint8_t v = std::uint8_t(row[j]);
    if (five_per_byte ? !canonical_trits5[v] : v >= 81)
      return make_error(errc::corrupt, std::string(name) + ": byte " + std::to_string(j - 2 * groups) + " of row " +
                                           std::to_string(r) + " (" + std::to_string(v) + ") is not a packed base-3 value" +
                                           (five_per_byte ? "" : " (< 81)"));
  }
  return {};
}

}  // namespace detail

struct bitnet_format {
  static constexpr codec_id id = codec_id::bitnet;
  static constexpr std::string_view name = "bitnet";
  static constexpr std::size_t cols_multiple = 1;
  using layout = bitnet_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) {
    return detail::check_ternary_family_row(name, false, row, cols, r);
  }
};

struct ternary_format {
  static constexpr codec_id id = codec_id::ternary;
  static constexpr std::string_view name = "ternary";
  static constexpr std::size_t cols_multiple = 1;
  using layout = ternary_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) {
    return detail::check_ternary_family_row(name, true, row, cols, r);
  }
};

}  // namespace tqlib::codec
