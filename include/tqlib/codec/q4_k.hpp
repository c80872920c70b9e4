#pragma once
// q4_k: the codec (encoder, kernels, codec_ops) over the byte layout of q4_k_layout.hpp.
#include <cstddef>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/q4_k_layout.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"
#include "tqlib/codec/detail/k_quant_encode.hpp"

namespace tqlib::codec {

template <class Arch>
using q4_k_kernels = detail::int8_kernels<Arch, q4_k_layout>;

struct q4_k_codec : q4_k_format {
  template <class Arch>
  using kernels = q4_k_kernels<Arch>;
  static void encode_row(const float* w, std::size_t cols, std::byte* out) { detail::k_quant_min_encode_row<q4_k_layout>(w, cols, out); }
};

inline const codec_ops& q4_k_ops() { return detail::int8_codec_ops<q4_k_codec>(); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/q4_k.hpp"
#endif
