#pragma once
// The task-level API: open a model, generate and chat with it, measure it, quantize one
// (docs/api.md). Everything below tqlib/api/ builds on the lower layers (format, tokenizer,
// model, codec), which stay public for programs that need them directly.
#include "tqlib/api/evaluate.hpp"
#include "tqlib/api/open_model.hpp"
#include "tqlib/api/quantize.hpp"
#include "tqlib/api/session.hpp"
#include "tqlib/api/text_stream.hpp"
