#pragma once
// Measuring a model rather than generating with it: the logits after every token of a sequence
// (`tq logits`, comparisons against a reference implementation) and perplexity over windows
// (`tq ppl`, scripts/quality_table).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "tqlib/api/open_model.hpp"
#include "tqlib/api/session.hpp"

namespace tqlib {

// Row t of the result (vocab_size floats) = the logits after ids[0..t], run from an empty cache.
inline result<std::vector<float>> compute_logits(const model_handle& m, std::span<const std::int32_t> ids,
                                                 model::run_options run) {
  if (ids.empty()) return make_error(errc::invalid_argument, "compute_logits: no ids");
  if (std::int64_t(ids.size()) > m.config().max_seq_len)
    return make_error(errc::invalid_argument, std::to_string(ids.size()) + " ids exceed max_position_embeddings (" +
                                                  std::to_string(m.config().max_seq_len) + ")");
  run.context = int(ids.size());
  auto s = m.new_session(run);
  if (!s) return std::move(s).err();
  std::vector<float> logits(ids.size() * std::size_t(m.config().vocab_size));
  TQLIB_TRY(s->evaluate(ids, logits.data(), true));
  return logits;
}

struct perplexity_options {
  int window = 512;  // tokens per window; each window runs from an empty cache
  model::run_options run{};
  // Called after each window with its own perplexity.
  std::function<void(std::size_t window, std::size_t windows, double window_ppl)> on_window;
};

struct perplexity_result {
  double ppl = 0;  // exp(nll)
  double nll = 0;  // mean negative log-likelihood per scored token, natural log
  std::size_t tokens = 0;   // scored: window - 1 per window
  std::size_t windows = 0;
};

// Perplexity over consecutive non-overlapping windows of `window` ids (a trailing partial window
// is dropped); in each window the tokens at positions 1..window-1 are scored, as llama.cpp's
// perplexity tool does without its context overlap.
inline result<perplexity_result> perplexity(const model_handle& m, std::span<const std::int32_t> ids,
                                            const perplexity_options& opt) {
  const int W = opt.window;
  if (W < 2) return make_error(errc::invalid_argument, "perplexity: the window must be >= 2 tokens");
  if (W > m.config().max_seq_len)
    return make_error(errc::invalid_argument, "perplexity: the window (" + std::to_string(W) + ") exceeds max_position_embeddings (" +
                                                  std::to_string(m.config().max_seq_len) + ")");
  const std::size_t V = std::size_t(m.config().vocab_size), windows = ids.size() / std::size_t(W);
  if (windows == 0)
    return make_error(errc::invalid_argument, "perplexity: fewer tokens (" + std::to_string(ids.size()) + ") than one window (" +
                                                  std::to_string(W) + ")");
  for (auto id : ids)
    if (id < 0 || std::size_t(id) >= V)
      return make_error(errc::invalid_argument, "perplexity: id " + std::to_string(id) + " is outside the vocabulary (" +
                                                    std::to_string(V) + ")");
  model::run_options run = opt.run;
  run.context = W;
  auto s = m.new_session(run);
  if (!s) return std::move(s).err();
  const int chunk = 64;  // logits of 64 positions at a time: 64 x V floats, not W x V
  std::vector<float> logits(std::size_t(chunk) * V);
  perplexity_result r;
  r.windows = windows;
  double nll = 0;
  for (std::size_t w = 0; w < windows; ++w) {
    const std::int32_t* win = ids.data() + w * std::size_t(W);
    s->reset();
    double wnll = 0;
    for (int t0 = 0; t0 < W; t0 += chunk) {
      const int n = std::min(chunk, W - t0);
      TQLIB_TRY(s->evaluate(std::span(win + t0, std::size_t(n)), logits.data(), true));
      for (int i = 0; i < n && t0 + i + 1 < W; ++i) {
        const float* l = logits.data() + std::size_t(i) * V;
        float mx = l[0];
        for (std::size_t v = 1; v < V; ++v) mx = std::max(mx, l[v]);
        double sum = 0;
        for (std::size_t v = 0; v < V; ++v) sum += std::exp(double(l[v] - mx));
        wnll += std::log(sum) + double(mx) - double(l[win[t0 + i + 1]]);
      }
    }
    nll += wnll;
    r.tokens += std::size_t(W - 1);
    if (opt.on_window) opt.on_window(w, windows, std::exp(wnll / (W - 1)));
  }
  r.nll = nll / double(r.tokens);
  r.ppl = std::exp(r.nll);
  return r;
}

}  // namespace tqlib
