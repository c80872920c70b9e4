// tq bench MODEL [-t T] [-p 128] [-n 64] [-r 5] [--kv-bits B] [--bw-mib 512]
// Prompt processing (P tokens from an empty cache) and decode (N steps after it, greedy, through
// tqlib::session: N + 1 tokens, as the first comes from the prompt's logits),
// tokens/s, median/min/max over R runs after one warm-up, as llama-bench reports them.
// Then the decode ceiling that memory bandwidth sets: the read bandwidth measured on T threads
// over a --bw-mib buffer (0 skips it) divided by the weight bytes read per token.
// Last line: {"threads":T,"pp_tps":{"median":..,"min":..,"max":..},"decode_tps":{...},"bytes_per_token":..,
//             "read_gbps":..,"ceiling_tps":..}
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "cli.hpp"
#include "command.hpp"
#include "run_args.hpp"
#include "tqlib/api/session.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/core/thread_pool.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace {

struct stats {
  double median, min, max;
};
stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return {n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v.front(), v.back()};
}

// Read bandwidth in GB/s: each of `threads` threads sums its contiguous part of a buffer as
// 64-bit words in SIMD registers with 8 independent sums (neither a dependency chain nor float
// latency limits it, natively or in WebAssembly), best of 5 passes.
std::uint64_t sum_words(const std::uint64_t* p, std::size_t n) {
  using batch = xsimd::batch<std::uint64_t>;
  constexpr std::size_t W = batch::size;
  batch s[8];
  for (auto& v : s) v = batch(std::uint64_t(0));
  std::size_t i = 0;
  for (; i + 8 * W <= n; i += 8 * W)
    for (std::size_t k = 0; k < 8; ++k) s[k] += batch::load_unaligned(p + i + k * W);
  std::uint64_t t = 0;
  for (auto& v : s) t += xsimd::reduce_add(v);
  for (; i < n; ++i) t += p[i];
  return t;
}

double read_bandwidth_gbps(int threads, std::size_t mib) {
  std::vector<std::uint64_t> buf(mib * (1u << 20) / sizeof(std::uint64_t), 1);  // written: pages really exist
  tqlib::thread_pool pool(threads);
  std::vector<std::uint64_t> sink(std::size_t(threads) * 8);
  double best = 0;
  for (int pass = 0; pass < 6; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.run([&](int i, int n) {
      const auto [b, e] = tqlib::thread_pool::split(buf.size(), i, n, 1024);
      sink[std::size_t(i) * 8] = sum_words(buf.data() + b, e - b);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (pass > 0) best = std::max(best, double(buf.size() * sizeof(std::uint64_t)) / s / 1e9);  // pass 0 warms up
  }
  return sink[0] > 0 ? best : 0;
}

int bench_cmd(tq::args_t args) {
  tq::cli c(args, {"t", "threads", "p", "n", "r", "kv-bits", "bw-mib"});
  if (!c.ok()) return tq::usage_error("bench", c.error());
  if (c.positional().size() != 1) return tq::usage_error("bench", "usage: tq bench MODEL [-t T] [-p 128] [-n 64] [-r 5]");
  tqlib::model::run_options ro;
  const int P = c.number<int>("p", 128), N = c.number<int>("n", 64), R = c.number<int>("r", 5);
  const int bw_mib = c.number<int>("bw-mib", 512);
  if (!c.ok()) return tq::usage_error("bench", c.error());
  if (auto e = tq::run_args(c, ro)) return tq::usage_error("bench", *e);
  if (P < 1 || N < 1 || R < 1) return tq::usage_error("bench", "-p, -n, -r and -t must be >= 1");
  if (bw_mib < 0) return tq::usage_error("bench", "--bw-mib must be >= 0");
  auto m = tqlib::open_model(c.positional()[0]);
  if (!m) return tq::fail("bench", m.err());
  const std::size_t bytes_per_token = m->weight_bytes_per_token();
  ro.context = P + N + 1;
  ro.max_batch = std::min(P, 128);
  if (ro.context > m->config().max_seq_len) return tq::usage_error("bench", "-p + -n exceeds max_position_embeddings");
  std::vector<std::int32_t> prompt(static_cast<std::size_t>(P));
  tqlib::xoshiro256ss rng(1);
  for (auto& t : prompt) t = std::int32_t(rng.next() % std::uint64_t(std::min(m->config().vocab_size, 151643)));
  // Greedy, N tokens whatever they are: a stop token must not end a run early.
  tqlib::generate_options g;
  g.sampling.temperature = 0;
  g.max_tokens = N + 1;
  g.model_stop_ids = false;
  std::vector<double> pp, dec;
  int threads = 0;
  {
    auto s = m->new_session(ro);
    if (!s) return tq::fail("bench", s.err());
    threads = s->threads();
    for (int rep = 0; rep <= R; ++rep) {
      s->reset();
      auto r = s->generate(prompt, g);
      if (!r) return tq::fail("bench", r.err());
      if (rep == 0) continue;  // warm-up
      pp.push_back(r->stats.prefill_tokens_per_second());
      dec.push_back(r->stats.decode_tokens_per_second());
    }
  }  // the KV cache and scratch are freed before the bandwidth buffer
  const stats a = summarize(pp), b = summarize(dec);
  const double gbps = bw_mib > 0 ? read_bandwidth_gbps(threads, std::size_t(bw_mib)) : 0.0;
  const double ceiling = gbps * 1e9 / double(bytes_per_token);
  std::printf("| threads | test | tokens/s median [min-max] |\n|---|---|---|\n");
  std::printf("| %d | pp%d | %.1f [%.1f-%.1f] |\n", threads, P, a.median, a.min, a.max);
  std::printf("| %d | tg%d | %.1f [%.1f-%.1f] |\n", threads, N, b.median, b.min, b.max);
  const std::string kv = std::to_string(tqlib::model::kv_bits(ro.kv)) + (tqlib::model::is_turbo(ro.kv) ? "-bit TurboQuant" : "-bit float");
  std::printf("weights read per token: %.1f MB (%s), KV cache: %s\n", double(bytes_per_token) / 1e6,
              tqlib::simd::active_arch_name(), kv.c_str());
  if (gbps > 0)
    std::printf("read bandwidth (%d threads): %.1f GB/s -> decode ceiling %.1f tokens/s; median decode at %.0f%% of it\n",
                threads, gbps, ceiling, 100.0 * b.median / ceiling);
  std::printf(
      "{\"threads\":%d,\"pp_tps\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},\"decode_tps\":{\"median\":%.3f,\"min\":%.3f,"
      "\"max\":%.3f},\"bytes_per_token\":%zu,\"read_gbps\":%.3f,\"ceiling_tps\":%.3f}\n",
      threads, a.median, a.min, a.max, b.median, b.min, b.max, bytes_per_token, gbps, ceiling);
  return 0;
}

}  // namespace

TQ_COMMAND("bench",
           "bench MODEL [-t T] [-p 128] [-n 64] [-r 5] [--kv-bits B] [--bw-mib 512]: prompt and decode tokens/s, "
           "bandwidth ceiling",
           bench_cmd);
