#pragma once
// tq1_0: the codec (encoder, kernels, codec_ops) over the byte layout of tq1_0_layout.hpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/tq1_0_layout.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"
#include "tqlib/codec/detail/trit_pack.hpp"

namespace tqlib::codec {

inline void tq1_0_encode_row(const float* w, std::size_t cols, std::byte* out) {
  for (std::size_t k = 0; k < cols / 256; ++k) {
    const float* x = w + 256 * k;
    std::byte* blk = out + k * tq1_0_traits::block_bytes;
    float amax = 0.f;
    for (std::size_t j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float id = amax != 0.f ? 1.f / amax : 0.f;
    std::uint8_t digits[52][5] = {};
    for (std::size_t e = 0; e < 256; ++e) {
      const auto at = detail::tq1_0_where(e);
      digits[at.byte][at.digit] = std::uint8_t(int(std::clamp(std::round(x[e] * id), -1.f, 1.f)) + 1);
    }
    for (std::size_t j = 0; j < 52; ++j) blk[j] = std::byte(detail::pack_trits5(digits[j], 5));
    store_le(blk + 52, f32_to_f16(amax));
  }
}

template <class Arch>
using tq1_0_kernels = detail::int8_kernels<Arch, tq1_0_layout>;

struct tq1_0_codec : tq1_0_format {
  template <class Arch>
  using kernels = tq1_0_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { tq1_0_encode_row(w, cols, out); }
};

inline const codec_ops& tq1_0_ops() { return detail::int8_codec_ops<tq1_0_codec>(); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/tq1_0.hpp"
#endif
