#pragma once
// Activations quantized to int8 in blocks of 32, as llama.cpp quantizes activations for its Q8_0
// dot products (ggml-quants.c, quantize_row_q8_0_ref): d = max|x| / 127, q = round(x / d).
// Integer codecs (q8, q4_0, ternary, bitnet, tq1_0, tq2_0, trit2) then compute each row as
//   y = sum over 32-blocks b of  scale_w(b) * d(b) * sum_j w_j * q_j
// with the inner sum exact in int32. The activation error this adds is at most d/2 per element.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace tqlib::codec {

inline constexpr std::size_t act_block = 32;

// Read-only view handed to the SIMD kernels (plain pointers, see CONTRIBUTING.md).
struct act_view {
  const std::int8_t* q;       // blocks * 32 values, zero padded past cols
  const float* d;             // one scale per block
  const std::int32_t* bias4;  // blocks * 8: -128 * (sum of each 4 consecutive q), see below
  std::size_t blocks;
  const float* dsum;          // one per block: d * (sum of its q), see below
};

struct int8_activations {
  std::size_t cols = 0;
  std::size_t blocks = 0;
  std::vector<std::int8_t> q;
  std::vector<float> d;
  // vpdpbusd multiplies unsigned by signed bytes. Kernels feed it u = w + 128 (w ^ 0x80) and start
  // each lane's accumulator at -128 * (its 4 activations' sum), so the lane ends at exactly
  // sum w*q. Precomputed here once per activation vector instead of once per weight row.
  std::vector<std::int32_t> bias4;
  // Codecs whose weights are scale * code + offset per block (q4_1, q5_1, q4_k, q5_k; ggml's
  // "min") add offset * dsum[b] per block: the offset times the block's activations, as quantized.
  std::vector<float> dsum;

  act_view view() const noexcept { return {q.data(), d.data(), bias4.data(), blocks, dsum.data()}; }
};

namespace detail {
// max |x_i| of n floats, through the bit patterns: with the sign bit cleared they order as the
// magnitudes do, Inf and NaN above every finite value, and an integer max reduction vectorises
// where a float one (std::max's NaN rules) does not.
inline float activation_amax(const float* x, std::size_t n) noexcept {
  std::uint32_t m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::bit_cast<std::uint32_t>(x[i]) & 0x7fffffffu);
  return std::bit_cast<float>(m);
}

// q_i = round(x_i * id) (half away from zero, as std::round), clamped to +-127. Truncating
// v + copysign(0.5 - 2^-25, v) equals std::round(v) for every float |v| <= 200 (checked for all
// of them) and vectorises, where std::round is a libm call per element.
inline void round_activations(const float* x, std::size_t n, float id, std::int8_t* q) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i] * id;
    const std::int32_t r = std::int32_t(v + std::copysign(0.49999997f, v));
    q[i] = std::int8_t(std::clamp<std::int32_t>(r, -127, 127));
  }
}
}  // namespace detail

inline void quantize_activations(const float* x, std::size_t cols, int8_activations& a) {
  a.cols = cols;
  a.blocks = (cols + act_block - 1) / act_block;
  a.q.assign(a.blocks * act_block, 0);
  a.d.assign(a.blocks, 0.f);
  a.bias4.assign(a.blocks * act_block / 4, 0);
  a.dsum.assign(a.blocks, 0.f);
  for (std::size_t b = 0; b < a.blocks; ++b) {
    const std::size_t begin = b * act_block, n = std::min(cols, begin + act_block) - begin;
    const float amax = detail::activation_amax(x + begin, n);
    if (!(amax <= std::numeric_limits<float>::max())) {  // Inf or NaN: let a NaN reach the output, not UB
      a.d[b] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const float d = amax / 127.f;
    const float id = d > 0.f ? 1.f / d : 0.f;
    a.d[b] = d;
    // |x * id| <= 127 (+ rounding) here, so the int32 conversion cannot overflow.
    detail::round_activations(x + begin, n, id, a.q.data() + begin);
  }
  for (std::size_t l = 0; l < a.bias4.size(); ++l)
    a.bias4[l] = -128 * (a.q[4 * l] + a.q[4 * l + 1] + a.q[4 * l + 2] + a.q[4 * l + 3]);
  for (std::size_t b = 0; b < a.blocks; ++b) {
    std::int32_t sum = 0;
    for (std::size_t j = 0; j < act_block; ++j) sum += a.q[b * act_block + j];
    a.dsum[b] = a.d[b] * float(sum);
  }
}

}  // namespace tqlib::codec
