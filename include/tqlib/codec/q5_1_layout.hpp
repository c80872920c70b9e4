#pragma once
// q5_1: llama.cpp Q5_1 blocks (ggml-common.h block_q5_1; ggml-quants.c quantize_row_q5_1_ref,
// dequantize_row_q5_1), bit for bit. 32 weights per block, 24 bytes, 6 bits/weight: f16 d, f16 m, 4 bytes of fifth bits, 16 bytes of nibbles; w = d * q + m, q in 0..31.
// Encode (as ggml): the block's min m and max, d = (max - m) / 31, q = min(31, int((w - m) / d + 0.5)).
// Rows are ceil(cols/32) blocks, the last zero padded. Layout spec: docs/codecs/ggml_quants.md.
#include <cstddef>
#include <string_view>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/ggml_block32.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"

namespace tqlib::codec {

using q5_1_layout = detail::ggml_block32_layout<true, true>;

struct q5_1_format {
  static constexpr codec_id id = codec_id::q5_1;
  static constexpr std::string_view name = "q5_1";
  static constexpr std::size_t cols_multiple = 1;
  using layout = q5_1_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) { return layout::check_row(name, row, cols, r); }
};

}  // namespace tqlib::codec
