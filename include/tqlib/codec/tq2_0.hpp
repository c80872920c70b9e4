#pragma once
// tq2_0: the codec (encoder, kernels, codec_ops) over the byte layout of tq2_0_layout.hpp.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/tq2_0_layout.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"

namespace tqlib::codec {

inline void tq2_0_encode_row(const float* w, std::size_t cols, std::byte* out) {
  for (std::size_t k = 0; k < cols / 256; ++k) {
    const float* x = w + 256 * k;
    std::byte* blk = out + k * tq2_0_traits::block_bytes;
    float amax = 0.f;
    for (std::size_t j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float id = amax != 0.f ? 1.f / amax : 0.f;
    for (std::size_t e = 0; e < 256; ++e) {
      const int code = int(std::clamp(std::round(x[e] * id), -1.f, 1.f)) + 1;
      const std::size_t byte = 32 * (e / 128) + e % 32, shift = 2 * ((e % 128) / 32);
      blk[byte] = std::byte(std::uint8_t(std::uint8_t(blk[byte]) | (code << shift)));
    }
    store_le(blk + 64, f32_to_f16(amax));
  }
}

template <class Arch>
using tq2_0_kernels = detail::int8_kernels<Arch, tq2_0_layout>;

struct tq2_0_codec : tq2_0_format {
  template <class Arch>
  using kernels = tq2_0_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { tq2_0_encode_row(w, cols, out); }
};

inline const codec_ops& tq2_0_ops() { return detail::int8_codec_ops<tq2_0_codec>(); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/tq2_0.hpp"
#endif
