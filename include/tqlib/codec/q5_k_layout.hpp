#pragma once
// q5_k: llama.cpp Q5_K super-blocks (ggml-common.h block_q5_K; ggml-quants.c
// dequantize_row_q5_K), bit for bit: 256 weights, 176 bytes, 5.5 bits/weight; w = d * sc * q - dmin * m, q in 0..31, sc and m 6-bit per 32 weights.
// Byte order in detail/k_quant_layout.hpp. Rows must be a multiple of 256 weights (QK_K).
// Layout spec: docs/codecs/ggml_quants.md.
#include <cstddef>
#include <string_view>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"
#include "tqlib/codec/detail/k_quant_layout.hpp"

namespace tqlib::codec {

using q5_k_layout = detail::k_quant_min_layout<true>;

struct q5_k_format {
  static constexpr codec_id id = codec_id::q5_k;
  static constexpr std::string_view name = "q5_k";
  static constexpr std::size_t cols_multiple = 256;  // QK_K: one super-block per 256 weights, no padding
  using layout = q5_k_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) { return layout::check_row(name, row, cols, r); }
};

}  // namespace tqlib::codec
