#pragma once
// The fixed-point base-3 bytes of trit_pack.hpp on AVX2: digits of 32 bytes at once in 16-bit
// lanes, for the kernels of the trit codecs (ternary, trit2, tq1_0). The digit algorithms are
// written once over byte_ops<8 * sizeof(V)> (256-bit here, 512-bit in trit_pack/avx512.hpp).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/detail/trit_pack.hpp"
#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::detail {

// Digit per byte of 32 fixed-point bytes; mul holds 3^n for each byte. x86 has no byte multiply,
// so even and odd bytes go through 16-bit lanes separately: with the byte in the high half of a
// 16-bit lane, vpmullw leaves (byte * 3^n mod 256) << 8 and vpmulhuw by 3 gives the digit
// ((that * 3) >> 8) in the low half. Even bytes get there by multiplying with 3^n << 8.
TQLIB_KERNEL_INLINE __m256i trit_digits_avx2(__m256i bytes, __m256i mul) noexcept {
  const __m256i three = _mm256_set1_epi16(3);
  const __m256i even = _mm256_mulhi_epu16(_mm256_mullo_epi16(bytes, _mm256_slli_epi16(mul, 8)), three);
  const __m256i high = _mm256_and_si256(bytes, _mm256_set1_epi16(std::int16_t(0xff00)));
  const __m256i odd = _mm256_mulhi_epu16(_mm256_mullo_epi16(high, _mm256_srli_epi16(mul, 8)), three);
  return _mm256_or_si256(even, _mm256_slli_epi16(odd, 8));
}
// Digit pair p = 3a + b (a, b < 3) split by 16-entry lookups: high[p] = a, low[p] = b.
struct base3_split_tables {
  alignas(16) std::uint8_t high[16], low[16];
};
inline constexpr base3_split_tables base3_split = [] {
  base3_split_tables t{};
  for (unsigned p = 0; p < 9; ++p) t.high[p] = std::uint8_t(p / 3), t.low[p] = std::uint8_t(p % 3);
  return t;
}();

// The byte operations the digit algorithms need, per register width in bits (a vector type as
// a template argument would lose its attributes): a 16-entry byte table in
// every 128-bit lane and vpshufb on it, and the 16-bit lane operations of trit_leading.
template <std::size_t Bits>
struct byte_ops;
template <>
struct byte_ops<256> {
  TQLIB_KERNEL_INLINE static __m256i bytes_table(const std::uint8_t* t) noexcept {
    return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
  }
  TQLIB_KERNEL_INLINE static __m256i lookup16(__m256i table, __m256i index) noexcept { return _mm256_shuffle_epi8(table, index); }
  TQLIB_KERNEL_INLINE static __m256i mullo16(__m256i a, std::int16_t m) noexcept { return _mm256_mullo_epi16(a, _mm256_set1_epi16(m)); }
  TQLIB_KERNEL_INLINE static __m256i mulhi16(__m256i a, std::int16_t m) noexcept { return _mm256_mulhi_epu16(a, _mm256_set1_epi16(m)); }
  TQLIB_KERNEL_INLINE static __m256i shift_left8(__m256i a) noexcept { return _mm256_slli_epi16(a, 8); }
  TQLIB_KERNEL_INLINE static __m256i even_cleared(__m256i a) noexcept { return _mm256_and_si256(a, _mm256_set1_epi16(std::int16_t(0xff00))); }
  TQLIB_KERNEL_INLINE static __m256i merge_high_byte(__m256i lo, __m256i hi) noexcept { return _mm256_or_si256(lo, even_cleared(hi)); }
  // For bitnet's nibble decode and activation spread (ternary/avx2.hpp).
  TQLIB_KERNEL_INLINE static __m256i add8(__m256i a, __m256i b) noexcept { return _mm256_add_epi8(a, b); }
  TQLIB_KERNEL_INLINE static __m256i high_nibbles(__m256i v) noexcept { return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f)); }
  TQLIB_KERNEL_INLINE static __m256i splat8(char c) noexcept { return _mm256_set1_epi8(c); }
  TQLIB_KERNEL_INLINE static __m256i negate32(__m256i v) noexcept { return _mm256_sub_epi32(_mm256_setzero_si256(), v); }
  TQLIB_KERNEL_INLINE static __m256i sum16_u8_times_i8(const __m256i* u, const __m256i* x) noexcept {
    // u <= 2 and |x| <= 128: each int16 pair sum is at most 512, four of them 2048.
    const __m256i p = _mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(u[0], x[0]), _mm256_maddubs_epi16(u[1], x[1])),
                                       _mm256_add_epi16(_mm256_maddubs_epi16(u[2], x[2]), _mm256_maddubs_epi16(u[3], x[3])));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
  }
};

// floor(k c / 256) of every byte of f, c = (byte * 3^n) mod 256: digit n for k = 3, and
// 3 digit n + digit n + 1 for k = 9 (n < 4; with 3c = 256 digit n + c', c' is the c of digit
// n + 1, so floor(9c / 256) = 3 digit n + floor(3c' / 256)). x86 has no byte multiply, so even
// and odd bytes go through 16-bit lanes apart. Even bytes: vpmullw by 3^n << 8 leaves c << 8, and
// vpmulhuw by k puts the value in the low byte. Odd bytes (odd = f with the even ones cleared):
// vpmullw by 3^n leaves c << 8, and vpmulhuw by k << 8 gives k c, whose high byte is the value.
// Five instructions per register with AVX-512 (vpternlogd merges), six with AVX2.
template <class V>
TQLIB_KERNEL_INLINE V trit_leading(V f, V odd, std::size_t n, std::int16_t k) noexcept {
  const std::int16_t m = std::int16_t(pow3[n]);
  const V even_c = n == 0 ? byte_ops<8 * sizeof(V)>::shift_left8(f) : byte_ops<8 * sizeof(V)>::mullo16(f, std::int16_t(m << 8));
  const V odd_c = n == 0 ? odd : byte_ops<8 * sizeof(V)>::mullo16(odd, m);
  return byte_ops<8 * sizeof(V)>::merge_high_byte(byte_ops<8 * sizeof(V)>::mulhi16(even_c, k), byte_ops<8 * sizeof(V)>::mulhi16(odd_c, std::int16_t(k << 8)));
}

// All five digits of every byte: pairs (0, 1) and (2, 3) from one trit_leading each
// (p = 3 digit n + digit n + 1, split by two vpshufb), digit 4 alone: 10 multiplies per register
// instead of 18 digit by digit.
template <class V>
TQLIB_KERNEL_INLINE void trit_all_digits(V f, V odd, V* digit) noexcept {
  const V high = byte_ops<8 * sizeof(V)>::bytes_table(base3_split.high), low = byte_ops<8 * sizeof(V)>::bytes_table(base3_split.low);
  const V p01 = trit_leading(f, odd, 0, 9), p23 = trit_leading(f, odd, 2, 9);
  digit[0] = byte_ops<8 * sizeof(V)>::lookup16(high, p01), digit[1] = byte_ops<8 * sizeof(V)>::lookup16(low, p01);
  digit[2] = byte_ops<8 * sizeof(V)>::lookup16(high, p23), digit[3] = byte_ops<8 * sizeof(V)>::lookup16(low, p23);
  digit[4] = trit_leading(f, odd, 4, 3);
}

// 3 times digit n of every byte (a 16-entry lookup of 0, 3, 6).
template <class V>
TQLIB_KERNEL_INLINE V trit_digits_times3(V f, V odd, std::size_t n) noexcept {
  alignas(16) static constexpr std::uint8_t times3[16] = {0, 3, 6};
  return byte_ops<8 * sizeof(V)>::lookup16(byte_ops<8 * sizeof(V)>::bytes_table(times3), trit_leading(f, odd, n, 3));
}

// 32 fixed-point bytes, read at several digit positions (AVX2; trit_bytes64 with AVX-512).
struct trit_bytes32 {
  __m256i f, odd;
};
TQLIB_KERNEL_INLINE trit_bytes32 trit_bytes(__m256i f) noexcept { return {f, byte_ops<256>::even_cleared(f)}; }
TQLIB_KERNEL_INLINE void trit_all_digits(const trit_bytes32& b, __m256i* digit) noexcept { trit_all_digits(b.f, b.odd, digit); }

// Tail block k (< 4) of a stream: element m is digit (32k + m) % 5 of byte (32k + m) / 5, i.e.
// of byte `byte[k][m]` counted from byte 32k / 5 (at most 7 bytes apart).
struct trit_tail_tables {
  std::uint8_t byte[4][32];
  std::uint8_t mul[4][32];
};
inline constexpr trit_tail_tables trit_tail = [] {
  trit_tail_tables t{};
  for (std::size_t k = 0; k < 4; ++k)
    for (std::size_t m = 0; m < 32; ++m) {
      t.byte[k][m] = std::uint8_t((32 * k + m) / 5 - 32 * k / 5);
      t.mul[k][m] = pow3[(32 * k + m) % 5];
    }
  return t;
}();

// Digits of tail block k, given the (up to 7) bytes it uses, counted from byte 32k / 5 of the tail,
// at the start of both 128-bit lanes: one vpshufb spreads them to their elements.
TQLIB_KERNEL_INLINE __m256i trit_tail_digits_avx2(__m256i bytes, std::size_t k) noexcept {
  const __m256i spread = _mm256_shuffle_epi8(bytes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(trit_tail.byte[k])));
  return trit_digits_avx2(spread, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(trit_tail.mul[k])));
}

// Digits (0, 1, 2) of block b.
TQLIB_KERNEL_INLINE __m256i decode_trit_digits_avx2(const std::byte* stream, std::size_t blocks, std::size_t b) noexcept {
  const std::size_t packs = blocks / 5;
  if (b < 5 * packs) {
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(stream + 32 * (b / 5)));
    return trit_digits_avx2(bytes, _mm256_set1_epi8(char(pow3[b % 5])));
  }
  // Tail: the (up to 7) bytes this block uses.
  const std::size_t k = b - 5 * packs, first = 32 * k / 5;
  const std::size_t avail = trit_stream_bytes(blocks) - 32 * packs - first;
  // A fixed-size copy where 8 bytes are there: a copy of variable size is a call to memcpy, and a
  // call inside the kernels' unrolled row loops spills every vector register (it halved trit2's
  // matvec at 896 columns).
  const std::byte* tail = stream + 32 * packs + first;
  std::uint64_t word = 0;
  if (avail >= 8) [[likely]]
    std::memcpy(&word, tail, 8);
  else
    for (std::size_t i = 0; i < avail; ++i) word |= std::uint64_t(std::uint8_t(tail[i])) << (8 * i);
  return trit_tail_digits_avx2(_mm256_set1_epi64x(std::int64_t(word)), k);
}

// Trits of block b as signed bytes.
TQLIB_KERNEL_INLINE __m256i decode_trit_block_avx2(const std::byte* stream, std::size_t blocks, std::size_t b) noexcept {
  return _mm256_sub_epi8(decode_trit_digits_avx2(stream, blocks, b), _mm256_set1_epi8(1));
}
}  // namespace tqlib::codec::detail
