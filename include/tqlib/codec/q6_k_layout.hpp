#pragma once
// q6_k: llama.cpp Q6_K super-blocks (ggml-common.h block_q6_K; ggml-quants.c
// dequantize_row_q6_K), bit for bit: 256 weights, 210 bytes, 6.5625 bits/weight; w = d * sc * (q - 32), q in 0..63, sc int8 per 16 weights.
// Byte order in detail/k_quant_layout.hpp. Rows must be a multiple of 256 weights (QK_K).
// Layout spec: docs/codecs/ggml_quants.md.
#include <cstddef>
#include <string_view>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"
#include "tqlib/codec/detail/k_quant_layout.hpp"

namespace tqlib::codec {

using q6_k_layout = detail::q6_k_block_layout;

struct q6_k_format {
  static constexpr codec_id id = codec_id::q6_k;
  static constexpr std::string_view name = "q6_k";
  static constexpr std::size_t cols_multiple = 256;  // QK_K: one super-block per 256 weights, no padding
  using layout = q6_k_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) { return layout::check_row(name, row, cols, r); }
};

}  // namespace tqlib::codec
