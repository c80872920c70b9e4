#pragma once
// q4_0: the codec (encoder, kernels, codec_ops) over the byte layout of q4_0_layout.hpp.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/q4_0_layout.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"

namespace tqlib::codec {

inline void q4_0_encode_row(const float* w, std::size_t cols, std::byte* out) {
  for (std::size_t b = 0; b < q4_0_layout::blocks_per_row(cols); ++b) {
    float x[32] = {};
    std::copy_n(w + 32 * b, std::min<std::size_t>(32, cols - 32 * b), x);
    float amax = 0.f, m = 0.f;
    for (float v : x)
      if (std::fabs(v) > amax) amax = std::fabs(v), m = v;
    const float d = m / -8.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    std::byte* blk = out + b * q4_0_traits::block_bytes;
    store_le(blk, f32_to_f16(d));
    for (int j = 0; j < 16; ++j) {
      // +8.5 then truncation = round to nearest for the shifted non-negative value, as ggml does.
      const int lo = std::min(15, int(std::max(0.f, x[j] * id + 8.5f)));
      const int hi = std::min(15, int(std::max(0.f, x[j + 16] * id + 8.5f)));
      blk[2 + j] = std::byte(std::uint8_t(lo | (hi << 4)));
    }
  }
}

template <class Arch>
using q4_0_kernels = detail::int8_kernels<Arch, q4_0_layout>;

struct q4_0_codec : q4_0_format {
  template <class Arch>
  using kernels = q4_0_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { q4_0_encode_row(w, cols, out); }
};

inline const codec_ops& q4_0_ops() { return detail::int8_codec_ops<q4_0_codec>(); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/q4_0.hpp"
#endif
