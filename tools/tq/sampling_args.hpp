#pragma once
// The sampling options tq run and tq chat share (--temp, --top-k, --top-p, --min-p,
// --repeat-penalty, --seed), each command with its own defaults: run's are the library's
// (llama.cpp's), chat's the ones Qwen recommends for chat.
#include <cstdint>

#include "cli.hpp"
#include "tqlib/model/sampler.hpp"

namespace tq {

inline tqlib::model::sampler_options sampling_args(cli& c, const tqlib::model::sampler_options& defaults) {
  tqlib::model::sampler_options so = defaults;
  so.temperature = c.number<float>("temp", defaults.temperature);
  so.top_k = c.number<int>("top-k", defaults.top_k);
  so.top_p = c.number<float>("top-p", defaults.top_p);
  so.min_p = c.number<float>("min-p", defaults.min_p);
  so.repeat_penalty = c.number<float>("repeat-penalty", defaults.repeat_penalty);
  so.seed = c.number<std::uint64_t>("seed", defaults.seed);
  return so;
}

}  // namespace tq
