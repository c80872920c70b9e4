#pragma once
// The fixed-point base-3 bytes of trit_pack.hpp on AVX-512BW: digits of 64 bytes at once, in
// 16-bit lanes (trit_pack/avx2.hpp's algorithms on 512-bit registers) or, with VBMI, by table
// lookups.
#include <cstddef>
#include <cstdint>

#include "tqlib/codec/detail/trit_pack.hpp"
#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/codec/kernels/trit_pack/avx2.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::detail {

template <>
struct byte_ops<512> {
  TQLIB_KERNEL_INLINE static __m512i bytes_table(const std::uint8_t* t) noexcept {
    return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
  }
  TQLIB_KERNEL_INLINE static __m512i lookup16(__m512i table, __m512i index) noexcept { return _mm512_shuffle_epi8(table, index); }
  TQLIB_KERNEL_INLINE static __m512i mullo16(__m512i a, std::int16_t m) noexcept { return _mm512_mullo_epi16(a, _mm512_set1_epi16(m)); }
  TQLIB_KERNEL_INLINE static __m512i mulhi16(__m512i a, std::int16_t m) noexcept { return _mm512_mulhi_epu16(a, _mm512_set1_epi16(m)); }
  TQLIB_KERNEL_INLINE static __m512i shift_left8(__m512i a) noexcept { return _mm512_slli_epi16(a, 8); }
  TQLIB_KERNEL_INLINE static __m512i even_cleared(__m512i a) noexcept { return _mm512_and_si512(a, _mm512_set1_epi16(std::int16_t(0xff00))); }
  TQLIB_KERNEL_INLINE static __m512i merge_high_byte(__m512i lo, __m512i hi) noexcept {
    return _mm512_ternarylogic_epi32(lo, hi, _mm512_set1_epi16(std::int16_t(0xff00)), 0xf8);  // lo | (hi & 0xff00)
  }
  TQLIB_KERNEL_INLINE static __m512i add8(__m512i a, __m512i b) noexcept { return _mm512_add_epi8(a, b); }
  TQLIB_KERNEL_INLINE static __m512i high_nibbles(__m512i v) noexcept { return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0f)); }
  TQLIB_KERNEL_INLINE static __m512i splat8(char c) noexcept { return _mm512_set1_epi8(c); }
  TQLIB_KERNEL_INLINE static __m512i negate32(__m512i v) noexcept { return _mm512_sub_epi32(_mm512_setzero_si512(), v); }
  TQLIB_KERNEL_INLINE static __m512i sum16_u8_times_i8(const __m512i* u, const __m512i* x) noexcept {
    const __m512i p = _mm512_add_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(u[0], x[0]), _mm512_maddubs_epi16(u[1], x[1])),
                                       _mm512_add_epi16(_mm512_maddubs_epi16(u[2], x[2]), _mm512_maddubs_epi16(u[3], x[3])));
    return _mm512_madd_epi16(p, _mm512_set1_epi16(1));
  }
};

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
#if TQLIB_ISA_VBMI
  return {f, _mm512_movepi8_mask(f), _mm512_setzero_si512()};
#else
  return {f, 0, byte_ops<512>::even_cleared(f)};
#endif
}

#if TQLIB_ISA_VBMI
// Table t (256 bytes) applied to every byte.
TQLIB_KERNEL_INLINE __m512i trit_lookup(const trit_bytes64& b, const std::uint8_t* t) noexcept {
  const __m512i lo = _mm512_permutex2var_epi8(_mm512_load_si512(t), b.f, _mm512_load_si512(t + 64));
  const __m512i hi = _mm512_permutex2var_epi8(_mm512_load_si512(t + 128), b.f, _mm512_load_si512(t + 192));
  return _mm512_mask_blend_epi8(b.high, lo, hi);
}
#endif

// Digit n (0..2) of every byte.
TQLIB_KERNEL_INLINE __m512i trit_digits(const trit_bytes64& b, std::size_t n) noexcept {
#if TQLIB_ISA_VBMI
  return trit_lookup(b, trit_digit_table.digit[0][n]);
#else
  return trit_leading(b.f, b.odd, n, 3);
#endif
}

// Digits 0..4 of every byte.
TQLIB_KERNEL_INLINE void trit_all_digits(const trit_bytes64& b, __m512i* digit) noexcept {
#if TQLIB_ISA_VBMI
  for (std::size_t n = 0; n < 5; ++n) digit[n] = trit_lookup(b, trit_digit_table.digit[0][n]);
#else
  trit_all_digits(b.f, b.odd, digit);
#endif
}

// 3 times digit n of every byte.
TQLIB_KERNEL_INLINE __m512i trit_digits_times3(const trit_bytes64& b, std::size_t n) noexcept {
#if TQLIB_ISA_VBMI
  return trit_lookup(b, trit_digit_table.digit[1][n]);
#else
  return trit_digits_times3(b.f, b.odd, n);
#endif
}
}  // namespace tqlib::codec::detail
