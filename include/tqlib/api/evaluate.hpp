#pragma once
// Measuring a model rather than generating with it: the logits after every token of a sequence
// (`tq logits`, comparisons against a reference implementation) and perplexity over windows
// (`tq ppl`, scripts/quality_table).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
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
  // Position of the first token scored in each window (1 <= score_from < window): the tokens at
  // positions score_from..window-1 are scored, each predicted from the positions before it. 1,
  // the default, scores every token but the first; llama.cpp's llama-perplexity scores the second
  // half only (score_from = window / 2 + 1; see llama_perplexity_options).
  int score_from = 1;
  // When set, the first id of every window is replaced by this one (llama-perplexity puts the
  // BOS token there when the vocabulary adds one). The replaced id is never scored.
  std::optional<std::int32_t> window_first_id;
  model::run_options run{};
  // Called after each window with its own perplexity.
  std::function<void(std::size_t window, std::size_t windows, double window_ppl)> on_window;
};

// The windows and scoring of llama.cpp's perplexity tool (tools/perplexity/perplexity.cpp,
// `llama-perplexity -c n_ctx`, without --ppl-stride): the ids are cut into consecutive chunks of
// n_ctx (a trailing partial chunk is dropped), each runs from an empty cache, and only the
// tokens after the first half are scored: positions n_ctx/2 + 1 .. n_ctx - 1, n_ctx - n_ctx/2 - 1
// per chunk. With bos (a vocabulary that adds BOS), each chunk's first id is replaced by it; the
// caller also puts bos in front of the ids, as llama-perplexity's tokenization does.
inline perplexity_options llama_perplexity_options(int n_ctx, std::optional<std::int32_t> bos = std::nullopt) {
  perplexity_options o;
  o.window = n_ctx;
  o.score_from = n_ctx / 2 + 1;
  o.window_first_id = bos;
  return o;
}

struct perplexity_result {
  double ppl = 0;  // exp(nll)
  double nll = 0;  // mean negative log-likelihood per scored token, natural log
  // llama-perplexity's uncertainty of ppl: ppl * sqrt((mean nll^2 - nll^2) / (tokens - 1)).
  double ppl_error = 0;
  std::size_t tokens = 0;   // scored: window - score_from per window
  std::size_t windows = 0;
};

// Perplexity over consecutive non-overlapping windows of `window` ids (a trailing partial window
// is dropped); in each window the tokens at positions score_from..window-1 are scored (by default
// 1..window-1, as llama.cpp's perplexity tool would without its half-window context).
inline result<perplexity_result> perplexity(const model_handle& m, std::span<const std::int32_t> ids,
                                            const perplexity_options& opt) {
  const int W = opt.window;
  if (W < 2) return make_error(errc::invalid_argument, "perplexity: the window must be >= 2 tokens");
  if (W > m.config().max_seq_len)
    return make_error(errc::invalid_argument, "perplexity: the window (" + std::to_string(W) + ") exceeds max_position_embeddings (" +
                                                  std::to_string(m.config().max_seq_len) + ")");
  if (opt.score_from < 1 || opt.score_from >= W)
    return make_error(errc::invalid_argument, "perplexity: score_from (" + std::to_string(opt.score_from) + ") must be in 1.." +
                                                  std::to_string(W - 1));
  const std::size_t V = std::size_t(m.config().vocab_size), windows = ids.size() / std::size_t(W);
  if (windows == 0)
    return make_error(errc::invalid_argument, "perplexity: fewer tokens (" + std::to_string(ids.size()) + ") than one window (" +
                                                  std::to_string(W) + ")");
  const auto in_vocab = [V](std::int32_t id) { return id >= 0 && std::size_t(id) < V; };
  for (auto id : ids)
    if (!in_vocab(id))
      return make_error(errc::invalid_argument, "perplexity: id " + std::to_string(id) + " is outside the vocabulary (" +
                                                    std::to_string(V) + ")");
  if (opt.window_first_id && !in_vocab(*opt.window_first_id))
    return make_error(errc::invalid_argument, "perplexity: window_first_id " + std::to_string(*opt.window_first_id) +
                                                  " is outside the vocabulary (" + std::to_string(V) + ")");
  model::run_options run = opt.run;
  run.context = W;
  auto s = m.new_session(run);
  if (!s) return std::move(s).err();
  const int chunk = 64;  // logits of 64 positions at a time: 64 x V floats, not W x V
  std::vector<float> logits(std::size_t(chunk) * V);
  std::vector<std::int32_t> win(std::size_t(W), 0);
  const int scored = W - opt.score_from;
  perplexity_result r;
  r.windows = windows;
  double nll = 0, nll2 = 0;
  for (std::size_t w = 0; w < windows; ++w) {
    std::copy_n(ids.data() + w * std::size_t(W), W, win.begin());
    if (opt.window_first_id) win[0] = *opt.window_first_id;
    s->reset();
    double wnll = 0;
    for (int t0 = 0; t0 < W; t0 += chunk) {
      const int n = std::min(chunk, W - t0);
      TQLIB_TRY(s->evaluate(std::span(win.data() + t0, std::size_t(n)), logits.data(), true));
      // Row i predicts the token at position t0 + i + 1.
      for (int i = std::max(0, opt.score_from - 1 - t0); i < n && t0 + i + 1 < W; ++i) {
        const float* l = logits.data() + std::size_t(i) * V;
        float mx = l[0];
        for (std::size_t v = 1; v < V; ++v) mx = std::max(mx, l[v]);
        double sum = 0;
        for (std::size_t v = 0; v < V; ++v) sum += std::exp(double(l[v] - mx));
        const double x = std::log(sum) + double(mx) - double(l[win[std::size_t(t0 + i + 1)]]);
        wnll += x;
        nll2 += x * x;
      }
    }
    nll += wnll;
    r.tokens += std::size_t(scored);
    if (opt.on_window) opt.on_window(w, windows, std::exp(wnll / scored));
  }
  r.nll = nll / double(r.tokens);
  r.ppl = std::exp(r.nll);
  const double var = nll2 / double(r.tokens) - r.nll * r.nll;
  r.ppl_error = r.tokens > 1 && var > 0 ? r.ppl * std::sqrt(var / double(r.tokens - 1)) : 0.0;
  return r;
}

}  // namespace tqlib
