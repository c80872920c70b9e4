// TQ4_1S and TurboQuant_mse (turbo2, turbo4) at Qwen2.5-0.5B shapes: encode, decode_row and
// matvec throughput in packed bytes per second (and a 32-token matmul, prefill's kernel, in weights
// x tokens per second), out of cache, next to a plain read of the very same
// bytes (common/out_of_cache.hpp: the memory-bandwidth ceiling a matvec that streams its weights
// can reach).
//
//   bench_codec_rotation_codecs --benchmark_min_time=0.2
// Compare BM_matvec/<codec>/<rows>x<cols> with BM_plain_read/<same bytes> line by line.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/out_of_cache.hpp"
#include "tqlib/codec/tq4_1s.hpp"
#include "tqlib/codec/turboquant.hpp"
#include "tqlib/core/rng.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

struct shape {
  std::size_t rows, cols;
};
constexpr shape qwen_shapes[] = {{896, 896}, {128, 896}, {4864, 896}, {896, 4864}, {151936, 896}};

// A valid blob without running the (slow, search-based) encoder: random code bits, every block
// scale set to 0.02 (f16). All code patterns are valid in this layout.
std::vector<std::byte> random_blob(const codec_ops& ops, std::size_t rows, std::size_t cols) {
  std::vector<std::byte> blob(*ops.packed_size(rows, cols));
  xoshiro256ss rng(42);
  for (std::size_t i = 0; i + 8 <= blob.size(); i += 8) store_le<std::uint64_t>(blob.data() + i, rng.next());
  const auto plan = rht_block_plan(cols, sm_max_block, sm_min_block);
  const unsigned mb = ops.id == codec_id::tq4_1s ? 3 : unsigned(int(ops.id) - int(codec_id::turbo1));
  std::size_t off = 0;
  for (std::size_t r = 0; r < rows; ++r)
    for (const auto& b : plan) {
      store_le<std::uint16_t>(blob.data() + off, f32_to_f16(0.02f));
      off += sm_block_bytes(b.size, mb);
    }
  return blob;
}

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  xoshiro256ss rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.normal());
  return v;
}

// The copies of one codec's blob at one shape, shared by its matvec and plain-read benchmarks.
tqlib_bench::out_of_cache_copies& copies_of(const codec_ops* ops, shape s) {
  static std::map<std::tuple<const codec_ops*, std::size_t, std::size_t>, tqlib_bench::out_of_cache_copies> cache;
  auto& c = cache[{ops, s.rows, s.cols}];
  if (c.empty()) c = tqlib_bench::out_of_cache_copies(random_blob(*ops, s.rows, s.cols));
  return c;
}

void matvec(benchmark::State& state, const codec_ops* ops, shape s) {
  auto& copies = copies_of(ops, s);
  const auto x = random_floats(s.cols, 1);
  std::vector<float> y(s.rows);
  for (auto _ : state) {
    ops->matvec(copies.next(), s.rows, s.cols, x.data(), y.data(), 0, s.rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(copies.bytes()));
  state.counters["Gweights/s"] = benchmark::Counter(double(s.rows * s.cols) * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(simd::active_arch_name());
}

// Prefill: 32 tokens through one matmul; Gweights/s counts weights x tokens, so it compares with
// matvec's weights per second (one token).
void matmul(benchmark::State& state, const codec_ops* ops, shape s) {
  constexpr std::size_t tokens = 32;
  auto& copies = copies_of(ops, s);
  const auto X = random_floats(tokens * s.cols, 1);
  std::vector<float> Y(tokens * s.rows);
  for (auto _ : state) {
    ops->matmul(copies.next(), s.rows, s.cols, X.data(), tokens, Y.data(), 0, s.rows);
    benchmark::DoNotOptimize(Y.data());
  }
  state.counters["Gweights/s"] =
      benchmark::Counter(double(s.rows * s.cols * tokens) * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(simd::active_arch_name());
}

void decode(benchmark::State& state, const codec_ops* ops, shape s) {
  const auto blob = random_blob(*ops, s.rows, s.cols);
  std::vector<float> out(s.cols);
  std::size_t r = 0;
  const std::size_t row_bytes = blob.size() / s.rows;
  for (auto _ : state) {
    ops->decode_row(blob, s.rows, s.cols, r, out.data());
    benchmark::DoNotOptimize(out.data());
    r = (r + 1) % s.rows;
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(row_bytes));
}

void encode(benchmark::State& state, const codec_ops* ops, shape s) {
  const auto w = random_floats(s.rows * s.cols, 2);
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto blob = ops->encode(w.data(), s.rows, s.cols, {});
    bytes = blob->size();
    benchmark::DoNotOptimize(blob->data());
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(bytes));
}

// The same copies, streamed as 64-bit words: the ceiling for streaming weights.
void plain_read(benchmark::State& state, const codec_ops* ops, shape s) {
  auto& copies = copies_of(ops, s);
  for (auto _ : state) benchmark::DoNotOptimize(tqlib_bench::plain_read_sum(copies.next()));
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(copies.bytes()));
}

int register_all() {
  for (const codec_ops* ops : {&tq4_1s_ops(), &turbo4_ops(), &turbo2_ops()}) {
    for (const shape s : qwen_shapes) {
      const std::string tag = std::string(ops->name) + "/" + std::to_string(s.rows) + "x" + std::to_string(s.cols);
      benchmark::RegisterBenchmark(("BM_matvec/" + tag).c_str(), matvec, ops, s)->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("BM_plain_read/" + tag).c_str(), plain_read, ops, s)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("BM_decode_row/" + tag).c_str(), decode, ops, s);
      if (s.rows * s.cols == 4864 * 896)
        benchmark::RegisterBenchmark(("BM_matmul32/" + tag).c_str(), matmul, ops, s)->Unit(benchmark::kMicrosecond);
      if (s.rows * s.cols <= 896 * 896)
        benchmark::RegisterBenchmark(("BM_encode/" + tag).c_str(), encode, ops, s)->Unit(benchmark::kMillisecond);
    }
  }
  return 0;
}
const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
