#pragma once
// q8: the codec (encoder, kernels, codec_ops) over the byte layout of q8_layout.hpp.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/q8_layout.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"

namespace tqlib::codec {

inline void q8_encode_row(const float* w, std::size_t cols, std::byte* out) {
  for (std::size_t b = 0; b < q8_layout::blocks_per_row(cols); ++b) {
    const std::size_t n = std::min<std::size_t>(32, cols - 32 * b);
    const float* x = w + 32 * b;
    float amax = 0.f;
    for (std::size_t j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    block_q8_0 blk{};
    blk.d = f32_to_f16(d);
    for (std::size_t j = 0; j < n; ++j) blk.qs[j] = std::int8_t(std::clamp(std::round(x[j] * id), -127.f, 127.f));
    store_le(out + b * q8_traits::block_bytes, blk.d);
    std::memcpy(out + b * q8_traits::block_bytes + 2, blk.qs, 32);
  }
}

template <class Arch>
using q8_kernels = detail::int8_kernels<Arch, q8_layout>;

struct q8_codec : q8_format {
  template <class Arch>
  using kernels = q8_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { q8_encode_row(w, cols, out); }
};

inline const codec_ops& q8_ops() { return detail::int8_codec_ops<q8_codec>(); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/q8.hpp"
#endif
