#pragma once
// TQ4_1S (seed 000, "TurboQuant 4-bit with 1-bit signs"): each block of 256 weights of a row is
// rotated by a randomized Walsh-Hadamard transform and every rotated coordinate is coded with the
// 16-level Lloyd-Max quantizer of N(0, 1) (Max 1960) times one f16 scale per block; the sign of
// each coordinate is a separate bit plane (32 bytes) and the 3-bit magnitude index three more
// planes (96 bytes). 130 bytes per 256 weights = 4.0625 bits/weight; a row of 896 ends with a
// 128 block (66 bytes), 4.071 bits/weight all-in. Layout and rules: docs/codecs/tq4_1s.md.
#include "tqlib/codec/lloyd_max.hpp"
#include "tqlib/codec/sign_magnitude.hpp"

namespace tqlib::codec {

// Rotation seed of every TQ4_1S file ("TQ4_1S" in ASCII, docs/codecs/tq4_1s.md).
inline constexpr std::uint64_t tq4_1s_seed = 0x0000'5451'345f'3153ull;

inline const sm_magnitudes& tq4_1s_magnitudes() {
  // The positive half of the 4-bit Gaussian design, the same for every block size.
  static const sm_magnitudes m = [] {
    sm_magnitudes out;
    constexpr auto q = lloyd_max::gaussian<4>;
    for (auto& size : out.by_size)
      for (std::size_t k = 0; k < 8; ++k) size[k] = float(q.levels[8 + k]);
    return out;
  }();
  return m;
}

inline const sm_format& tq4_1s_format() {
  static const sm_format f{codec_id::tq4_1s, "tq4_1s", sm_layout_of(codec_id::tq4_1s)->magnitude_bits, tq4_1s_seed, sm_scale_rule::mse_search, &tq4_1s_magnitudes};
  return f;
}

inline const codec_ops& tq4_1s_ops() {
  static const codec_ops ops{
      codec_id::tq4_1s,
      "tq4_1s",
      [](std::size_t rows, std::size_t cols) { return sm_packed_size(tq4_1s_format().magnitude_bits, rows, cols); },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
        return sm_validate(tq4_1s_format(), blob, rows, cols);
      },
      [](const float* w, std::size_t rows, std::size_t cols, const encode_options&) {
        return sm_encode(tq4_1s_format(), w, rows, cols);
      },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, std::size_t row, float* out) {
        sm_decode_row(tq4_1s_format(), blob, rows, cols, row, out);
      },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* x, float* y, std::size_t r0,
         std::size_t r1) { sm_matvec(tq4_1s_format(), blob, rows, cols, x, y, r0, r1); },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* X, std::size_t T, float* Y,
         std::size_t r0, std::size_t r1) { sm_matmul(tq4_1s_format(), blob, rows, cols, X, T, Y, r0, r1); },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
        return rows != 0 && cols != 0 ? 8.0 * double(blob.size()) / double(rows * cols) : 0.0;
      },
  };
  return ops;
}

}  // namespace tqlib::codec
