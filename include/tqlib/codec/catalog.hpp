#pragma once
// Every codec's byte layout, for readers of containers (format/): its id and name, how many
// bytes a [rows x cols] tensor takes and what a reader checks before trusting them. Built from
// the codecs' layout headers (<codec>_layout.hpp), which hold no encoder and no kernel, so a
// program that only reads or writes MV2 / safetensors files does not compile the codecs' SIMD
// kernels; those come with codec/registry.hpp (codec_ops: encode, matvec, ...). The dense types
// are the formats' own element types: their checks are dense.hpp's (a vectorised finiteness scan
// at load).
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "tqlib/codec/aqlm_layout.hpp"
#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/dense.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"
#include "tqlib/codec/q4_0_layout.hpp"
#include "tqlib/codec/q4_1_layout.hpp"
#include "tqlib/codec/q4_k_layout.hpp"
#include "tqlib/codec/q5_0_layout.hpp"
#include "tqlib/codec/q5_1_layout.hpp"
#include "tqlib/codec/q5_k_layout.hpp"
#include "tqlib/codec/q6_k_layout.hpp"
#include "tqlib/codec/q8_layout.hpp"
#include "tqlib/codec/sign_magnitude_layout.hpp"
#include "tqlib/codec/ternary_layout.hpp"
#include "tqlib/codec/tq1_0_layout.hpp"
#include "tqlib/codec/tq2_0_layout.hpp"
#include "tqlib/codec/trit_layout.hpp"

namespace tqlib::codec {

struct layout_info {
  codec_id id;
  std::string_view name;  // as on the command line and in MV2 headers
  // Exact size of a [rows x cols] blob, or nullopt when the blob's own header decides (then
  // validate() does).
  std::optional<std::size_t> (*packed_size)(std::size_t rows, std::size_t cols);
  // Size, header fields, finite scales, in-range codes; names what is wrong.
  result<void> (*validate)(std::span<const std::byte> blob, std::size_t rows, std::size_t cols);
};

namespace detail {
template <class Format>
constexpr layout_info int8_layout_info() {
  return {Format::id, Format::name, int8_packed_size<Format>, int8_validate<Format>};
}
template <codec_id Id>
constexpr layout_info sm_layout_info() {
  return {Id, sm_layout_of(Id)->name,
          [](std::size_t rows, std::size_t cols) { return sm_packed_size(sm_layout_of(Id)->magnitude_bits, rows, cols); },
          [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
            return sm_validate(sm_layout_of(Id)->name, sm_layout_of(Id)->magnitude_bits, blob, rows, cols);
          }};
}
inline layout_info dense_layout_info(const codec_ops& ops) { return {ops.id, ops.name, ops.packed_size, ops.validate}; }
}  // namespace detail

inline std::span<const layout_info> all_layouts() {
  static const layout_info table[] = {
      detail::dense_layout_info(f32_ops()),
      detail::dense_layout_info(f16_ops()),
      detail::dense_layout_info(bf16_ops()),
      detail::int8_layout_info<q8_format>(),
      detail::int8_layout_info<q4_0_format>(),
      detail::int8_layout_info<q4_1_format>(),
      detail::int8_layout_info<q5_0_format>(),
      detail::int8_layout_info<q5_1_format>(),
      detail::int8_layout_info<q4_k_format>(),
      detail::int8_layout_info<q5_k_format>(),
      detail::int8_layout_info<q6_k_format>(),
      detail::int8_layout_info<tq1_0_format>(),
      detail::int8_layout_info<tq2_0_format>(),
      detail::int8_layout_info<ternary_format>(),
      detail::int8_layout_info<bitnet_format>(),
      detail::int8_layout_info<trit2_format>(),
      {codec_id::aqlm, "aqlm", [](std::size_t, std::size_t) { return std::optional<std::size_t>(); }, aqlm::validate},
      detail::sm_layout_info<codec_id::tq4_1s>(),
      detail::sm_layout_info<codec_id::turbo1>(),
      detail::sm_layout_info<codec_id::turbo2>(),
      detail::sm_layout_info<codec_id::turbo3>(),
      detail::sm_layout_info<codec_id::turbo4>(),
  };
  return table;
}

inline const layout_info* find_layout(codec_id id) {
  for (const auto& l : all_layouts())
    if (l.id == id) return &l;
  return nullptr;
}

inline const layout_info* find_layout(std::string_view name) {
  for (const auto& l : all_layouts())
    if (l.name == name) return &l;
  return nullptr;
}

}  // namespace tqlib::codec
