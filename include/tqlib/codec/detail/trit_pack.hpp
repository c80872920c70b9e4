#pragma once
// Base-3 digit packing shared by the ternary codecs.
//
// Five trits per byte in ggml TQ1_0's fixed-point form (ggml-quants.c, quantize_row_tq1_0_ref):
// digits d0..d4 in {0,1,2} (trit + 1, d0 most significant) make q = sum d_n 3^(4-n) < 243, stored
// as ceil(q * 256 / 243). Digit n is then ((uint8)(byte * 3^n) * 3) >> 8: a byte multiply and a
// shift instead of a division, so SIMD can unpack it.
//
// A "trit stream" holds N blocks of 32 trits. Each run of 5 blocks is one 32-byte pack whose
// byte m holds element m of those 5 blocks (digit n = block n of the pack), so block n of a pack
// decodes from 32 consecutive bytes with one multiplier. The last k < 5 blocks are a tail of
// ceil(32k/5) bytes, trit t of the tail in byte t/5, digit t%5 (unused digits 0). N blocks take
// 32*floor(N/5) + ceil(32*(N%5)/5) bytes: 1.6 bits per trit plus under a byte.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/simd/dispatch.hpp"


namespace tqlib::codec::detail {

inline constexpr std::array<std::uint8_t, 5> pow3 = {1, 3, 9, 27, 81};

// digits[0] most significant; count <= 5 digits, the rest taken as 0.
constexpr std::uint8_t pack_trits5(const std::uint8_t* digits, std::size_t count) noexcept {
  unsigned q = 0;
  for (std::size_t n = 0; n < 5; ++n) q = q * 3 + (n < count ? digits[n] : 0u);
  return std::uint8_t((q * 256 + 242) / 243);  // ceiling division (243 = 3^5)
}

TQLIB_KERNEL_INLINE constexpr std::uint8_t trit_digit(std::uint8_t byte, std::size_t n) noexcept {
  const std::uint8_t shifted = std::uint8_t(byte * pow3[n]);
  return std::uint8_t((unsigned(shifted) * 3) >> 8);
}

// Bytes that pack_trits5 can produce; any other byte in a blob is corrupt.
inline constexpr std::array<bool, 256> canonical_trits5 = [] {
  std::array<bool, 256> ok{};
  for (unsigned q = 0; q < 243; ++q) ok[(q * 256 + 242) / 243] = true;
  return ok;
}();
static_assert(trit_digit(pack_trits5(std::array<std::uint8_t, 5>{2, 0, 1, 2, 1}.data(), 5), 0) == 2 &&
                  trit_digit(pack_trits5(std::array<std::uint8_t, 5>{2, 0, 1, 2, 1}.data(), 5), 3) == 2 &&
                  trit_digit(pack_trits5(std::array<std::uint8_t, 5>{2, 0, 1, 2, 1}.data(), 5), 4) == 1,
              "fixed-point digit extraction");
// Every 5-digit value survives the round trip (checked exhaustively at compile time).
static_assert([] {
  for (unsigned q = 0; q < 243; ++q) {
    const std::uint8_t d[5] = {std::uint8_t(q / 81), std::uint8_t(q / 27 % 3), std::uint8_t(q / 9 % 3),
                               std::uint8_t(q / 3 % 3), std::uint8_t(q % 3)};
    const std::uint8_t b = pack_trits5(d, 5);
    for (std::size_t n = 0; n < 5; ++n)
      if (trit_digit(b, n) != d[n]) return false;
  }
  return true;
}());

constexpr std::size_t trit_stream_bytes(std::size_t blocks) noexcept {
  return 32 * (blocks / 5) + (32 * (blocks % 5) + 4) / 5;
}

// digits: blocks * 32 values in {0,1,2} (trit + 1).
inline void encode_trit_stream(const std::uint8_t* digits, std::size_t blocks, std::byte* out) noexcept {
  const std::size_t packs = blocks / 5;
  for (std::size_t p = 0; p < packs; ++p)
    for (std::size_t m = 0; m < 32; ++m) {
      std::uint8_t d[5];
      for (std::size_t n = 0; n < 5; ++n) d[n] = digits[(5 * p + n) * 32 + m];
      out[32 * p + m] = std::byte(pack_trits5(d, 5));
    }
  const std::size_t tail_trits = 32 * (blocks % 5);
  const std::uint8_t* tail = digits + packs * 5 * 32;
  for (std::size_t t = 0; t < tail_trits; t += 5)
    out[32 * packs + t / 5] = std::byte(pack_trits5(tail + t, std::min<std::size_t>(5, tail_trits - t)));
}

// Trits (-1, 0, 1) of block b.
TQLIB_KERNEL_INLINE void decode_trit_block(const std::byte* stream, std::size_t blocks, std::size_t b,
                                           std::int8_t* out) noexcept {
  const std::size_t packs = blocks / 5;
  if (b < 5 * packs) {
    const std::byte* pack = stream + 32 * (b / 5);
    for (std::size_t m = 0; m < 32; ++m) out[m] = std::int8_t(trit_digit(std::uint8_t(pack[m]), b % 5) - 1);
  } else {
    const std::byte* tail = stream + 32 * packs;
    const std::size_t first = 32 * (b - 5 * packs);
    for (std::size_t m = 0; m < 32; ++m)
      out[m] = std::int8_t(trit_digit(std::uint8_t(tail[(first + m) / 5]), (first + m) % 5) - 1);
  }
}

}  // namespace tqlib::codec::detail
