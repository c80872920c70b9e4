#pragma once
// q4_1: llama.cpp Q4_1 blocks (ggml-common.h block_q4_1; ggml-quants.c quantize_row_q4_1_ref,
// dequantize_row_q4_1), bit for bit. 32 weights per block, 20 bytes, 5 bits/weight: f16 d, f16 m, 16 bytes of nibbles; w = d * q + m, q in 0..15.
// Encode (as ggml): the block's min m and max, d = (max - m) / 15, q = min(15, int((w - m) / d + 0.5)).
// Rows are ceil(cols/32) blocks, the last zero padded. Layout spec: docs/codecs/ggml_quants.md.
#include <cstddef>
#include <string_view>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/ggml_block32.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"

namespace tqlib::codec {

using q4_1_layout = detail::ggml_block32_layout<true, false>;

struct q4_1_format {
  static constexpr codec_id id = codec_id::q4_1;
  static constexpr std::string_view name = "q4_1";
  static constexpr std::size_t cols_multiple = 1;
  using layout = q4_1_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) { return layout::check_row(name, row, cols, r); }
};

}  // namespace tqlib::codec
