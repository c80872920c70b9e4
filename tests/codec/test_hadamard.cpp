#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "catch.hpp"
#include "tqlib/codec/hadamard.hpp"
#include "tqlib/core/rng.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

// H_4 / 2 applied to (1, 2, 3, 4) by the explicit Sylvester matrix: (10, -2, -4, 0) / 2.
constexpr std::array<float, 4> fwht4_of_1234() {
  std::array<float, 4> x{1, 2, 3, 4};
  fwht_normalized(x.data(), 4);
  return x;
}
static_assert(fwht4_of_1234()[0] == 5.f && fwht4_of_1234()[1] == -1.f && fwht4_of_1234()[2] == -2.f &&
              fwht4_of_1234()[3] == 0.f);
static_assert(sylvester_entry(3, 3) == 1 && sylvester_entry(1, 3) == -1 && sylvester_entry(2, 6) == -1);
static_assert(inverse_sqrt_power_of_two(4) == 0.5f && inverse_sqrt_power_of_two(1) == 1.f);

std::vector<float> random_vector(xoshiro256ss& rng, std::size_t n) {
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.normal());
  return v;
}

// y = M x with M[i][j] = sylvester_entry(i, j) / sqrt(n), in double: the independent reference.
std::vector<double> explicit_sylvester(const std::vector<float>& x) {
  const std::size_t n = x.size();
  std::vector<double> y(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) y[i] += sylvester_entry(i, j) * double(x[j]);
  for (auto& v : y) v /= std::sqrt(double(n));
  return y;
}

}  // namespace

TEST_CASE("FWHT equals the explicit Sylvester matrix", "[hadamard]") {
  xoshiro256ss rng(11);
  for (std::size_t n : {1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u}) {
    auto x = random_vector(rng, n);
    const auto ref = explicit_sylvester(x);
    fwht_normalized(x.data(), n);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(x[i] == Approx(ref[i]).margin(1e-5));
  }
}

TEST_CASE("Sylvester matrix is orthonormal after scaling", "[hadamard]") {
  for (std::size_t n : {2u, 8u, 64u}) {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        int dot = 0;
        for (std::size_t k = 0; k < n; ++k) dot += sylvester_entry(i, k) * sylvester_entry(j, k);
        REQUIRE(dot == (i == j ? int(n) : 0));
      }
  }
}

TEST_CASE("FWHT preserves norms and inner products and is its own inverse", "[hadamard]") {
  xoshiro256ss rng(12);
  for (std::size_t n : {16u, 256u, 4096u}) {
    auto x = random_vector(rng, n), y = random_vector(rng, n);
    double xx = 0, xy = 0;
    for (std::size_t i = 0; i < n; ++i) xx += double(x[i]) * x[i], xy += double(x[i]) * y[i];
    const auto x0 = x;
    fwht_normalized(x.data(), n);
    fwht_normalized(y.data(), n);
    double rx = 0, rxy = 0;
    for (std::size_t i = 0; i < n; ++i) rx += double(x[i]) * x[i], rxy += double(x[i]) * y[i];
    REQUIRE(rx == Approx(xx).epsilon(1e-5));
    REQUIRE(rxy == Approx(xy).margin(1e-4 * xx));
    fwht_normalized(x.data(), n);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(x[i] == Approx(x0[i]).margin(1e-5));
  }
}

TEST_CASE("randomized transform: inverse undoes forward, signs follow the documented rule", "[hadamard]") {
  const std::uint64_t seed = 0x1234;
  const auto words = rht_sign_words(seed, 3, 256);
  REQUIRE(words.size() == 4);
  // the rule in docs/codecs/hadamard.md, spelled out independently
  xoshiro256ss g(seed ^ (3ull * 0x9E3779B97F4A7C15ull));
  for (std::size_t k = 0; k < 4; ++k) REQUIRE(words[k] == g.next());
  // blocks at different positions get different signs
  REQUIRE(rht_sign_words(seed, 4, 256)[0] != words[0]);

  xoshiro256ss rng(13);
  auto x = random_vector(rng, 256);
  const auto x0 = x;
  rht_forward_ref(x.data(), 256, words.data());
  // forward = H applied to D x
  auto dx = x0;
  for (std::size_t i = 0; i < 256; ++i)
    if ((words[i / 64] >> (i % 64)) & 1) dx[i] = -dx[i];
  const auto ref = explicit_sylvester(dx);
  for (std::size_t i = 0; i < 256; ++i) REQUIRE(x[i] == Approx(ref[i]).margin(1e-5));
  rht_inverse_ref(x.data(), 256, words.data());
  for (std::size_t i = 0; i < 256; ++i) REQUIRE(x[i] == Approx(x0[i]).margin(1e-5));
}

TEST_CASE("every SIMD architecture's transforms equal the scalar reference bit for bit", "[hadamard][simd]") {
  xoshiro256ss rng(14);
  int archs = 0;
  simd::for_each_supported_arch<hadamard_kernels>([&](auto k, const char* name) {
    using K = decltype(k);
    ++archs;
    for (std::size_t n : {1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 4096u}) {
      INFO(name << " n=" << n);
      const auto words = rht_sign_words(99, n, n);
      auto a = random_vector(rng, n);
      auto b = a, c = a;
      fwht_normalized(a.data(), n);
      K::fwht_normalized(b.data(), n);
      for (std::size_t i = 0; i < n; ++i) REQUIRE(a[i] == b[i]);
      auto d = c;
      rht_forward_ref(c.data(), n, words.data());
      K::rht_forward(d.data(), n, words.data());
      for (std::size_t i = 0; i < n; ++i) REQUIRE(c[i] == d[i]);
      rht_inverse_ref(c.data(), n, words.data());
      K::rht_inverse(d.data(), n, words.data());
      for (std::size_t i = 0; i < n; ++i) REQUIRE(c[i] == d[i]);
    }
  });
  REQUIRE(archs >= 1);
}

TEST_CASE("block plan covers every column with power-of-two blocks", "[hadamard]") {
  for (std::size_t cols : {32u, 128u, 896u, 1000u, 4864u, 1u, 33u, 300u}) {
    const auto plan = rht_block_plan(cols);
    std::size_t next = 0;
    for (const auto& b : plan) {
      REQUIRE(b.offset == next);
      REQUIRE(is_power_of_two(b.size));
      REQUIRE(b.size >= 32);
      REQUIRE(b.length <= b.size);
      next += b.length;
    }
    REQUIRE(next == cols);
    REQUIRE(rotated_row_size(plan) - cols < 32);
  }
  const auto p896 = rht_block_plan(896);
  REQUIRE(p896.size() == 4);
  REQUIRE(p896[3].size == 128);
  REQUIRE(rht_block_plan(4864).size() == 19);
}
