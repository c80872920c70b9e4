#pragma once
// q5_1: the codec (encoder, kernels, codec_ops) over the byte layout of q5_1_layout.hpp.
#include <cstddef>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/q5_1_layout.hpp"
#include "tqlib/codec/detail/ggml_block32_encode.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"

namespace tqlib::codec {

template <class Arch>
using q5_1_kernels = detail::int8_kernels<Arch, q5_1_layout>;

struct q5_1_codec : q5_1_format {
  template <class Arch>
  using kernels = q5_1_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { detail::ggml_block32_encode_row<q5_1_layout>(w, cols, out); }
};

inline const codec_ops& q5_1_ops() { return detail::int8_codec_ops<q5_1_codec>(); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/q5_1.hpp"
#endif
