#pragma once
// The byte-level checks every integer codec shares, from its format description (the
// `<codec>_format` struct of its `<codec>_layout.hpp`):
//   id, name, cols_multiple (1 where any row length is allowed), layout (row_bytes(cols)) and
//   check_row(row, cols, r) (finite scales, codes the packing can produce; names what is wrong).
// Used by the layout catalog (codec/catalog.hpp, what container readers validate with) and by
// the codecs' own codec_ops (detail/int8_codec_ops.hpp), so both check the same way.
#include <cstddef>
#include <cstdint>
#include <string>
#include <optional>
#include <span>

#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/core/result.hpp"

namespace tqlib::codec::detail {

template <class Format>
std::optional<std::size_t> int8_packed_size(std::size_t rows, std::size_t cols) {
  if (cols % Format::cols_multiple != 0) return std::nullopt;  // not representable; validate says why
  const std::size_t rb = Format::layout::row_bytes(cols);
  if (rb != 0 && rows > SIZE_MAX / rb) return std::nullopt;  // a 32-bit size_t (wasm32) cannot hold it
  return rows * rb;
}

template <class Format>
result<void> int8_validate(std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
  using L = typename Format::layout;
  TQLIB_TRY(check_cols_multiple(Format::name, cols, Format::cols_multiple));
  if (!int8_packed_size<Format>(rows, cols)) return make_error(errc::invalid_argument, std::string(Format::name) + ": shape too large");
  TQLIB_TRY(check_blob_size(Format::name, blob, rows, cols, rows * L::row_bytes(cols)));
  for (std::size_t r = 0; r < rows; ++r) TQLIB_TRY(Format::check_row(blob.data() + r * L::row_bytes(cols), cols, r));
  return {};
}

}  // namespace tqlib::codec::detail
