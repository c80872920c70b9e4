#pragma once
// IEEE 754 binary16 and bfloat16 conversions, portable and constexpr so that codec tables and
// tests can use them at compile time. Rounding is round-to-nearest-even, as numpy, PyTorch and
// ggml's reference converters do, so files written here match files written there bit for bit.
#include <cstdint>

namespace tqlib {

// std::bit_cast, spelled so that Emscripten 3.1.6 builds too: its libc++ lacks the function, but its
// clang (like g++ >= 11) has the builtin behind it.
template <class To, class From>
constexpr To bit_cast(const From& from) noexcept {
  static_assert(sizeof(To) == sizeof(From));
  return __builtin_bit_cast(To, from);
}

constexpr float f16_to_f32(std::uint16_t h) noexcept {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    std::uint32_t e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mant & 0x3ffu) << 13);
  }
  return tqlib::bit_cast<float>(bits);
}

constexpr std::uint16_t f32_to_f16(float f) noexcept {
  const std::uint32_t x = tqlib::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u) return std::uint16_t(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));  // nan
  if (abs >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // overflow to inf (rounds up past 65504)
  if (abs < 0x38800000u) {                                      // result is subnormal or zero
    if (abs < 0x33000000u) return std::uint16_t(sign);            // below half the smallest subnormal
    const std::uint32_t e = abs >> 23;
    const std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - e;  // 14..24
    std::uint32_t r = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1);
    const std::uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return std::uint16_t(sign | r);
  }
  std::uint32_t r = abs - 0x38000000u;  // rebias exponent 127 -> 15 (<< 23 then >> 13)
  const std::uint32_t rem = r & 0x1fffu;
  r >>= 13;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return std::uint16_t(sign | r);
}

constexpr float bf16_to_f32(std::uint16_t h) noexcept { return tqlib::bit_cast<float>(std::uint32_t(h) << 16); }

constexpr std::uint16_t f32_to_bf16(float f) noexcept {
  const std::uint32_t x = tqlib::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((x >> 16) | 0x40u);  // quiet nan
  const std::uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return std::uint16_t((x + rounding) >> 16);
}

}  // namespace tqlib
