#pragma once
// q5_0: the codec (encoder, kernels, codec_ops) over the byte layout of q5_0_layout.hpp.
#include <cstddef>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/q5_0_layout.hpp"
#include "tqlib/codec/detail/ggml_block32_encode.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"

namespace tqlib::codec {

template <class Arch>
using q5_0_kernels = detail::int8_kernels<Arch, q5_0_layout>;

struct q5_0_codec : q5_0_format {
  template <class Arch>
  using kernels = q5_0_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { detail::ggml_block32_encode_row<q5_0_layout>(w, cols, out); }
};

inline const codec_ops& q5_0_ops() { return detail::int8_codec_ops<q5_0_codec>(); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/q5_0.hpp"
#endif
