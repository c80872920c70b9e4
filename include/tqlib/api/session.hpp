#pragma once
// A conversation with a model: its KV cache, thread pool and sampler. Every call appends to the
// conversation, so a chat's next turn (or a continuation) only runs its new tokens through the
// model; reset() starts over. This is the one prefill / sample / stop / detokenize loop of tqlib:
// `tq run`, `tq chat`, `tq bench` and the browser demo all go through it.
//
//   auto m = tqlib::open_model("models/tqlib-default.mv2");
//   auto s = m->new_session();
//   tqlib::generate_options g;
//   g.max_tokens = 32;
//   s->generate("The history of the city", g, [](const tqlib::token_event& e) {
//     std::fputs(std::string(e.text).c_str(), stdout);
//     return true;  // false cancels
//   });
//
// The last token a generation samples is not run through the model at once (a one-shot run
// never needs it): it waits, in tokens(), and the next call's prefill runs it with the new
// tokens. stats().prompt_tokens counts both.
//
// Not thread-safe: one thread at a time per session (the forward pass itself uses the
// session's own thread pool). Sessions of one model_handle may run on different threads.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/api/open_model.hpp"
#include "tqlib/api/text_stream.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/model/qwen.hpp"
#include "tqlib/model/sampler.hpp"
#include "tqlib/tokenizer/chat_template.hpp"

namespace tqlib {

enum class finish_reason {
  none,         // still generating (or nothing generated yet)
  length,       // max_tokens reached
  stop_token,   // a stop id was sampled (the model's end-of-turn / end-of-text, or one of stop_ids)
  stop_string,  // the text reached one of stop_strings (the text ends before it)
  cancelled,    // the token callback returned false
};

inline std::string_view to_string(finish_reason r) {
  switch (r) {
    case finish_reason::none: return "none";
    case finish_reason::length: return "length";
    case finish_reason::stop_token: return "stop token";
    case finish_reason::stop_string: return "stop string";
    case finish_reason::cancelled: return "cancelled";
  }
  return "none";
}

struct generate_options {
  model::sampler_options sampling{};  // temperature 0 is greedy; defaults are llama.cpp's
  int max_tokens = 128;
  std::vector<std::string> stop_strings;  // generation ends where the text reaches one
  std::vector<std::int32_t> stop_ids;     // in addition to the model's own (model_stop_ids)
  bool model_stop_ids = true;             // false: generate max_tokens whatever comes (benchmarks)
  bool skip_special = true;               // special tokens add no text to the pieces
};

// One streamed token: its id and the text it completes (possibly empty: an incomplete UTF-8
// character or a possible stop string is held back). id < 0: no new token, the text held back
// at the end of the generation.
struct token_event {
  std::int32_t id = -1;
  std::string_view text;
};
// Return false to cancel the generation (the session stays usable).
using token_callback = std::function<bool(const token_event&)>;

struct generation_stats {
  std::size_t cached_tokens = 0;     // already in the KV cache when the call began (not run again)
  std::size_t prompt_tokens = 0;     // run by this call's prefill
  std::size_t generated_tokens = 0;  // sampled, stop token excluded
  double prefill_seconds = 0;
  double decode_seconds = 0;                // forward passes and sampling after the prefill
  std::size_t weight_bytes_per_token = 0;  // packed weight bytes a decode step reads
  finish_reason finish = finish_reason::none;

  double prefill_tokens_per_second() const { return prefill_seconds > 0 ? double(prompt_tokens) / prefill_seconds : 0.0; }
  // The first token comes from the prefill's logits: N tokens take N - 1 decode steps.
  double decode_tokens_per_second() const {
    return generated_tokens > 1 && decode_seconds > 0 ? double(generated_tokens - 1) / decode_seconds : 0.0;
  }
};

struct generation {
  std::vector<std::int32_t> tokens;  // generated, stop token excluded
  std::string text;                  // their text, cut at a stop string
  generation_stats stats;
};

// One step of a generation: a token (token >= 0) with the text it completes, or the end
// (token < 0) with the text held back until then.
struct step_result {
  std::int32_t token = -1;
  std::string text;
  bool done() const noexcept { return token < 0; }
};

class session {
 public:
  static result<session> create(const model_handle& m, const model::run_options& run) {
    auto q = model::qwen::create(m.config(), m.weights(), run);
    if (!q) return std::move(q).err();
    return session(m, std::move(*q));
  }

  const model_handle& model() const noexcept { return model_; }
  int context() const noexcept { return qwen_->context(); }
  int threads() const noexcept { return qwen_->threads(); }
  // The conversation so far: what the KV cache holds, then at most one sampled token that the
  // next call runs first.
  std::span<const std::int32_t> tokens() const noexcept { return tokens_; }
  std::size_t cached_tokens() const noexcept { return n_cached_; }
  const generation_stats& stats() const noexcept { return stats_; }

  // Forgets the conversation (the KV cache is overwritten from position 0 on) and the sampler's
  // random state, so a seed gives the same text again.
  void reset() {
    tokens_.clear();
    sampler_.reset();
    n_cached_ = 0;
    active_ = false;
    ended_ = false;
  }

  // Appends the prompt and generates. Text needs the model's tokenizer; ids do not.
  result<generation> generate(std::string_view prompt, const generate_options& g = {}, const token_callback& on_token = {}) {
    auto ids = model_.tokenize(prompt);
    if (!ids) return std::move(ids).err();
    return generate(std::span<const std::int32_t>(*ids), g, on_token);
  }
  result<generation> generate(std::span<const std::int32_t> prompt, const generate_options& g = {},
                              const token_callback& on_token = {}) {
    TQLIB_TRY(begin(prompt, g));
    generation out;
    for (;;) {
      auto s = step();
      if (!s) return std::move(s).err();
      if (!s->done()) out.tokens.push_back(s->token);
      out.text += s->text;
      if (on_token && (!s->done() || !s->text.empty()) && !on_token(token_event{s->token, s->text})) {
        cancel();
        break;
      }
      if (s->done()) break;
    }
    out.stats = stats_;
    return out;
  }

  // Appends chat messages rendered with the model's template (the first turn gets the
  // template's default system message unless it brings its own) and generates the assistant's
  // reply. The reply stays in the conversation: the next call only runs its own messages.
  result<generation> chat(const std::vector<tokenizer::chat_message>& messages, const generate_options& g = {},
                          const token_callback& on_token = {}) {
    auto text = render_turn(messages);
    if (!text) return std::move(text).err();
    return generate(*text, g, on_token);
  }
  result<generation> chat(std::string_view user_message, const generate_options& g = {}, const token_callback& on_token = {}) {
    return chat({tokenizer::chat_message{"user", std::string(user_message)}}, g, on_token);
  }

  // The text chat() would append for these messages.
  result<std::string> render_turn(const std::vector<tokenizer::chat_message>& messages) const {
    if (tokens_.empty()) return model_.render_chat(messages);
    auto co = model_.chat_template();
    co.default_system.reset();  // the conversation has its system message already
    auto t = tokenizer::apply_chat_template(messages, co);
    if (!t) return std::move(t).err();
    // After the reply's end-of-turn token the template puts a newline; a reply cut short
    // (length, stop string, cancel) is closed first.
    const bool closed = is_stop(tokens_.back(), {});
    return std::string(closed ? "\n" : "<|im_end|>\n") + *t;
  }

  // Step by step (an event loop that cannot block, such as a browser's): begin() runs the
  // prompt, then each step() yields one token or the end.
  result<void> begin(std::span<const std::int32_t> prompt, const generate_options& g) {
    active_ = false;
    ended_ = false;
    stats_ = {};
    stats_.cached_tokens = n_cached_;
    stats_.weight_bytes_per_token = model_.weight_bytes_per_token();
    const std::size_t run = tokens_.size() - n_cached_ + prompt.size();
    if (run == 0) return make_error(errc::invalid_argument, "empty prompt: nothing to run");
    if (g.max_tokens < 0) return make_error(errc::invalid_argument, "max_tokens must be >= 0");
    if (!g.stop_strings.empty() && !model_.tokenizer())
      return make_error(errc::invalid_argument, model_.path() + ": stop strings need text, and the model has no tokenizer files");
    if (tokens_.size() + prompt.size() + std::size_t(g.max_tokens) > std::size_t(context()))
      return make_error(errc::invalid_argument,
                        "prompt (" + std::to_string(prompt.size()) + " tokens) + max_tokens (" + std::to_string(g.max_tokens) +
                            ") exceed the context of " + std::to_string(context()) + " tokens" +
                            (tokens_.empty() ? "" : " (" + std::to_string(tokens_.size()) + " already in the conversation)"));
    const std::size_t before = tokens_.size();
    tokens_.insert(tokens_.end(), prompt.begin(), prompt.end());
    const auto t0 = clock::now();
    if (auto r = qwen_->forward(std::span(tokens_).subspan(n_cached_), int(n_cached_), logits_.data()); !r) {
      tokens_.resize(before);  // a refused prompt (an id outside the vocabulary) leaves no trace
      return r;
    }
    stats_.prompt_tokens = run;
    stats_.prefill_seconds = seconds_since(t0);
    n_cached_ = tokens_.size();
    if (!sampler_ || !same_sampling(sampler_options_, g.sampling)) {
      sampler_.emplace(g.sampling);  // kept across calls otherwise: a seed gives one random sequence
      sampler_options_ = g.sampling;
    }
    opts_ = g;
    if (const auto* tok = model_.tokenizer())
      stream_.emplace(*tok, g.skip_special, g.stop_strings);
    else
      stream_.reset();
    produced_ = 0;
    active_ = true;
    return {};
  }

  result<step_result> step() {
    if (!active_) return step_result{};
    if (ended_ || produced_ >= opts_.max_tokens) return end(ended_ ? finish_reason::stop_string : finish_reason::length);
    const auto t0 = clock::now();
    const std::int32_t next = sampler_->sample(logits_, std::span(tokens_.data(), n_cached_));
    tokens_.push_back(next);  // waits for the next forward (see the top of this file)
    if (is_stop(next, opts_)) {
      stats_.decode_seconds += seconds_since(t0);
      return end(finish_reason::stop_token);
    }
    ++produced_;
    ++stats_.generated_tokens;
    step_result s;
    s.token = next;
    if (stream_) {
      s.text = stream_->push(next);
      ended_ = stream_->stopped();
    }
    if (!ended_ && produced_ < opts_.max_tokens) {
      TQLIB_TRY(qwen_->forward(std::span(&tokens_.back(), 1), int(n_cached_), logits_.data()));
      n_cached_ = tokens_.size();
    }
    stats_.decode_seconds += seconds_since(t0);
    return s;
  }

  // Ends the current generation now (what a false from the token callback does).
  void cancel() {
    if (!active_) return;
    active_ = false;
    stats_.finish = finish_reason::cancelled;
  }

  // Appends tokens to the conversation and writes the logits after the last one (logits[V]) or,
  // with all_logits, after each of them (logits[T x V], row t after tokens[0..t]). For
  // perplexity and logit dumps; a pending sampled token is run first.
  result<void> evaluate(std::span<const std::int32_t> tokens, float* logits, bool all_logits = false) {
    active_ = false;
    if (tokens.empty()) return make_error(errc::invalid_argument, "evaluate: no tokens");
    if (tokens_.size() + tokens.size() > std::size_t(context()))
      return make_error(errc::invalid_argument, std::to_string(tokens_.size() + tokens.size()) + " tokens exceed the context of " +
                                                    std::to_string(context()));
    if (n_cached_ < tokens_.size()) {
      TQLIB_TRY(qwen_->forward(std::span(tokens_).subspan(n_cached_), int(n_cached_), logits_.data()));
      n_cached_ = tokens_.size();
    }
    TQLIB_TRY(qwen_->forward(tokens, int(n_cached_), logits, all_logits));
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    n_cached_ = tokens_.size();
    return {};
  }

 private:
  using clock = std::chrono::steady_clock;
  static double seconds_since(clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); }

  session(model_handle m, std::unique_ptr<model::qwen> q)
      : model_(std::move(m)), qwen_(std::move(q)), logits_(std::size_t(model_.config().vocab_size)) {}

  static bool same_sampling(const model::sampler_options& a, const model::sampler_options& b) {
    return a.temperature == b.temperature && a.top_k == b.top_k && a.top_p == b.top_p && a.min_p == b.min_p &&
           a.repeat_penalty == b.repeat_penalty && a.repeat_last_n == b.repeat_last_n && a.seed == b.seed;
  }
  bool is_stop(std::int32_t id, const generate_options& g) const {
    if (g.model_stop_ids && model::is_stop_token(id, model_.stop_ids())) return true;
    return model::is_stop_token(id, g.stop_ids);
  }
  step_result end(finish_reason why) {
    active_ = false;
    stats_.finish = why;
    step_result s;
    if (stream_) s.text = stream_->finish();
    return s;
  }

  model_handle model_;
  std::unique_ptr<model::qwen> qwen_;
  std::vector<float> logits_;
  std::vector<std::int32_t> tokens_;  // the conversation: [0, n_cached_) are in the KV cache
  std::size_t n_cached_ = 0;
  std::optional<model::sampler> sampler_;
  model::sampler_options sampler_options_;
  std::optional<text_stream> stream_;
  generate_options opts_;
  generation_stats stats_;
  int produced_ = 0;
  bool active_ = false, ended_ = false;
};

inline result<session> model_handle::new_session(const model::run_options& run) const { return session::create(*this, run); }
inline result<session> model_handle::new_session() const { return session::create(*this, s_->run); }

}  // namespace tqlib
