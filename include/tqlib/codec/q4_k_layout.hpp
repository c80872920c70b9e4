#pragma once
// q4_k: llama.cpp Q4_K super-blocks (ggml-common.h block_q4_K; ggml-quants.c
// dequantize_row_q4_K), bit for bit: 256 weights, 144 bytes, 4.5 bits/weight; w = d * sc * q - dmin * m, q in 0..15, sc and m 6-bit per 32 weights.
// Byte order in detail/k_quant_layout.hpp. Rows must be a multiple of 256 weights (QK_K).
// Layout spec: docs/codecs/ggml_quants.md.
#include <cstddef>
#include <string_view>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"
#include "tqlib/codec/detail/k_quant_layout.hpp"

namespace tqlib::codec {

using q4_k_layout = detail::k_quant_min_layout<false>;

struct q4_k_format {
  static constexpr codec_id id = codec_id::q4_k;
  static constexpr std::string_view name = "q4_k";
  static constexpr std::size_t cols_multiple = 256;  // QK_K: one super-block per 256 weights, no padding
  using layout = q4_k_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) { return layout::check_row(name, row, cols, r); }
};

}  // namespace tqlib::codec
