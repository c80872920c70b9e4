#pragma once
// The byte layouts of ggml's K-quants (ggml-common.h block_q4_K, block_q5_K, block_q6_K;
// dequantize_row_q4_K / _q5_K / _q6_K in ggml-quants.c): super-blocks of QK_K = 256 weights,
// read by the int8 engine as eight 32-blocks each.
//
// Q4_K (144 bytes) and Q5_K (176 bytes): f16 d, f16 dmin, 12 bytes packing eight 6-bit scales sc
// and eight 6-bit mins m, [Q5_K: 32 bytes qh,] 128 bytes qs. 32-block j (0..7) takes the low
// nibbles (j even) or high nibbles (j odd) of qs[32 * (j / 2) ..][0..31]; Q5_K adds bit j of
// qh[0..31] as the code's fifth bit. w = d * sc_j * c - dmin * m_j.
// For the engine: digit c - centre, scale d * sc_j, block offset centre * d * sc_j - dmin * m_j.
//
// Q6_K (210 bytes): 128 bytes ql, 64 bytes qh, 16 int8 scales, f16 d. Each half n (128 weights)
// uses ql[64n ..], qh[32n ..], scales[8n ..]; its 32-block k (0..3) takes the low (k < 2) or high
// nibbles of ql[64n + 32 (k % 2) ..][0..31] and bits 2k, 2k + 1 of qh[32n ..][0..31] as the two
// high bits; w = d * scales[8n + 2k + (l >= 16)] * (c - 32): one scale per 16 weights.
// Layout spec: docs/codecs/ggml_quants.md.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tqlib/codec/detail/codec_support.hpp"

namespace tqlib::codec::detail {

// The 6-bit scale and min of 32-block j (0..7) from the 12 packed bytes (ggml-quants.c
// get_scale_min_k4): j < 4 in the low 6 bits of bytes j and j + 4; j >= 4 in the nibbles of byte
// j + 4 with their top two bits in the top bits of bytes j - 4 and j.
TQLIB_KERNEL_INLINE void k_scale_min(const std::byte* packed, std::size_t j, int& sc, int& m) noexcept {
  const auto q = [&](std::size_t i) { return int(std::uint8_t(packed[i])); };
  if (j < 4) {
    sc = q(j) & 63;
    m = q(j + 4) & 63;
  } else {
    sc = (q(j + 4) & 0x0f) | (q(j - 4) >> 6) << 4;
    m = (q(j + 4) >> 4) | (q(j) >> 6) << 4;
  }
}

// Q4_K (FifthBit false) and Q5_K (true).
template <bool FifthBit>
struct k_quant_min_layout {
  static constexpr bool fifth_bit = FifthBit;
  static constexpr std::size_t block_bytes = FifthBit ? 176 : 144;
  static constexpr std::size_t scales_at = 4, qh_at = 16, qs_at = FifthBit ? 48 : 16;
  static constexpr int levels = FifthBit ? 32 : 16;
  static constexpr int centre = levels / 2;
  static constexpr bool split_scales = false;

  static constexpr std::size_t row_bytes(std::size_t cols) { return cols / 256 * block_bytes; }

  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    const std::byte* sb = row + (b / 8) * block_bytes;
    int sc, m;
    k_scale_min(sb + scales_at, b % 8, sc, m);
    lo = hi = f16_at(sb) * float(sc);
  }
  TQLIB_KERNEL_INLINE static float block_offset(const std::byte* row, std::size_t, std::size_t b) noexcept {
    const std::byte* sb = row + (b / 8) * block_bytes;
    int sc, m;
    k_scale_min(sb + scales_at, b % 8, sc, m);
    return float(centre * sc) * f16_at(sb) - float(m) * f16_at(sb + 2);
  }
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t, std::size_t b, std::int8_t* out) noexcept {
    const std::byte* sb = row + (b / 8) * block_bytes;
    const std::size_t j = b % 8;
    const std::byte* qs = sb + qs_at + 32 * (j / 2);
    const unsigned shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) {
      int c = (std::uint8_t(qs[l]) >> shift) & 0x0f;
      if constexpr (FifthBit) c |= ((std::uint8_t(sb[qh_at + l]) >> j) & 1) << 4;
      out[l] = std::int8_t(c - centre);
    }
  }

  static result<void> check_row(std::string_view name, const std::byte* row, std::size_t cols, std::size_t r) {
    for (std::size_t k = 0; k < cols / 256; ++k) {
      const std::byte* sb = row + k * block_bytes;
      TQLIB_TRY(check_finite_scale(name, f16_at(sb), r, k));
      if (!std::isfinite(f16_at(sb + 2)))
        return make_error(errc::corrupt, std::string(name) + ": min scale (dmin) " + std::to_string(k) + " of row " +
                                             std::to_string(r) + " is not finite");
    }
    return {};
  }
};

struct q6_k_block_layout {
  static constexpr std::size_t block_bytes = 210;
  static constexpr std::size_t ql_at = 0, qh_at = 128, scales_at = 192, d_at = 208;
  static constexpr int centre = 32;
  static constexpr bool split_scales = true;

  static constexpr std::size_t row_bytes(std::size_t cols) { return cols / 256 * block_bytes; }

  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    const std::byte* sb = row + (b / 8) * block_bytes;
    const float d = f16_at(sb + d_at);
    const std::byte* sc = sb + scales_at + 2 * (b % 8);  // 8n + 2k = 2 (b % 8)
    lo = d * float(std::int8_t(sc[0]));
    hi = d * float(std::int8_t(sc[1]));
  }
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t, std::size_t b, std::int8_t* out) noexcept {
    const std::byte* sb = row + (b / 8) * block_bytes;
    const std::size_t n = (b % 8) / 4, k = b % 4;
    const std::byte* ql = sb + ql_at + 64 * n + 32 * (k % 2);
    const std::byte* qh = sb + qh_at + 32 * n;
    const unsigned lshift = 4 * (k / 2), hshift = 2 * k;
    for (int l = 0; l < 32; ++l) {
      const int c = ((std::uint8_t(ql[l]) >> lshift) & 0x0f) | ((std::uint8_t(qh[l]) >> hshift) & 3) << 4;
      out[l] = std::int8_t(c - centre);
    }
  }

  static result<void> check_row(std::string_view name, const std::byte* row, std::size_t cols, std::size_t r) {
    for (std::size_t k = 0; k < cols / 256; ++k) TQLIB_TRY(check_finite_scale(name, f16_at(row + k * block_bytes + d_at), r, k));
    return {};
  }
};

}  // namespace tqlib::codec::detail
