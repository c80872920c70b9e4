// tq bench MODEL [-t T] [-p 128] [-n 64] [-r 5]
// Prompt processing (P tokens from an empty cache) and decode (N tokens after it, greedy),
// tokens/s, median/min/max over R runs after one warm-up, as llama-bench reports them.
// Last line: {"threads":T,"pp_tps":{"median":..,"min":..,"max":..},"decode_tps":{...},"bytes_per_token":..}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "model_loader.hpp"

namespace {

struct stats {
  double median, min, max;
};
stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return {n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v.front(), v.back()};
}

int bench_cmd(tq::args_t args) {
  tq::cli c(args, {"t", "threads", "p", "n", "r"});
  if (!c.ok()) return tq::usage_error("bench", c.error());
  if (c.positional().size() != 1) return tq::usage_error("bench", "usage: tq bench MODEL [-t T] [-p 128] [-n 64] [-r 5]");
  tqlib::model::run_options ro;
  ro.threads = c.number<int>("t", c.number<int>("threads", 1));
  const int P = c.number<int>("p", 128), N = c.number<int>("n", 64), R = c.number<int>("r", 5);
  if (!c.ok()) return tq::usage_error("bench", c.error());
  if (P < 1 || N < 1 || R < 1 || ro.threads < 1) return tq::usage_error("bench", "-p, -n, -r and -t must be >= 1");
  auto lm = tq::load_model(c.positional()[0]);
  if (!lm) return tq::fail("bench", lm.err());
  const std::size_t bytes_per_token = lm->weights.bytes_per_token();
  ro.context = P + N;
  ro.max_batch = std::min(P, 128);
  if (ro.context > lm->cfg.max_seq_len) return tq::usage_error("bench", "-p + -n exceeds max_position_embeddings");
  if (auto r = lm->start(ro); !r) return tq::fail("bench", r.err());
  auto& m = *lm->model;
  std::vector<std::int32_t> prompt(static_cast<std::size_t>(P));
  tqlib::xoshiro256ss rng(1);
  for (auto& t : prompt) t = std::int32_t(rng.next() % std::uint64_t(std::min(lm->cfg.vocab_size, 151643)));
  std::vector<float> logits(std::size_t(lm->cfg.vocab_size));
  std::vector<double> pp, dec;
  using clk = std::chrono::steady_clock;
  for (int rep = 0; rep <= R; ++rep) {
    const auto t0 = clk::now();
    if (auto r = m.forward(prompt, 0, logits.data()); !r) return tq::fail("bench", r.err());
    const auto t1 = clk::now();
    for (int i = 0; i < N; ++i) {
      const std::int32_t next = tqlib::model::sampler::argmax(logits);
      if (auto r = m.forward(std::span(&next, 1), P + i, logits.data()); !r) return tq::fail("bench", r.err());
    }
    const auto t2 = clk::now();
    if (rep == 0) continue;  // warm-up
    pp.push_back(P / std::chrono::duration<double>(t1 - t0).count());
    dec.push_back(N / std::chrono::duration<double>(t2 - t1).count());
  }
  const stats a = summarize(pp), b = summarize(dec);
  std::printf("| threads | test | tokens/s median [min-max] |\n|---|---|---|\n");
  std::printf("| %d | pp%d | %.1f [%.1f-%.1f] |\n", m.threads(), P, a.median, a.min, a.max);
  std::printf("| %d | tg%d | %.1f [%.1f-%.1f] |\n", m.threads(), N, b.median, b.min, b.max);
  std::printf("weights read per token: %.1f MB (%s)\n", double(bytes_per_token) / 1e6, tqlib::simd::active_arch_name());
  std::printf(
      "{\"threads\":%d,\"pp_tps\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},\"decode_tps\":{\"median\":%.3f,\"min\":%.3f,"
      "\"max\":%.3f},\"bytes_per_token\":%zu}\n",
      m.threads(), a.median, a.min, a.max, b.median, b.min, b.max, bytes_per_token);
  return 0;
}

}  // namespace

TQ_COMMAND("bench", "bench MODEL [-t T] [-p 128] [-n 64] [-r 5]: prompt and decode tokens/s", bench_cmd);
