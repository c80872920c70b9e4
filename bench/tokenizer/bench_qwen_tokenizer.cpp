// Qwen tokenizer: loading the 151k vocabulary, encoding (warm piece cache and unseen words),
// decoding. Reads models/qwen2.5-tokenizer/ from the source tree.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tqlib/tokenizer/load.hpp"

namespace {

const std::filesystem::path tokenizer_dir =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "models" / "qwen2.5-tokenizer";

const tqlib::tokenizer::qwen_tokenizer& tok() {
  static const auto t = [] {
    auto r = tqlib::tokenizer::load_tokenizer_folder(tokenizer_dir);
    if (!r) std::abort();
    return std::move(r).value();
  }();
  return t;
}

std::string mixed_text() {
  std::string s;
  for (int i = 0; i < 200; ++i)
    s += "The quick brown fox jumps over the lazy dog. I'm sure it's 42, isn't it?\n"
         "def f(x):\n    return x * 2  # comment\n\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C "
         "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xF0\x9F\x98\x80\n\n";
  return s;
}

void BM_load_vocab_merges(benchmark::State& state) {
  for (auto _ : state) {
    auto r = tqlib::tokenizer::load_tokenizer_folder(tokenizer_dir);
    benchmark::DoNotOptimize(r.ok());
  }
}
BENCHMARK(BM_load_vocab_merges)->Unit(benchmark::kMillisecond);

void BM_encode_warm(benchmark::State& state) {
  const std::string text = mixed_text();
  std::size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tok().encode(text);
    tokens += ids->size();
  }
  state.counters["tokens/s"] = benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
}
BENCHMARK(BM_encode_warm)->Unit(benchmark::kMillisecond);

void BM_encode_unseen_words(benchmark::State& state) {
  std::size_t tokens = 0, round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string text;
    for (int i = 0; i < 2000; ++i) {  // a new letters-only word each time: no piece cache hits
      text += " q";
      for (std::size_t n = round * 2000 + std::size_t(i) + 1; n; n /= 26) text += char('a' + n % 26);
      text += "vexolith";
    }
    ++round;
    state.ResumeTiming();
    auto ids = tok().encode(text);
    tokens += ids->size();
  }
  state.counters["tokens/s"] = benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_encode_unseen_words)->Unit(benchmark::kMillisecond);

void BM_decode(benchmark::State& state) {
  const auto ids = *tok().encode(mixed_text());
  for (auto _ : state) benchmark::DoNotOptimize(tok().decode(ids));
  state.counters["tokens/s"] = benchmark::Counter(double(ids.size()) * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_decode)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
