// Activation quantization shared by the integer codecs (int8_activations.hpp), held to a plain
// per-element reference: max with std::fabs, std::round, std::clamp.
#include <catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/core/rng.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

std::int8_t reference_round(float v) { return std::int8_t(std::clamp(std::round(v), -127.f, 127.f)); }

// The reference quantization of one vector, block by block (finite inputs only).
void reference_quantize(const std::vector<float>& x, std::vector<std::int8_t>& q, std::vector<float>& d) {
  const std::size_t blocks = (x.size() + act_block - 1) / act_block;
  q.assign(blocks * act_block, 0);
  d.assign(blocks, 0.f);
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t begin = b * act_block, end = std::min(x.size(), begin + act_block);
    float amax = 0.f;
    for (std::size_t i = begin; i < end; ++i) amax = std::max(amax, std::fabs(x[i]));
    d[b] = amax / 127.f;
    const float id = d[b] > 0.f ? 1.f / d[b] : 0.f;
    for (std::size_t i = begin; i < end; ++i) q[i] = reference_round(x[i] * id);
  }
}

}  // namespace

TEST_CASE("activation rounding equals std::round at and around every tie", "[int8_activations]") {
  // Every half-integer tie in [-130, 130] and the 8 floats on each side of it, plus the integers.
  std::vector<float> v;
  for (int k = -260; k <= 260; ++k) {
    float t = 0.5f * float(k), lo = t, hi = t;
    v.push_back(t);
    for (int s = 0; s < 8; ++s) {
      lo = std::nextafter(lo, -1e9f);
      hi = std::nextafter(hi, 1e9f);
      v.push_back(lo);
      v.push_back(hi);
    }
  }
  std::vector<std::int8_t> q(v.size());
  detail::round_activations(v.data(), v.size(), 1.f, q.data());
  for (std::size_t i = 0; i < v.size(); ++i) {
    INFO("v = " << v[i]);
    REQUIRE(int(q[i]) == int(reference_round(v[i])));
  }
}

TEST_CASE("activation quantization matches the per-element reference", "[int8_activations]") {
  xoshiro256ss rng(91);
  for (std::size_t cols : {1u, 7u, 31u, 32u, 33u, 100u, 896u, 4864u}) {
    std::vector<float> x(cols);
    for (auto& e : x) e = float(rng.normal()) * (rng.uniform() < 0.1 ? 50.f : 1.f);
    if (cols > 40) x[35] = 0.f, x[36] = -0.f;
    int8_activations a;
    quantize_activations(x.data(), cols, a);
    std::vector<std::int8_t> q;
    std::vector<float> d;
    reference_quantize(x, q, d);
    INFO("cols = " << cols);
    REQUIRE(a.blocks == d.size());
    REQUIRE(a.q == q);  // zero padded past cols, like the reference
    REQUIRE(a.d == d);
    for (std::size_t l = 0; l < a.bias4.size(); ++l)
      REQUIRE(a.bias4[l] == -128 * (q[4 * l] + q[4 * l + 1] + q[4 * l + 2] + q[4 * l + 3]));
  }
  // An all-zero block: scale 0, codes 0.
  std::vector<float> zeros(64, 0.f);
  int8_activations z;
  quantize_activations(zeros.data(), zeros.size(), z);
  REQUIRE(z.d == std::vector<float>{0.f, 0.f});
  REQUIRE(std::all_of(z.q.begin(), z.q.end(), [](std::int8_t c) { return c == 0; }));
}

TEST_CASE("a non-finite activation makes only its own block's scale NaN", "[int8_activations]") {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> x(96, 0.25f);
    x[40] = bad;  // block 1
    int8_activations a;
    quantize_activations(x.data(), x.size(), a);
    INFO("bad = " << bad);
    REQUIRE(std::isnan(a.d[1]));
    REQUIRE(a.d[0] == 0.25f / 127.f);
    REQUIRE(a.d[2] == 0.25f / 127.f);
  }
}
