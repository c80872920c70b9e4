#pragma once
// The Qwen2 / Qwen3 runtime: config.json parsing, weights from a tensor source, the forward
// pass with its KV cache and thread pool, and the sampler.
#include "tqlib/core/thread_pool.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/model/kv_cache.hpp"
#include "tqlib/model/qwen.hpp"
#include "tqlib/model/sampler.hpp"
#include "tqlib/model/weights.hpp"
