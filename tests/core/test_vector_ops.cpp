#include <vector>

#include "catch.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/simd/vector_ops.hpp"

using namespace tqlib;

TEST_CASE("every SIMD architecture's dot and axpy match the scalar reference", "[simd]") {
  xoshiro256ss rng(7);
  int archs = 0;
  simd::for_each_supported_arch<simd::vector_kernels>([&](auto k, const char* name) {
    using K = decltype(k);
    ++archs;
    for (std::size_t n : {0u, 1u, 3u, 15u, 16u, 17u, 31u, 64u, 65u, 896u, 4864u}) {
      std::vector<float> a(n), b(n), y(n), y_ref(n);
      for (std::size_t i = 0; i < n; ++i) {
        a[i] = float(rng.normal());
        b[i] = float(rng.normal());
        y[i] = y_ref[i] = float(rng.normal());
      }
      INFO(name << " n=" << n);
      const float ref = simd::dot_ref(a.data(), b.data(), n);
      // float accumulation in a different order: error bounded by n * eps * sum|a*b|
      double mag = 0;
      for (std::size_t i = 0; i < n; ++i) mag += std::abs(double(a[i]) * b[i]);
      REQUIRE(std::abs(K::dot(a.data(), b.data(), n) - ref) <= 1e-6 * (n + 1) * (mag + 1));
      K::axpy(0.5f, a.data(), y.data(), n);
      for (std::size_t i = 0; i < n; ++i) REQUIRE(y[i] == Approx(y_ref[i] + 0.5f * a[i]).margin(1e-6));
    }
  });
  REQUIRE(archs >= 1);
}
