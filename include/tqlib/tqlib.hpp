#pragma once
// The whole public API of tqlib. Narrower headers (tqlib/codec.hpp, tqlib/format.hpp, ...) or
// single headers (tqlib/codec/q8.hpp) pull in less.
#include "tqlib/version.hpp"
#include "tqlib/core.hpp"
#include "tqlib/simd/vector_ops.hpp"
#include "tqlib/codec.hpp"
#include "tqlib/format.hpp"
#include "tqlib/tokenizer.hpp"
#include "tqlib/model.hpp"
#include "tqlib/api.hpp"
