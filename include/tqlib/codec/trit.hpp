#pragma once
// trit: the codec (encoder, kernels, codec_ops) over the byte layout of trit_layout.hpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/trit_layout.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"
#include "tqlib/codec/detail/trit_pack.hpp"

namespace tqlib::codec {

template <int Depth>
void trit_encode_row(const float* w, std::size_t cols, std::byte* out) {
  using L = trit_layout<Depth>;
  constexpr int levels = trit_traits<Depth>::max_level;
  const std::size_t ng = L::groups(cols);
  float s_row = 0.f;
  for (std::size_t i = 0; i < cols; ++i) s_row = std::max(s_row, std::fabs(w[i]));
  s_row /= float(levels);
  store_le(out, s_row);
  std::vector<std::int8_t> q(L::blocks(cols) * 32, 0);
  for (std::size_t g = 0; g < ng; ++g) {
    const std::size_t begin = 16 * g, end = std::min(cols, begin + 16);
    int best_code = 0;
    double best_err = INFINITY;
    for (int k = 0; k < 16 && s_row > 0.f; ++k) {
      const float s = s_row * trit_group_scale[std::size_t(k)];
      double err = 0;
      for (std::size_t i = begin; i < end; ++i) {
        const float v = s * std::clamp(std::round(w[i] / s), -float(levels), float(levels));
        err += double(w[i] - v) * double(w[i] - v);
      }
      if (err < best_err) best_err = err, best_code = k;
    }
    const float s = s_row * trit_group_scale[std::size_t(best_code)];
    for (std::size_t i = begin; i < end; ++i)
      q[i] = s_row > 0.f ? std::int8_t(std::clamp(std::round(w[i] / s), -float(levels), float(levels))) : 0;
    out[4 + g / 2] = std::byte(std::uint8_t(std::uint8_t(out[4 + g / 2]) | (best_code << (4 * (g % 2)))));
  }
  // Balanced-ternary digits of each q, digit k of block b into stream block Depth*b + k.
  std::vector<std::uint8_t> digits(Depth * q.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    int v = q[i];
    for (int k = 0; k < Depth; ++k) {
      const int r = ((v % 3) + 3) % 3;
      const int t = r == 2 ? -1 : r;  // balanced remainder: v = 3 v' + t, t in {-1,0,1}
      digits[(Depth * (i / 32) + std::size_t(k)) * 32 + i % 32] = std::uint8_t(t + 1);
      v = (v - t) / 3;
    }
  }
  detail::encode_trit_stream(digits.data(), Depth * L::blocks(cols), out + L::stream_offset(cols));
}

template <class Arch>
using trit2_kernels = detail::int8_kernels<Arch, trit2_layout>;

struct trit2_codec : trit2_format {
  template <class Arch>
  using kernels = trit2_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { trit_encode_row<2>(w, cols, out); }
};

inline const codec_ops& trit2_ops() { return detail::int8_codec_ops<trit2_codec>(); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/trit.hpp"
#endif
