#pragma once
// q5_0: llama.cpp Q5_0 blocks (ggml-common.h block_q5_0; ggml-quants.c quantize_row_q5_0_ref,
// dequantize_row_q5_0), bit for bit. 32 weights per block, 22 bytes, 5.5 bits/weight: f16 d, 4 bytes of fifth bits, 16 bytes of nibbles; w = d * (q - 16), q in 0..31.
// Encode (as ggml): m = the element of largest magnitude (signed), d = m / -16, q = min(31, int(w / d + 16.5)).
// Rows are ceil(cols/32) blocks, the last zero padded. Layout spec: docs/codecs/ggml_quants.md.
#include <cstddef>
#include <string_view>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/ggml_block32.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"

namespace tqlib::codec {

using q5_0_layout = detail::ggml_block32_layout<false, true>;

struct q5_0_format {
  static constexpr codec_id id = codec_id::q5_0;
  static constexpr std::string_view name = "q5_0";
  static constexpr std::size_t cols_multiple = 1;
  using layout = q5_0_layout;
  static result<void> check_row(const std::byte* row, std::size_t cols, std::size_t r) { return layout::check_row(name, row, cols, r); }
};

}  // namespace tqlib::codec
