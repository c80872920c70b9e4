#pragma once
// The x86 side of the fixed-point base-3 bytes of trit_pack.hpp: digits of 32 or 64 bytes at once
// in 16-bit lanes (AVX2, AVX-512BW) or by table lookups (AVX-512 VBMI), for the kernels of the
// trit codecs (ternary, trit2, tq1_0). Included only by kernel files, which are compiled per
// architecture; what each path needs is selected by that translation unit's instruction-set macros.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/detail/trit_pack.hpp"
#include "tqlib/simd/dispatch.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace tqlib::codec::detail {

#if defined(__AVX2__)
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
#endif

// Digit pair p = 3a + b (a, b < 3) split by 16-entry lookups: high[p] = a, low[p] = b.
struct base3_split_tables {
  alignas(16) std::uint8_t high[16], low[16];
};
inline constexpr base3_split_tables base3_split = [] {
  base3_split_tables t{};
  for (unsigned p = 0; p < 9; ++p) t.high[p] = std::uint8_t(p / 3), t.low[p] = std::uint8_t(p % 3);
  return t;
}();

#if defined(__AVX2__)
// A 16-entry byte table in every 128-bit lane, and vpshufb, on 256- and 512-bit registers.
TQLIB_KERNEL_INLINE __m256i bytes_table(const std::uint8_t* t, __m256i) noexcept {
  return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
}
TQLIB_KERNEL_INLINE __m256i lookup16(__m256i table, __m256i index) noexcept { return _mm256_shuffle_epi8(table, index); }
#if defined(__AVX512BW__)
TQLIB_KERNEL_INLINE __m512i bytes_table(const std::uint8_t* t, __m512i) noexcept {
  return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
}
TQLIB_KERNEL_INLINE __m512i lookup16(__m512i table, __m512i index) noexcept { return _mm512_shuffle_epi8(table, index); }
#endif

// 16-bit lane operations for trit_leading, on 256- and 512-bit registers.
TQLIB_KERNEL_INLINE __m256i mullo16(__m256i a, std::int16_t m) noexcept { return _mm256_mullo_epi16(a, _mm256_set1_epi16(m)); }
TQLIB_KERNEL_INLINE __m256i mulhi16(__m256i a, std::int16_t m) noexcept { return _mm256_mulhi_epu16(a, _mm256_set1_epi16(m)); }
TQLIB_KERNEL_INLINE __m256i shift_left8(__m256i a) noexcept { return _mm256_slli_epi16(a, 8); }
TQLIB_KERNEL_INLINE __m256i even_cleared(__m256i a) noexcept { return _mm256_and_si256(a, _mm256_set1_epi16(std::int16_t(0xff00))); }
TQLIB_KERNEL_INLINE __m256i merge_high_byte(__m256i lo, __m256i hi) noexcept { return _mm256_or_si256(lo, even_cleared(hi)); }
#if defined(__AVX512BW__)
TQLIB_KERNEL_INLINE __m512i mullo16(__m512i a, std::int16_t m) noexcept { return _mm512_mullo_epi16(a, _mm512_set1_epi16(m)); }
TQLIB_KERNEL_INLINE __m512i mulhi16(__m512i a, std::int16_t m) noexcept { return _mm512_mulhi_epu16(a, _mm512_set1_epi16(m)); }
TQLIB_KERNEL_INLINE __m512i shift_left8(__m512i a) noexcept { return _mm512_slli_epi16(a, 8); }
TQLIB_KERNEL_INLINE __m512i even_cleared(__m512i a) noexcept { return _mm512_and_si512(a, _mm512_set1_epi16(std::int16_t(0xff00))); }
TQLIB_KERNEL_INLINE __m512i merge_high_byte(__m512i lo, __m512i hi) noexcept {
  return _mm512_ternarylogic_epi32(lo, hi, _mm512_set1_epi16(std::int16_t(0xff00)), 0xf8);  // lo | (hi & 0xff00)
}
#endif

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
  const V even_c = n == 0 ? shift_left8(f) : mullo16(f, std::int16_t(m << 8));
  const V odd_c = n == 0 ? odd : mullo16(odd, m);
  return merge_high_byte(mulhi16(even_c, k), mulhi16(odd_c, std::int16_t(k << 8)));
}

// All five digits of every byte: pairs (0, 1) and (2, 3) from one trit_leading each
// (p = 3 digit n + digit n + 1, split by two vpshufb), digit 4 alone: 10 multiplies per register
// instead of 18 digit by digit.
template <class V>
TQLIB_KERNEL_INLINE void trit_all_digits(V f, V odd, V* digit) noexcept {
  const V high = bytes_table(base3_split.high, f), low = bytes_table(base3_split.low, f);
  const V p01 = trit_leading(f, odd, 0, 9), p23 = trit_leading(f, odd, 2, 9);
  digit[0] = lookup16(high, p01), digit[1] = lookup16(low, p01);
  digit[2] = lookup16(high, p23), digit[3] = lookup16(low, p23);
  digit[4] = trit_leading(f, odd, 4, 3);
}

// 3 times digit n of every byte (a 16-entry lookup of 0, 3, 6).
template <class V>
TQLIB_KERNEL_INLINE V trit_digits_times3(V f, V odd, std::size_t n) noexcept {
  alignas(16) static constexpr std::uint8_t times3[16] = {0, 3, 6};
  return lookup16(bytes_table(times3, f), trit_leading(f, odd, n, 3));
}

// 32 fixed-point bytes, read at several digit positions (AVX2; trit_bytes64 with AVX-512).
struct trit_bytes32 {
  __m256i f, odd;
};
TQLIB_KERNEL_INLINE trit_bytes32 trit_bytes(__m256i f) noexcept { return {f, even_cleared(f)}; }
TQLIB_KERNEL_INLINE void trit_all_digits(const trit_bytes32& b, __m256i* digit) noexcept { trit_all_digits(b.f, b.odd, digit); }
#endif

// Digit n of every byte, and 3 times it, as 256-entry tables: with AVX-512 VBMI a digit position of
// 64 bytes is two vpermi2b (on the byte's low 7 bits) and a blend on its high bit, the same digit
// as trit_digit's arithmetic for every byte, canonical or not.
struct trit_digit_tables {
  alignas(64) std::uint8_t digit[2][5][256];  // [0][n][f]: digit n of f; [1][n][f]: 3 times that
};
inline constexpr trit_digit_tables trit_digit_table = [] {
  trit_digit_tables t{};
  for (std::size_t n = 0; n < 5; ++n)
    for (unsigned f = 0; f < 256; ++f) {
      t.digit[0][n][f] = trit_digit(std::uint8_t(f), n);
      t.digit[1][n][f] = std::uint8_t(3 * trit_digit(std::uint8_t(f), n));
    }
  return t;
}();

#if defined(__AVX512BW__)
// 64 fixed-point bytes, loaded once and then read at several digit positions:
//  - with AVX-512 VBMI, by table lookups (trit_lookup: any byte -> value map of 256 entries, two
//    vpermi2b on the low 7 bits blended on bit 7);
//  - without it, by trit_digit's arithmetic in 16-bit lanes (trit_leading), which needs the
//    bytes with their even ones cleared (`odd`, kept here).
// (One definition for every architecture; each fills and reads only its own member.)
struct trit_bytes64 {
  __m512i f;
  __mmask64 high;  // VBMI: bytes >= 128
  __m512i odd;     // without: f with its even bytes cleared
};
TQLIB_KERNEL_INLINE trit_bytes64 trit_bytes(__m512i f) noexcept {
#if defined(__AVX512VBMI__)
  return {f, _mm512_movepi8_mask(f), _mm512_setzero_si512()};
#else
  return {f, 0, even_cleared(f)};
#endif
}

#if defined(__AVX512VBMI__)
// Table t (256 bytes) applied to every byte.
TQLIB_KERNEL_INLINE __m512i trit_lookup(const trit_bytes64& b, const std::uint8_t* t) noexcept {
  const __m512i lo = _mm512_permutex2var_epi8(_mm512_load_si512(t), b.f, _mm512_load_si512(t + 64));
  const __m512i hi = _mm512_permutex2var_epi8(_mm512_load_si512(t + 128), b.f, _mm512_load_si512(t + 192));
  return _mm512_mask_blend_epi8(b.high, lo, hi);
}
#endif

// Digit n (0..2) of every byte.
TQLIB_KERNEL_INLINE __m512i trit_digits(const trit_bytes64& b, std::size_t n) noexcept {
#if defined(__AVX512VBMI__)
  return trit_lookup(b, trit_digit_table.digit[0][n]);
#else
  return trit_leading(b.f, b.odd, n, 3);
#endif
}

// Digits 0..4 of every byte.
TQLIB_KERNEL_INLINE void trit_all_digits(const trit_bytes64& b, __m512i* digit) noexcept {
#if defined(__AVX512VBMI__)
  for (std::size_t n = 0; n < 5; ++n) digit[n] = trit_lookup(b, trit_digit_table.digit[0][n]);
#else
  trit_all_digits(b.f, b.odd, digit);
#endif
}

// 3 times digit n of every byte.
TQLIB_KERNEL_INLINE __m512i trit_digits_times3(const trit_bytes64& b, std::size_t n) noexcept {
#if defined(__AVX512VBMI__)
  return trit_lookup(b, trit_digit_table.digit[1][n]);
#else
  return trit_digits_times3(b.f, b.odd, n);
#endif
}
#endif

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

#if defined(__AVX2__)
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
#endif

}  // namespace tqlib::codec::detail
