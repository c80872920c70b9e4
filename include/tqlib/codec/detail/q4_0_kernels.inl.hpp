#pragma once
#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/q4_0.hpp"

namespace tqlib::codec {
TQLIB_INT8_KERNEL_DEFINITIONS(q4_0_kernels, q4_0_layout)
}  // namespace tqlib::codec
