// Encode, decode and matvec of the integer codecs at Qwen2.5-0.5B shapes, one thread. Matvec runs
// out of cache and BM_plain_read streams the very same bytes (common/out_of_cache.hpp), so the two
// packed-bytes/s figures compare directly.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <tuple>
#include <string>
#include <vector>

#include "common/out_of_cache.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/core/rng.hpp"

using namespace tqlib;

namespace {

struct prepared {
  std::vector<float> w;
  tqlib_bench::out_of_cache_copies copies;
};

const codec::codec_ops& ops_of(int id) { return *codec::find(codec::codec_id(id)); }

prepared& prepare(int id, std::size_t rows, std::size_t cols) {
  static std::map<std::tuple<int, std::size_t, std::size_t>, prepared> cache;
  auto& p = cache[{id, rows, cols}];
  if (p.copies.empty()) {
    xoshiro256ss rng(rows * 131 + cols);
    p.w.resize(rows * cols);
    for (auto& v : p.w) v = 0.02f * float(rng.normal());
    p.copies = tqlib_bench::out_of_cache_copies(*ops_of(id).encode(p.w.data(), rows, cols, {}));
  }
  return p;
}

// in_cache: the same blob every iteration (it stays in L2 at 512 rows), else the out-of-cache copies.
void run_matvec(benchmark::State& state, bool in_cache) {
  const int id = int(state.range(0));
  const std::size_t rows = std::size_t(state.range(1)), cols = std::size_t(state.range(2));
  auto& p = prepare(id, rows, cols);
  std::vector<float> x(cols, 0.5f), y(rows);
  for (std::size_t i = 0; i < cols; ++i) x[i] = float(i % 7) - 3.f;
  for (auto _ : state) {
    ops_of(id).matvec(in_cache ? p.copies.first() : p.copies.next(), rows, cols, x.data(), y.data(), 0, rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(std::int64_t(state.iterations() * p.copies.bytes()));
  state.counters["Gweights/s"] = benchmark::Counter(double(rows * cols) * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(ops_of(id).name) + " " + simd::active_arch_name());
}

void BM_matvec(benchmark::State& state) { run_matvec(state, false); }

// The same matvec on one blob that stays in L2 (512 rows): the instruction ceiling of a kernel.
// A codec whose in-cache speed is close to its out-of-cache one is compute-bound there.
void BM_matvec_in_cache(benchmark::State& state) { run_matvec(state, true); }

// Prefill: 32 tokens through one matmul; Gweights/s counts weights x tokens, so it compares with
// BM_matvec's (one token).
void BM_matmul32(benchmark::State& state) {
  constexpr std::size_t tokens = 32;
  const int id = int(state.range(0));
  const std::size_t rows = std::size_t(state.range(1)), cols = std::size_t(state.range(2));
  auto& p = prepare(id, rows, cols);
  std::vector<float> X(tokens * cols), Y(tokens * rows);
  for (std::size_t i = 0; i < X.size(); ++i) X[i] = float(i % 7) - 3.f;
  for (auto _ : state) {
    ops_of(id).matmul(p.copies.next(), rows, cols, X.data(), tokens, Y.data(), 0, rows);
    benchmark::DoNotOptimize(Y.data());
  }
  state.counters["Gweights/s"] =
      benchmark::Counter(double(rows * cols * tokens) * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(ops_of(id).name) + " " + simd::active_arch_name());
}

void BM_plain_read(benchmark::State& state) {
  const int id = int(state.range(0));
  const std::size_t rows = std::size_t(state.range(1)), cols = std::size_t(state.range(2));
  auto& p = prepare(id, rows, cols);
  for (auto _ : state) benchmark::DoNotOptimize(tqlib_bench::plain_read_sum(p.copies.next()));
  state.SetBytesProcessed(std::int64_t(state.iterations() * p.copies.bytes()));
  state.SetLabel(std::string(ops_of(id).name) + " bytes");
}

void BM_encode(benchmark::State& state) {
  const int id = int(state.range(0));
  const std::size_t rows = std::size_t(state.range(1)), cols = std::size_t(state.range(2));
  auto& p = prepare(id, rows, cols);
  for (auto _ : state) benchmark::DoNotOptimize(ops_of(id).encode(p.w.data(), rows, cols, {}));
  state.SetItemsProcessed(std::int64_t(state.iterations() * rows * cols));
  state.SetLabel(std::string(ops_of(id).name));
}

void BM_decode(benchmark::State& state) {
  const int id = int(state.range(0));
  const std::size_t rows = std::size_t(state.range(1)), cols = std::size_t(state.range(2));
  auto& p = prepare(id, rows, cols);
  std::vector<float> out(cols);
  for (auto _ : state)
    for (std::size_t r = 0; r < rows; ++r) ops_of(id).decode_row(p.copies.first(), rows, cols, r, out.data());
  state.SetItemsProcessed(std::int64_t(state.iterations() * rows * cols));
  state.SetLabel(std::string(ops_of(id).name));
}

void shapes(benchmark::internal::Benchmark* b) {
  using codec::codec_id;
  for (auto id : {codec_id::q8, codec_id::q4_0, codec_id::ternary, codec_id::trit2, codec_id::bitnet}) {
    for (auto [r, c] : {std::pair{896, 896}, {128, 896}, {4864, 896}, {896, 4864}}) b->Args({int(id), r, c});
  }
  b->Args({int(codec_id::tq2_0), 896, 4864});  // TQ2_0 needs rows of 256k: only down_proj fits
  b->Args({int(codec_id::tq1_0), 896, 4864});
  b->Args({int(codec_id::q8), 151936, 896});
  b->Args({int(codec_id::q4_0), 151936, 896});
  b->Args({int(codec_id::ternary), 151936, 896});
}

void in_cache_shapes(benchmark::internal::Benchmark* b) {
  using codec::codec_id;
  for (auto id : {codec_id::q8, codec_id::q4_0, codec_id::ternary, codec_id::trit2, codec_id::bitnet}) b->Args({int(id), 512, 896});
}

void prefill_shapes(benchmark::internal::Benchmark* b) {
  using codec::codec_id;
  for (auto id : {codec_id::q8, codec_id::q4_0, codec_id::ternary, codec_id::trit2, codec_id::bitnet}) b->Args({int(id), 4864, 896});
  b->Args({int(codec_id::tq1_0), 896, 4864});
}

void small_shapes(benchmark::internal::Benchmark* b) {
  using codec::codec_id;
  for (auto id : {codec_id::q8, codec_id::q4_0, codec_id::ternary, codec_id::tq2_0, codec_id::trit2}) b->Args({int(id), 896, 4864});
}

}  // namespace

BENCHMARK(BM_matvec)->Apply(shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_matvec_in_cache)->Apply(in_cache_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_matmul32)->Apply(prefill_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_plain_read)->Apply(shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_encode)->Apply(small_shapes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_decode)->Apply(small_shapes)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
