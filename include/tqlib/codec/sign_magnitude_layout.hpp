#pragma once
// The bytes of the sign-magnitude codecs (tq4_1s and TurboQuant's turbo1..4; the codecs
// themselves are sign_magnitude.hpp, tq4_1s.hpp and turboquant.hpp): how long a row is and what
// a reader checks, without the encoders or kernels. A row of cols values is cut into
// Hadamard-rotated blocks (rht_block_plan.hpp), each
//   f16 scale | n/8 bytes of sign plane | magnitude_bits planes of n/8 bytes each
// so a block of n takes 2 + n/8 * (1 + magnitude_bits) bytes (docs/codecs/tq4_1s.md).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/rht_block_plan.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/result.hpp"

namespace tqlib::codec {

inline constexpr std::size_t sm_max_block = 256;
inline constexpr std::size_t sm_min_block = 32;
inline constexpr unsigned sm_max_magnitude_bits = 3;

constexpr std::size_t sm_block_bytes(std::size_t n, unsigned magnitude_bits) noexcept {
  return 2 + n / 8 * (1 + magnitude_bits);
}

// The codecs on this layout, and the magnitude planes each stores (a codebook of
// 2^(magnitude_bits + 1) levels, signs included).
struct sm_codec_layout {
  codec_id id;
  std::string_view name;
  unsigned magnitude_bits;
};
inline constexpr sm_codec_layout sm_codec_layouts[] = {
    {codec_id::tq4_1s, "tq4_1s", 3}, {codec_id::turbo1, "turbo1", 0}, {codec_id::turbo2, "turbo2", 1},
    {codec_id::turbo3, "turbo3", 2}, {codec_id::turbo4, "turbo4", 3}};
// Null for other codecs (dereferenced in a constant expression, a compile error).
constexpr const sm_codec_layout* sm_layout_of(codec_id id) {
  for (const auto& l : sm_codec_layouts)
    if (l.id == id) return &l;
  return nullptr;
}

inline std::size_t sm_row_bytes(unsigned magnitude_bits, std::size_t cols) {
  std::size_t bytes = 0;
  for (const auto& blk : rht_block_plan(cols, sm_max_block, sm_min_block)) bytes += sm_block_bytes(blk.size, magnitude_bits);
  return bytes;
}

inline std::optional<std::size_t> sm_packed_size(unsigned magnitude_bits, std::size_t rows, std::size_t cols) {
  const std::size_t rb = sm_row_bytes(magnitude_bits, cols);
  if (rb != 0 && rows > SIZE_MAX / rb) return std::nullopt;
  return rows * rb;
}

// Size, and every block scale finite and non-negative; every sign / magnitude bit pattern is a
// valid code.
inline result<void> sm_validate(std::string_view name, unsigned magnitude_bits, std::span<const std::byte> blob,
                                std::size_t rows, std::size_t cols) {
  const auto size = sm_packed_size(magnitude_bits, rows, cols);
  if (!size) return make_error(errc::invalid_argument, std::string(name) + ": shape too large");
  if (blob.size() != *size)
    return make_error(errc::corrupt, std::string(name) + ": blob has " + std::to_string(blob.size()) + " bytes, shape " +
                                         std::to_string(rows) + "x" + std::to_string(cols) + " needs " + std::to_string(*size));
  const auto plan = rht_block_plan(cols, sm_max_block, sm_min_block);
  const std::size_t rb = sm_row_bytes(magnitude_bits, cols);
  for (std::size_t r = 0; r < rows; ++r) {
    std::size_t off = r * rb;
    for (std::size_t b = 0; b < plan.size(); ++b) {
      const std::uint16_t h = load_le<std::uint16_t>(blob.data() + off);
      if ((h & 0x7c00u) == 0x7c00u || (h & 0x8000u))
        return make_error(errc::corrupt, std::string(name) + ": row " + std::to_string(r) + " block " + std::to_string(b) +
                                             " scale is " + ((h & 0x7c00u) == 0x7c00u ? "NaN/Inf" : "negative"));
      off += sm_block_bytes(plan[b].size, magnitude_bits);
    }
  }
  return {};
}

}  // namespace tqlib::codec
