#pragma once
// Balanced trits of depth d (seed 004, "trit-uniform-d2"): each weight is a d-digit
// balanced-ternary integer q = sum_k 3^k t_k, t_k in {-1,0,1} (d = 2: 9 levels -4..4), times a
// scale per group of 16 weights; uniform post-training quantization. Codec `trit2` is d = 2.
//
// Bits: trits are packed 5 per byte (detail/trit_pack.hpp, 1.6 bits/trit, so 3.2 bits/weight at
// d = 2). An f16 scale per 16 weights would add 1 bit/weight (4.2 in all), over the seed's 3.47,
// so scales are two-level, as k-quants do it: one f32 scale per row and a 4-bit code k per group,
// s_group = s_row * 2^(-k/2) (16 steps of sqrt 2, a 181x range). 0.25 bits/weight for the codes:
// 3.45 bits/weight plus 32 bits per row plus < 1 byte of stream tail, e.g. 3.491 at 896 columns and
// 3.457 at 4864.
//
// Row layout: f32 s_row (little endian) | ceil(G/2) bytes of group codes (group g in byte g/2, low
// nibble for even g) | trit stream of d * ceil(cols/32) blocks: block d*b + k holds digit k (3^k)
// of the 32 weights of block b.
// Encode: s_row = max over groups of max|w| / L (L = (3^d - 1)/2); for each group the code k (0..15)
// with the least squared error sum (w - s q)^2, q = clamp(round(w / s), -L, L), s = s_row * 2^(-k/2)
// (ties to the smaller k). That search is MSE-optimal over the 16 scales on offer: it may clip the
// group's largest weight when that lowers the total error.
// Layout spec: docs/codecs/trit2.md.
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

template <int Depth>
struct trit_traits {
  static_assert(Depth >= 1 && Depth <= 4, "|q| <= (3^4 - 1)/2 = 40 keeps weights in int8");
  static constexpr int depth = Depth;
  static constexpr int max_level = [] {
    int p = 1;
    for (int k = 0; k < Depth; ++k) p *= 3;
    return (p - 1) / 2;
  }();
  static constexpr std::size_t group_size = 16;  // seed 004: "group size of 16"
  static constexpr std::size_t scale_code_bits = 4;
  static constexpr double bits_per_weight = 1.6 * Depth + double(scale_code_bits) / group_size;  // + f32 per row
};

// s_group / s_row for code k: 2^(-k/2), as the nearest f32.
inline constexpr std::array<float, 16> trit_group_scale = [] {
  std::array<float, 16> t{};
  for (int k = 0; k < 16; ++k)
    t[std::size_t(k)] = float((k % 2 ? 0.70710678118654752440 : 1.0) / double(1u << (k / 2)));
  return t;
}();

template <int Depth>
struct trit_layout {
  static constexpr bool split_scales = true;
  static constexpr std::size_t groups(std::size_t cols) { return (cols + 15) / 16; }
  static constexpr std::size_t blocks(std::size_t cols) { return (cols + 31) / 32; }
  static constexpr std::size_t code_bytes(std::size_t cols) { return (groups(cols) + 1) / 2; }
  static constexpr std::size_t stream_offset(std::size_t cols) { return 4 + code_bytes(cols); }
  static constexpr std::size_t row_bytes(std::size_t cols) {
    return stream_offset(cols) + detail::trit_stream_bytes(Depth * blocks(cols));
  }
  // Groups 2b and 2b+1 share code byte b.
  TQLIB_KERNEL_INLINE static void scales(const std::byte* row, std::size_t, std::size_t b, float& lo, float& hi) noexcept {
    float s;
    std::memcpy(&s, row, 4);
    const std::uint8_t codes = std::uint8_t(row[4 + b]);
    lo = s * trit_group_scale[codes & 15u];
    hi = s * trit_group_scale[codes >> 4];
  }
  TQLIB_KERNEL_INLINE static void decode(const std::byte* row, std::size_t cols, std::size_t b, std::int8_t* out) noexcept {
    const std::byte* stream = row + stream_offset(cols);
    const std::size_t n = Depth * blocks(cols);
    std::int8_t t[32];
    std::memset(out, 0, 32);
    for (int k = Depth - 1; k >= 0; --k) {
      detail::decode_trit_block(stream, n, Depth * b + std::size_t(k), t);
      for (int m = 0; m < 32; ++m) out[m] = std::int8_t(3 * out[m] + t[m]);
    }
  }
};

template <int Depth>
result<void> trit_check_row(std::string_view name, const std::byte* row, std::size_t cols, std::size_t r) {
  using L = trit_layout<Depth>;
  const float s = load_le<float>(row);
  TQLIB_TRY(detail::check_finite_scale(name, s, r, 0));
  if (s < 0.f) return make_error(errc::corrupt, std::string(name) + ": row scale of row " + std::to_string(r) + " is negative");
  for (std::size_t j = L::stream_offset(cols); j < L::row_bytes(cols); ++j)
    if (!detail::canonical_trits5[std::uint8_t(row[j])])
      return make_error(errc::corrupt, std::string(name) + ": trit byte " + std::to_string(j - L::stream_offset(cols)) + " of row " +
                                           std::to_string(r) + " (" + std::to_string(unsigned(row[j])) +
                                           ") is not a packed base-3 value");
  return {};
}

using trit2_traits = trit_traits<2>;
using trit2_layout = trit_layout<2>;

struct trit2_format {
  static constexpr codec_id id = codec_id::trit2;
  static constexpr std::string_view name = "trit2";
  static constexpr std::size_t cols_multiple = 1;
  using layout = trit2_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) { return trit_check_row<2>(name, row, cols, r); }
};

}  // namespace tqlib::codec
