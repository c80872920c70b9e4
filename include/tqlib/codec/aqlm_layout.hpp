#pragma once
// The byte layout of one AQLM linear layer (Egiazarian et al., "Extreme Compression of Large
// Language Models via Additive Quantization", arXiv 2401.06118), and the checks that make an
// untrusted blob safe to read. Specified in docs/codecs/aqlm.md.
//
// AQLM splits W [rows x cols] into blocks of out_group rows x in_group columns. Block (o, i) is
//   W[o*out_group + r, i*in_group + j] = scale[o] * sum_c codebook[c][code(o, i, c)][r][j]
// with num_codebooks codebooks of 2^nbits codewords each (the aqlm package's
// `_dequantize_weight`, Vahe1994/AQLM inference_lib/src/aqlm/utils.py: embedding_bag sum, times
// scales [out/out_group,1,1,1], then swapaxes so each block's rows are consecutive output rows).
//
// Blob: 24-byte little-endian header, then
//   codebooks f16 [num_codebooks][2^nbits][out_group][in_group]   (checkpoint order)
//   scales    f16 [rows / out_group]
//   codes     [rows / out_group][cols / in_group][num_codebooks], uint8 when nbits <= 8 else
//             uint16 little-endian, no padding anywhere (the checkpoint's order, read mod 2^nbits).
#include <bit>
#include <cmath>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>

#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::aqlm {

inline constexpr std::uint32_t blob_magic = 0x4d4c5141u;  // "AQLM" as little-endian bytes
inline constexpr std::uint16_t blob_version = 1;
inline constexpr std::size_t header_bytes = 24;
// Limits far above every published configuration (1x16, 2x8, 4x8, 8x8 with groups of 8, out
// group 1..2), low enough that no size computation below can overflow 64 bits.
inline constexpr unsigned max_nbits = 16;
inline constexpr unsigned max_codebooks = 64;
inline constexpr unsigned max_group = 256;

struct config {
  unsigned num_codebooks = 2;
  unsigned nbits = 8;
  unsigned in_group = 8;
  unsigned out_group = 1;
};

// Sizes and section offsets of a [rows x cols] blob; only made by make_layout, so every field
// has been checked.
struct layout {
  config cfg;
  std::size_t rows = 0, cols = 0;
  std::size_t out_groups = 0, in_groups = 0;
  std::size_t codebook_entries = 0;  // 2^nbits
  std::size_t code_bytes = 1;        // 1 (nbits <= 8) or 2
  std::size_t codebooks_offset = 0, scales_offset = 0, codes_offset = 0, total_bytes = 0;

  TQLIB_KERNEL_INLINE std::size_t codeword_floats() const noexcept { return std::size_t(cfg.out_group) * cfg.in_group; }
  TQLIB_KERNEL_INLINE std::size_t codebook_floats() const noexcept {
    return cfg.num_codebooks * codebook_entries * codeword_floats();
  }
};

namespace detail {
inline std::optional<std::size_t> checked_mul(std::size_t a, std::size_t b) noexcept {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return std::nullopt;
  return a * b;
}
inline std::optional<std::size_t> checked_add(std::size_t a, std::size_t b) noexcept {
  if (b > std::numeric_limits<std::size_t>::max() - a) return std::nullopt;
  return a + b;
}
inline error bad_field(std::string field, std::string why) {
  return make_error(errc::corrupt, "aqlm " + std::move(field) + ": " + std::move(why));
}
}  // namespace detail

inline result<void> check_config(const config& c) {
  if (c.num_codebooks < 1 || c.num_codebooks > max_codebooks)
    return detail::bad_field("num_codebooks", std::to_string(c.num_codebooks) + " not in 1.." + std::to_string(max_codebooks));
  if (c.nbits < 1 || c.nbits > max_nbits)
    return detail::bad_field("nbits_per_codebook", std::to_string(c.nbits) + " not in 1.." + std::to_string(max_nbits));
  if (c.in_group < 1 || c.in_group > max_group)
    return detail::bad_field("in_group_size", std::to_string(c.in_group) + " not in 1.." + std::to_string(max_group));
  if (c.out_group < 1 || c.out_group > max_group)
    return detail::bad_field("out_group_size", std::to_string(c.out_group) + " not in 1.." + std::to_string(max_group));
  return {};
}

inline result<layout> make_layout(const config& c, std::size_t rows, std::size_t cols) {
  TQLIB_TRY(check_config(c));
  if (rows == 0 || cols == 0) return detail::bad_field("shape", "empty matrix");
  if (rows > 0xffffffffu || cols > 0xffffffffu) return detail::bad_field("shape", "dimension above 2^32-1");
  if (rows % c.out_group != 0)
    return detail::bad_field("out_group_size", std::to_string(rows) + " rows not a multiple of " + std::to_string(c.out_group));
  if (cols % c.in_group != 0)
    return detail::bad_field("in_group_size", std::to_string(cols) + " cols not a multiple of " + std::to_string(c.in_group));
  layout L;
  L.cfg = c;
  L.rows = rows;
  L.cols = cols;
  L.out_groups = rows / c.out_group;
  L.in_groups = cols / c.in_group;
  L.codebook_entries = std::size_t(1) << c.nbits;
  L.code_bytes = c.nbits <= 8 ? 1 : 2;
  // Codebooks are at most 64 * 2^16 * 256 * 256 entries (2^38): no overflow there.
  L.codebooks_offset = header_bytes;
  L.scales_offset = header_bytes + 2 * L.codebook_floats();
  const auto codes = detail::checked_mul(L.out_groups, L.in_groups);
  const auto code_total = codes ? detail::checked_mul(*codes, std::size_t(c.num_codebooks) * L.code_bytes) : std::nullopt;
  const auto codes_offset = detail::checked_add(L.scales_offset, 2 * L.out_groups);
  const auto total = code_total && codes_offset ? detail::checked_add(*codes_offset, *code_total) : std::nullopt;
  if (!total) return detail::bad_field("shape", "blob size overflows");
  L.codes_offset = *codes_offset;
  L.total_bytes = *total;
  return L;
}

inline void write_header(std::byte* out, const layout& L) noexcept {
  store_le<std::uint32_t>(out + 0, blob_magic);
  store_le<std::uint16_t>(out + 4, blob_version);
  store_le<std::uint16_t>(out + 6, std::uint16_t(L.cfg.num_codebooks));
  store_le<std::uint16_t>(out + 8, std::uint16_t(L.cfg.nbits));
  store_le<std::uint16_t>(out + 10, std::uint16_t(L.cfg.in_group));
  store_le<std::uint16_t>(out + 12, std::uint16_t(L.cfg.out_group));
  store_le<std::uint16_t>(out + 14, 0);
  store_le<std::uint32_t>(out + 16, std::uint32_t(L.rows));
  store_le<std::uint32_t>(out + 20, std::uint32_t(L.cols));
}

// Parses and checks the header and the blob's size; the contents are checked by validate().
inline result<layout> read_layout(std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
  byte_reader rd(blob);
  auto magic = rd.read<std::uint32_t>("aqlm header magic");
  TQLIB_TRY(magic);
  if (*magic != blob_magic) return detail::bad_field("header magic", "not \"AQLM\"");
  auto version = rd.read<std::uint16_t>("aqlm header version");
  TQLIB_TRY(version);
  if (*version != blob_version)
    return make_error(errc::unsupported, "aqlm header version " + std::to_string(*version) + " (this build reads 1)");
  config c;
  std::uint16_t fields[5];
  const char* names[5] = {"aqlm header num_codebooks", "aqlm header nbits", "aqlm header in_group",
                          "aqlm header out_group", "aqlm header reserved"};
  for (int i = 0; i < 5; ++i) {
    auto f = rd.read<std::uint16_t>(names[i]);
    TQLIB_TRY(f);
    fields[i] = *f;
  }
  c.num_codebooks = fields[0];
  c.nbits = fields[1];
  c.in_group = fields[2];
  c.out_group = fields[3];
  if (fields[4] != 0) return detail::bad_field("header reserved", "must be 0");
  auto hr = rd.read<std::uint32_t>("aqlm header rows");
  TQLIB_TRY(hr);
  auto hc = rd.read<std::uint32_t>("aqlm header cols");
  TQLIB_TRY(hc);
  if (*hr != rows || *hc != cols)
    return detail::bad_field("header shape", std::to_string(*hr) + "x" + std::to_string(*hc) + " but the tensor is " +
                                                 std::to_string(rows) + "x" + std::to_string(cols));
  auto L = make_layout(c, rows, cols);
  TQLIB_TRY(L);
  if (blob.size() < L->total_bytes)
    return make_error(errc::truncated, "aqlm blob has " + std::to_string(blob.size()) + " bytes, its header needs " +
                                           std::to_string(L->total_bytes));
  if (blob.size() > L->total_bytes)
    return detail::bad_field("blob size", std::to_string(blob.size() - L->total_bytes) + " trailing bytes");
  return L;
}

// Kernels call only force-inlined helpers (simd/dispatch.hpp explains why), so not load_le.
TQLIB_KERNEL_INLINE std::uint16_t read_u16_le(const std::byte* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  if constexpr (std::endian::native == std::endian::big) v = std::uint16_t((v >> 8) | (v << 8));
  return v;
}

// Unchecked accessors over a blob that read_layout (or validate) accepted.
struct view {
  layout L;
  const std::byte* base = nullptr;

  TQLIB_KERNEL_INLINE const std::byte* codebooks() const noexcept { return base + L.codebooks_offset; }
  TQLIB_KERNEL_INLINE const std::byte* codes() const noexcept { return base + L.codes_offset; }
  TQLIB_KERNEL_INLINE std::uint16_t codebook_bits(std::size_t index) const noexcept {
    return read_u16_le(codebooks() + 2 * index);
  }
  TQLIB_KERNEL_INLINE float scale(std::size_t out_group) const noexcept {
    return f16_to_f32(read_u16_le(base + L.scales_offset + 2 * out_group));
  }
  // Code of codebook c for block (og, ig), already reduced mod 2^nbits by the writer.
  TQLIB_KERNEL_INLINE std::size_t code(std::size_t og, std::size_t ig, std::size_t c) const noexcept {
    const std::size_t index = (og * L.in_groups + ig) * L.cfg.num_codebooks + c;
    return L.code_bytes == 1 ? std::size_t(std::to_integer<std::uint8_t>(codes()[index]))
                             : std::size_t(read_u16_le(codes() + 2 * index));
  }
  // Index of element (r, j) of codeword k of codebook c.
  TQLIB_KERNEL_INLINE std::size_t codebook_index(std::size_t c, std::size_t k, std::size_t r, std::size_t j) const noexcept {
    return ((c * L.codebook_entries + k) * L.cfg.out_group + r) * L.cfg.in_group + j;
  }
};

// Everything a reader must check before trusting the bytes: header, size, finite codebook
// entries and scales, codes below 2^nbits.
inline result<view> validate_view(std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
  auto L = read_layout(blob, rows, cols);
  TQLIB_TRY(L);
  view v{*L, blob.data()};
  for (std::size_t i = 0; i < L->codebook_floats(); ++i)
    if (!std::isfinite(f16_to_f32(v.codebook_bits(i))))
      return detail::bad_field("codebooks", "entry " + std::to_string(i) + " is not finite");
  for (std::size_t o = 0; o < L->out_groups; ++o)
    if (!std::isfinite(v.scale(o))) return detail::bad_field("scales", "scale " + std::to_string(o) + " is not finite");
  if (L->cfg.nbits != 8 && L->cfg.nbits != 16) {
    for (std::size_t og = 0; og < L->out_groups; ++og)
      for (std::size_t ig = 0; ig < L->in_groups; ++ig)
        for (std::size_t c = 0; c < L->cfg.num_codebooks; ++c)
          if (v.code(og, ig, c) >= L->codebook_entries)
            return detail::bad_field("codes", "code " + std::to_string(v.code(og, ig, c)) + " at block (" +
                                                  std::to_string(og) + ", " + std::to_string(ig) + ") codebook " +
                                                  std::to_string(c) + " is not below 2^" + std::to_string(L->cfg.nbits));
  }
  return v;
}

inline result<void> validate(std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
  TQLIB_TRY(validate_view(blob, rows, cols));
  return {};
}

// Reference decode of one row, in double, straight from the definition above.
inline void decode_row_reference(const view& v, std::size_t row, double* out) noexcept {
  const layout& L = v.L;
  const std::size_t og = row / L.cfg.out_group, r = row % L.cfg.out_group;
  const double s = v.scale(og);
  for (std::size_t ig = 0; ig < L.in_groups; ++ig)
    for (std::size_t j = 0; j < L.cfg.in_group; ++j) {
      double sum = 0;
      for (std::size_t c = 0; c < L.cfg.num_codebooks; ++c)
        sum += f16_to_f32(v.codebook_bits(v.codebook_index(c, v.code(og, ig, c), r, j)));
      out[ig * L.cfg.in_group + j] = s * sum;
    }
}

}  // namespace tqlib::codec::aqlm
