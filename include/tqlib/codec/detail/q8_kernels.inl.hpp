#pragma once
#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/q8.hpp"

namespace tqlib::codec {
TQLIB_INT8_KERNEL_DEFINITIONS(q8_kernels, q8_layout)
}  // namespace tqlib::codec
