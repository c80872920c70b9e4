// The plain memory read that every codec benchmark is compared against: summing a buffer larger
// than the last-level cache, the same way the codec kernels stream packed bytes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "tqlib/simd/vector_ops.hpp"

static void BM_plain_read(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0)) / sizeof(float);
  std::vector<float> buf(n, 1.0f), ones(n, 1.0f);
  for (auto _ : state) benchmark::DoNotOptimize(tqlib::simd::dot(buf.data(), ones.data(), n));
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(2 * n * sizeof(float)));
  state.SetLabel(tqlib::simd::active_arch_name());
}
BENCHMARK(BM_plain_read)->Arg(256 << 20);
BENCHMARK_MAIN();
