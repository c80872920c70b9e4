#include <cmath>
#include <cstring>
#include <limits>

#include "catch.hpp"
#include "tqlib/core/float16.hpp"

using namespace tqlib;

// An independent reference: the nearest binary16 value found by exhaustive search over all
// 65536 encodings (ties to the even encoding), compared with the bit-twiddling converter.
static std::uint16_t nearest_f16_by_search(float f) {
  std::uint16_t best = 0;
  double best_err = INFINITY;
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const std::uint32_t e = (h >> 10) & 0x1f;
    if (e == 0x1f) continue;
    const double v = f16_to_f32(std::uint16_t(h));
    if (std::signbit(v) != std::signbit(f)) continue;
    const double err = std::fabs(v - double(f));
    if (err < best_err || (err == best_err && (h & 1) == 0)) {
      best_err = err;
      best = std::uint16_t(h);
    }
  }
  return best;
}

TEST_CASE("f16 decode of every finite encoding round-trips through encode", "[float16]") {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if (((h >> 10) & 0x1f) == 0x1f) continue;
    const float f = f16_to_f32(std::uint16_t(h));
    REQUIRE(f32_to_f16(f) == h);
  }
}

TEST_CASE("f16 decode matches the IEEE definition", "[float16]") {
  CHECK(f16_to_f32(0x3c00) == 1.0f);
  CHECK(f16_to_f32(0xc000) == -2.0f);
  CHECK(f16_to_f32(0x7bff) == 65504.0f);
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(std::isinf(f16_to_f32(0x7c00)));
  CHECK(std::isnan(f16_to_f32(0x7e00)));
}

TEST_CASE("f16 encode rounds to nearest even like an exhaustive search", "[float16]") {
  std::uint32_t state = 12345;
  for (int i = 0; i < 300; ++i) {
    state = state * 1664525u + 1013904223u;
    const float f = std::ldexp(float(state >> 8) / float(1 << 24) * 2 - 1, int(state % 40) - 26);
    INFO("value " << f);
    REQUIRE(f32_to_f16(f) == nearest_f16_by_search(f));
  }
  // Exact ties between neighbours go to the even mantissa.
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);
  CHECK(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
  CHECK(f32_to_f16(70000.f) == 0x7c00);
}

TEST_CASE("bf16 conversions", "[float16]") {
  CHECK(bf16_to_f32(0x3f80) == 1.0f);
  CHECK(f32_to_bf16(1.0f) == 0x3f80);
  // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: rounds to even (1.0).
  CHECK(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);
  CHECK(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  static_assert(f16_to_f32(f32_to_f16(0.5f)) == 0.5f);
}
