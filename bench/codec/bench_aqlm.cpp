// AQLM matvec at Qwen2.5-0.5B's shapes, as packed bytes per second out of cache, next to a plain
// read of the very same bytes in the same binary (common/out_of_cache.hpp; docs/codecs/aqlm.md
// records the ratio).
// Weights are random codes and codebooks: the kernels' speed does not depend on the values.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/out_of_cache.hpp"
#include "tqlib/codec/aqlm.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace aq = tqlib::codec::aqlm;

namespace {

struct layer {
  std::vector<std::byte> blob;
  std::size_t rows, cols;
};

layer random_layer(unsigned C, unsigned nbits, std::size_t rows, std::size_t cols) {
  tqlib::xoshiro256ss rng(rows * 31 + cols + C * 7 + nbits);
  const std::size_t K = std::size_t(1) << nbits, ig = cols / 8;
  std::vector<std::byte> codes(rows * ig * C * 2), books(C * K * 8 * 2), scales(rows * 2);
  for (auto& b : codes) b = std::byte(rng.next() & 0xff);
  for (std::size_t i = 0; i < C * K * 8; ++i)
    tqlib::store_le<std::uint16_t>(books.data() + 2 * i, tqlib::f32_to_f16(float(0.1 * rng.normal())));
  for (std::size_t i = 0; i < rows; ++i) tqlib::store_le<std::uint16_t>(scales.data() + 2 * i, tqlib::f32_to_f16(0.01f));
  const auto dtype = nbits <= 8 ? aq::int_dtype::i8 : aq::int_dtype::i16;
  codes.resize(rows * ig * C * (nbits <= 8 ? 1 : 2));
  const std::int64_t codes_shape[] = {std::int64_t(rows), std::int64_t(ig), std::int64_t(C)};
  const std::int64_t books_shape[] = {std::int64_t(C), std::int64_t(K), 1, 8};
  const std::int64_t scales_shape[] = {std::int64_t(rows), 1, 1, 1};
  auto imp = aq::make_aqlm_blob(codes, dtype, codes_shape, books, books_shape, scales, scales_shape);
  if (!imp) std::abort();
  return {std::move(imp->blob), rows, cols};
}

// The out-of-cache copies of one configuration's layer, shared by its matvec and plain read.
tqlib_bench::out_of_cache_copies& copies_of(unsigned C, unsigned nbits, std::size_t rows, std::size_t cols) {
  static std::map<std::tuple<unsigned, unsigned, std::size_t, std::size_t>, tqlib_bench::out_of_cache_copies> cache;
  auto& c = cache[{C, nbits, rows, cols}];
  if (c.empty()) c = tqlib_bench::out_of_cache_copies(random_layer(C, nbits, rows, cols).blob);
  return c;
}

void BM_aqlm_matvec(benchmark::State& state) {
  const auto C = unsigned(state.range(0)), nbits = unsigned(state.range(1));
  const auto rows = std::size_t(state.range(2)), cols = std::size_t(state.range(3));
  auto& copies = copies_of(C, nbits, rows, cols);
  const auto& ops = aq::aqlm_ops();
  if (!ops.validate(copies.first(), rows, cols)) std::abort();
  std::vector<float> x(cols, 0.5f), y(rows);
  for (auto _ : state) {
    ops.matvec(copies.next(), rows, cols, x.data(), y.data(), 0, rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(copies.bytes()));
  state.SetLabel(std::string(tqlib::simd::active_arch_name()) + " bpw " +
                 std::to_string(ops.bits_per_weight(copies.first(), rows, cols)));
}

// T tokens of prefill through matmul, as weights (rows*cols) times tokens per second.
void BM_aqlm_matmul(benchmark::State& state) {
  const auto l = random_layer(2, 8, std::size_t(state.range(0)), std::size_t(state.range(1)));
  const auto T = std::size_t(state.range(2));
  const auto& ops = aq::aqlm_ops();
  std::vector<float> X(T * l.cols, 0.5f), Y(T * l.rows);
  for (auto _ : state) {
    ops.matmul(l.blob, l.rows, l.cols, X.data(), T, Y.data(), 0, l.rows);
    benchmark::DoNotOptimize(Y.data());
    benchmark::ClobberMemory();
  }
  state.counters["MAC/s"] = benchmark::Counter(double(state.iterations()) * double(l.rows * l.cols * T),
                                               benchmark::Counter::kIsRate);
}

// Plain read of the very bytes the matching matvec streams.
void BM_plain_read_same_bytes(benchmark::State& state) {
  auto& copies = copies_of(unsigned(state.range(0)), unsigned(state.range(1)), std::size_t(state.range(2)),
                           std::size_t(state.range(3)));
  for (auto _ : state) benchmark::DoNotOptimize(tqlib_bench::plain_read_sum(copies.next()));
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(copies.bytes()));
}

void qwen_shapes(benchmark::internal::Benchmark* b) {
  for (auto [C, nbits] : {std::pair{2, 8}, std::pair{1, 16}})
    for (auto [rows, cols] : {std::pair{896, 896}, std::pair{4864, 896}, std::pair{896, 4864}}) b->Args({C, nbits, rows, cols});
}

}  // namespace

BENCHMARK(BM_aqlm_matvec)->Apply(qwen_shapes);
BENCHMARK(BM_plain_read_same_bytes)->Apply(qwen_shapes);
BENCHMARK(BM_aqlm_matmul)->Args({4864, 896, 16})->Args({896, 4864, 16});
BENCHMARK_MAIN();
