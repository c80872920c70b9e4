#pragma once
// Encoders of ggml's Q4_1, Q5_0 and Q5_1 blocks (layout: ggml_block32.hpp), rounding as ggml's
// reference quantizers do (ggml-quants.c quantize_row_q4_1_ref, _q5_0_ref, _q5_1_ref), so tqlib
// writes the bytes llama-quantize writes for the same floats.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"

namespace tqlib::codec::detail {

template <class Layout>
void ggml_block32_encode_row(const float* w, std::size_t cols, std::byte* out) {
  constexpr int top = Layout::levels - 1;
  for (std::size_t b = 0; b < Layout::blocks_per_row(cols); ++b) {
    float x[32] = {};
    std::copy_n(w + 32 * b, std::min<std::size_t>(32, cols - 32 * b), x);
    std::byte* blk = out + b * Layout::block_bytes;
    int q[32];
    if constexpr (Layout::has_min) {
      const auto [lo, hi] = std::minmax_element(x, x + 32);
      const float d = (*hi - *lo) / float(top), id = d != 0.f ? 1.f / d : 0.f;
      store_le(blk, f32_to_f16(d));
      store_le(blk + 2, f32_to_f16(*lo));
      // (x - min) * id + 0.5 >= 0: truncation rounds to nearest.
      for (int j = 0; j < 32; ++j) q[j] = std::min(top, int((x[j] - *lo) * id + 0.5f));
    } else {
      float amax = 0.f, m = 0.f;
      for (float v : x)
        if (std::fabs(v) > amax) amax = std::fabs(v), m = v;
      const float d = m / -float(Layout::centre), id = d != 0.f ? 1.f / d : 0.f;
      store_le(blk, f32_to_f16(d));
      for (int j = 0; j < 32; ++j) q[j] = std::min(top, int(x[j] * id + (float(Layout::centre) + 0.5f)));  // 16.5f as ggml adds it
    }
    std::uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      blk[Layout::qs_at + j] = std::byte(std::uint8_t((q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4));
      qh |= std::uint32_t(q[j] >> 4) << j | std::uint32_t(q[j + 16] >> 4) << (j + 16);
    }
    if constexpr (Layout::fifth_bit) store_le(blk + Layout::qh_at, qh);
  }
}

}  // namespace tqlib::codec::detail
