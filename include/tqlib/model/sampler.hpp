#pragma once
// Picks the next token from logits: greedy (temperature 0) or sampling with temperature,
// top-k, top-p (nucleus), min-p and a repetition penalty, in llama.cpp's order (penalty, top-k,
// top-p, min-p, temperature). Random draws come from tqlib::xoshiro256ss, so a seed gives the
// same text on every platform.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "tqlib/core/rng.hpp"

namespace tqlib::model {

struct sampler_options {
  float temperature = 0.8f;  // 0: greedy
  int top_k = 40;            // 0: off
  float top_p = 0.95f;       // 1: off
  float min_p = 0.05f;       // 0: off
  float repeat_penalty = 1.0f;  // 1: off; divides positive logits, multiplies negative ones
  int repeat_last_n = 64;       // how many recent tokens the penalty looks at
  std::uint64_t seed = 0;
};

class sampler {
 public:
  explicit sampler(sampler_options o = {}) : o_(o), rng_(o.seed) {}

  // `recent` are the tokens so far (for the repetition penalty). Modifies logits in place.
  std::int32_t sample(std::span<float> logits, std::span<const std::int32_t> recent = {}) {
    const std::size_t n = logits.size();
    if (o_.repeat_penalty != 1.0f) {
      const std::size_t from = recent.size() > std::size_t(std::max(0, o_.repeat_last_n))
                                   ? recent.size() - std::size_t(std::max(0, o_.repeat_last_n))
                                   : 0;
      seen_.assign(n, 0);
      for (std::size_t i = from; i < recent.size(); ++i) {
        const auto t = recent[i];
        if (t < 0 || std::size_t(t) >= n || seen_[std::size_t(t)]) continue;
        seen_[std::size_t(t)] = 1;
        float& l = logits[std::size_t(t)];
        l = l > 0 ? l / o_.repeat_penalty : l * o_.repeat_penalty;
      }
    }
    if (o_.temperature <= 0.0f) return argmax(logits);

    // Candidates sorted by logit, cut by top-k.
    idx_.resize(n);
    std::iota(idx_.begin(), idx_.end(), 0);
    std::size_t k = (o_.top_k > 0 && std::size_t(o_.top_k) < n) ? std::size_t(o_.top_k) : n;
    auto by_logit = [&](std::int32_t a, std::int32_t b) {
      return logits[std::size_t(a)] > logits[std::size_t(b)] || (logits[std::size_t(a)] == logits[std::size_t(b)] && a < b);
    };
    std::partial_sort(idx_.begin(), idx_.begin() + std::ptrdiff_t(k), idx_.end(), by_logit);
    idx_.resize(k);

    // Probabilities at temperature 1 for the top-p / min-p cuts (as llama.cpp applies them
    // before temperature), then renormalised at the requested temperature.
    const float max = logits[std::size_t(idx_[0])];
    prob_.resize(k);
    double sum = 0;
    for (std::size_t i = 0; i < k; ++i) sum += prob_[i] = std::exp(double(logits[std::size_t(idx_[i])] - max));
    std::size_t keep = k;
    if (o_.top_p < 1.0f) {
      double cum = 0;
      for (std::size_t i = 0; i < k; ++i) {
        cum += prob_[i] / sum;
        if (cum >= o_.top_p) {
          keep = i + 1;
          break;
        }
      }
    }
    if (o_.min_p > 0.0f) {
      std::size_t i = 1;
      while (i < keep && prob_[i] >= double(o_.min_p) * prob_[0]) ++i;
      keep = i;
    }
    double total = 0;
    for (std::size_t i = 0; i < keep; ++i)
      total += prob_[i] = std::exp(double(logits[std::size_t(idx_[i])] - max) / double(o_.temperature));
    double r = rng_.uniform() * total;
    for (std::size_t i = 0; i < keep; ++i) {
      r -= prob_[i];
      if (r < 0) return idx_[i];
    }
    return idx_[keep - 1];
  }

  static std::int32_t argmax(std::span<const float> logits) {
    return std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }

 private:
  sampler_options o_;
  xoshiro256ss rng_;
  std::vector<std::int32_t> idx_;
  std::vector<double> prob_;
  std::vector<unsigned char> seen_;
};

// Whether generation should stop at this token: the caller passes the config's eos ids and the
// tokenizer's (<|im_end|>, <|endoftext|>, in the model's own ids when the vocabulary is remapped).
inline bool is_stop_token(std::int32_t t, std::span<const std::int32_t> eos_ids) {
  return std::find(eos_ids.begin(), eos_ids.end(), t) != eos_ids.end();
}

}  // namespace tqlib::model
