#include <array>
#include <cmath>

#include "catch.hpp"
#include "tqlib/codec/lloyd_max.hpp"
#include "tqlib/core/rng.hpp"

using namespace tqlib;
namespace lm = tqlib::codec::lloyd_max;

namespace {

// Max (1960), Table I, positive half (as in /work/shared/FACTS.md).
constexpr std::array<double, 1> max_levels_1{0.7979};
constexpr std::array<double, 2> max_levels_2{0.4528, 1.5104};
constexpr std::array<double, 4> max_levels_3{0.2451, 0.7560, 1.3439, 2.1520};
constexpr std::array<double, 8> max_levels_4{0.1284, 0.3881, 0.6568, 0.9424, 1.2562, 1.6181, 2.0690, 2.7326};
constexpr std::array<double, 1> max_thresholds_2{0.9816};
constexpr std::array<double, 3> max_thresholds_3{0.5006, 1.0500, 1.7479};
constexpr std::array<double, 7> max_thresholds_4{0.2582, 0.5224, 0.7996, 1.0993, 1.4371, 1.8435, 2.4008};
constexpr double max_mse[5] = {0, 0.3634, 0.1175, 0.03454, 0.009497};

constexpr double absd(double x) { return x < 0 ? -x : x; }

// The table prints 4 decimals: agreement within 1e-4 (plus half a unit of the last digit).
template <int Bits, std::size_t N, std::size_t M>
constexpr bool matches_max(const lm::quantizer<Bits>& q, const std::array<double, N>& levels,
                           const std::array<double, M>& thresholds) {
  constexpr int half = (1 << Bits) / 2;
  for (int i = 0; i < half; ++i)
    if (absd(q.levels[std::size_t(half + i)] - levels[std::size_t(i)]) > 1.5e-4) return false;
  for (std::size_t i = 0; i < M; ++i)
    if (absd(q.thresholds[std::size_t(half) + i] - thresholds[i]) > 1.5e-4) return false;
  return absd(q.mse - max_mse[Bits]) < 1e-4 && q.thresholds[std::size_t(half - 1)] == 0;
}

constexpr std::array<double, 0> no_thresholds{};
static_assert(matches_max(lm::gaussian<1>, max_levels_1, no_thresholds));
static_assert(matches_max(lm::gaussian<2>, max_levels_2, max_thresholds_2));
static_assert(matches_max(lm::gaussian<3>, max_levels_3, max_thresholds_3));
static_assert(matches_max(lm::gaussian<4>, max_levels_4, max_thresholds_4));
// 1 bit: the level is E|Y| = sqrt(2/pi) and the MSE 1 - 2/pi (closed forms).
static_assert(absd(lm::gaussian<1>.levels[1] - 0.79788456080286536) < 1e-9);
static_assert(absd(lm::gaussian<1>.mse - (1 - 0.63661977236758134)) < 1e-9);

// Monte Carlo MSE of a quantizer on samples drawn by `draw`.
template <int Bits, class Draw>
double sampled_mse(const lm::quantizer<Bits>& q, Draw draw, int samples) {
  double err = 0;
  for (int i = 0; i < samples; ++i) {
    const double y = draw();
    const double e = y - q.levels[std::size_t(q.index_of(y))];
    err += e * e;
  }
  return err / samples;
}

}  // namespace

TEST_CASE("run-time Gaussian designs equal the constants and Max's table", "[lloyd_max]") {
  const auto q4 = lm::design_gaussian<4>();
  for (std::size_t i = 0; i < 16; ++i) REQUIRE(q4.levels[i] == Approx(lm::gaussian<4>.levels[i]).margin(1e-12));
  for (std::size_t i = 0; i < 8; ++i) REQUIRE(q4.levels[8 + i] == Approx(max_levels_4[i]).margin(1.5e-4));
  for (std::size_t i = 0; i < 7; ++i) REQUIRE(q4.thresholds[8 + i] == Approx(max_thresholds_4[i]).margin(1.5e-4));
  REQUIRE(q4.mse == Approx(max_mse[4]).margin(1e-5));
  const auto q3 = lm::design_gaussian<3>();
  for (std::size_t i = 0; i < 4; ++i) REQUIRE(q3.levels[4 + i] == Approx(max_levels_3[i]).margin(1.5e-4));
  REQUIRE(q3.mse == Approx(max_mse[3]).margin(1e-5));
  REQUIRE(lm::design_gaussian<2>().mse == Approx(max_mse[2]).margin(1e-4));
}

TEST_CASE("designs satisfy the Lloyd-Max conditions", "[lloyd_max]") {
  const auto& q = lm::gaussian<4>;
  // nearest neighbour: thresholds are midpoints; levels ascending and symmetric
  for (std::size_t i = 0; i + 1 < 16; ++i) {
    REQUIRE(q.thresholds[i] == Approx(0.5 * (q.levels[i] + q.levels[i + 1])).margin(1e-12));
    REQUIRE(q.levels[i] < q.levels[i + 1]);
  }
  for (std::size_t i = 0; i < 16; ++i) REQUIRE(q.levels[i] == Approx(-q.levels[15 - i]).margin(1e-15));
  // centroid: E[Y | cell] by the closed form (phi(a) - phi(b)) / (Phi(b) - Phi(a)) with std::erf
  auto phi = [](double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI); };
  auto Phi = [](double x) { return 0.5 * (1 + std::erf(x / std::sqrt(2.0))); };
  for (std::size_t i = 8; i < 16; ++i) {
    const double a = q.thresholds[i - 1], b = i == 15 ? 40.0 : q.thresholds[i];
    REQUIRE(q.levels[i] == Approx((phi(a) - phi(b)) / (Phi(b) - Phi(a))).margin(1e-8));
  }
}

TEST_CASE("Monte Carlo MSE agrees with the designed MSE", "[lloyd_max]") {
  xoshiro256ss rng(5);
  const double mc = sampled_mse(lm::gaussian<3>, [&] { return rng.normal(); }, 400000);
  // std error of the mean of e^2 is about mse * sqrt(2 / n) ~ 1e-4 relative 0.3%
  REQUIRE(mc == Approx(lm::gaussian<3>.mse).epsilon(0.02));
}

TEST_CASE("sphere-coordinate designs: limits and Monte Carlo on random unit vectors", "[lloyd_max]") {
  // Large d tends to the Gaussian design (the coordinate law tends to N(0, 1/d)).
  const auto big = lm::design_sphere<4>(4096);
  REQUIRE(big.mse == Approx(lm::gaussian<4>.mse).epsilon(0.01));
  // d = 3: the coordinate is uniform on [-1, 1] (Archimedes); in units of 1/sqrt(3) the optimal
  // 2-bit quantizer of U(-sqrt3, sqrt3) is uniform with step sqrt3/2: levels +-sqrt3/4, +-3sqrt3/4.
  const auto d3 = lm::design_sphere<2>(3);
  REQUIRE(d3.levels[2] == Approx(std::sqrt(3.0) / 4).margin(1e-6));
  REQUIRE(d3.levels[3] == Approx(3 * std::sqrt(3.0) / 4).margin(1e-6));
  REQUIRE(d3.mse == Approx(0.75 / 12).margin(1e-6));  // step^2 / 12
  // compile-time constant equals run time
  static_assert(lm::sphere<2, 64>.levels[3] > 1.4 && lm::sphere<2, 64>.levels[3] < 1.6);
  REQUIRE(lm::sphere<2, 64>.levels[3] == Approx(lm::design_sphere<2>(64).levels[3]).margin(1e-12));

  // Sampled coordinates of uniform unit vectors in R^64 (normalized Gaussian vectors).
  xoshiro256ss rng(6);
  const auto q = lm::design_sphere<2>(64);
  std::array<double, 64> v{};
  std::size_t next = v.size();
  auto draw = [&] {
    if (next == v.size()) {
      double n2 = 0;
      for (auto& x : v) x = rng.normal(), n2 += x * x;
      for (auto& x : v) x *= std::sqrt(64.0 / n2);  // scaled by sqrt(d)
      next = 0;
    }
    return v[next++];
  };
  REQUIRE(sampled_mse(q, draw, 256000) == Approx(q.mse).epsilon(0.02));
}
