// The plain memory read on its own: a 256 MB buffer (far past the last-level cache) summed as
// 64-bit words, the same loop the codec benchmarks run beside each matvec
// (common/out_of_cache.hpp).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/out_of_cache.hpp"

static void BM_plain_read(benchmark::State& state) {
  const std::vector<std::byte> buf(std::size_t(state.range(0)), std::byte{1});
  for (auto _ : state) benchmark::DoNotOptimize(tqlib_bench::plain_read_sum(buf));
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(buf.size()));
}
BENCHMARK(BM_plain_read)->Arg(256 << 20);
BENCHMARK_MAIN();
