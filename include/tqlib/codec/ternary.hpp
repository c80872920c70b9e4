#pragma once
// ternary: the codec (encoder, kernels, codec_ops) over the byte layout of ternary_layout.hpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/ternary_layout.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"
#include "tqlib/codec/detail/trit_pack.hpp"

namespace tqlib::codec {


// Digits (t + 1) and the absmean scale of each group of 64 (the last group may be shorter; its
// mean is over the weights it has). Digits past cols are 1 (t = 0).
inline void absmean_ternarize(const float* w, std::size_t cols, std::vector<std::uint8_t>& digits, std::vector<float>& scales) {
  const std::size_t groups = (cols + absmean_group - 1) / absmean_group;
  digits.assign((cols + 31) / 32 * 32, 1);
  scales.assign(groups, 0.f);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t begin = g * absmean_group, end = std::min(cols, begin + absmean_group);
    double sum = 0;
    for (std::size_t i = begin; i < end; ++i) sum += std::fabs(w[i]);
    const float scale = float(sum / double(end - begin));
    scales[g] = scale;
    const float inv = scale > 0.f ? 1.f / scale : 0.f;
    for (std::size_t i = begin; i < end; ++i) digits[i] = std::uint8_t(int(std::clamp(std::round(w[i] * inv), -1.f, 1.f)) + 1);
  }
}

inline void bitnet_encode_row(const float* w, std::size_t cols, std::byte* out) {
  std::vector<std::uint8_t> digits;
  std::vector<float> scales;
  absmean_ternarize(w, cols, digits, scales);
  for (std::size_t g = 0; g < scales.size(); ++g) store_le(out + 2 * g, f32_to_f16(scales[g]));
  std::byte* packed = out + 2 * scales.size();
  for (std::size_t j = 0; j < bitnet_layout::packed_bytes(cols); ++j)
    packed[j] = std::byte(std::uint8_t(digits[4 * j] + 3 * digits[4 * j + 1] + 9 * digits[4 * j + 2] + 27 * digits[4 * j + 3]));
}

// Builds a bitnet blob from seed 002's tensors as stored: `packed` holds rows*cols/4 bytes (the
// flattened weight, 4 per byte) and `scales` rows*cols/64 group scales (read from the checkpoint's
// dtype into float by the caller). Groups run along the flattened tensor, so rows must be a
// multiple of 64 for a group never to straddle two rows.
inline result<std::vector<std::byte>> bitnet_from_seed(std::span<const std::uint8_t> packed, std::span<const float> scales,
                                                       std::size_t rows, std::size_t cols) {
  TQLIB_TRY(detail::check_cols_multiple("bitnet (seed 002 checkpoint)", cols, absmean_group));
  if (packed.size() != rows * cols / 4)
    return make_error(errc::invalid_argument, "bitnet: packed tensor has " + std::to_string(packed.size()) +
                                                  " bytes, " + detail::shape_text(rows, cols) + " needs " +
                                                  std::to_string(rows * cols / 4));
  if (scales.size() != rows * cols / absmean_group)
    return make_error(errc::invalid_argument, "bitnet: scales tensor has " + std::to_string(scales.size()) +
                                                  " entries, " + detail::shape_text(rows, cols) + " needs " +
                                                  std::to_string(rows * cols / absmean_group));
  const std::size_t groups = cols / absmean_group, bytes = cols / 4;
  std::vector<std::byte> out(rows * bitnet_layout::row_bytes(cols));
  for (std::size_t r = 0; r < rows; ++r) {
    std::byte* row = out.data() + r * bitnet_layout::row_bytes(cols);
    for (std::size_t g = 0; g < groups; ++g) {
      const float s = scales[r * groups + g];
      TQLIB_TRY(detail::check_finite_scale("bitnet", s, r, g));
      store_le(row + 2 * g, f32_to_f16(s));
    }
    for (std::size_t j = 0; j < bytes; ++j) {
      const std::uint8_t v = packed[r * bytes + j];
      if (v >= 81)
        return make_error(errc::corrupt, "bitnet: packed byte " + std::to_string(r * bytes + j) + " is " +
                                             std::to_string(v) + ", not a 4-trit base-3 value (< 81)");
      row[2 * groups + j] = std::byte(v);
    }
  }
  return out;
}

template <class Arch>
using bitnet_kernels = detail::int8_kernels<Arch, bitnet_layout>;

inline void ternary_encode_row(const float* w, std::size_t cols, std::byte* out) {
  std::vector<std::uint8_t> digits;
  std::vector<float> scales;
  absmean_ternarize(w, cols, digits, scales);
  for (std::size_t g = 0; g < scales.size(); ++g) store_le(out + 2 * g, f32_to_f16(scales[g]));
  detail::encode_trit_stream(digits.data(), ternary_layout::blocks(cols), out + 2 * scales.size());
}

template <class Arch>
using ternary_kernels = detail::int8_kernels<Arch, ternary_layout>;

// ---------------------------------------------------------------------------------------------
// codec_ops for both

struct bitnet_codec : bitnet_format {
  template <class Arch>
  using kernels = bitnet_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { bitnet_encode_row(w, cols, out); }
};

inline const codec_ops& bitnet_ops() { return detail::int8_codec_ops<bitnet_codec>(); }

struct ternary_codec : ternary_format {
  template <class Arch>
  using kernels = ternary_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { ternary_encode_row(w, cols, out); }
};

inline const codec_ops& ternary_ops() { return detail::int8_codec_ops<ternary_codec>(); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/ternary.hpp"
#endif
