#pragma once
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/core/json_depth.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/core/rng.hpp"
