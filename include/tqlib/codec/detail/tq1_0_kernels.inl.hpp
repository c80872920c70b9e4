#pragma once
#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/tq1_0.hpp"

namespace tqlib::codec {
TQLIB_INT8_KERNEL_DEFINITIONS(tq1_0_kernels, tq1_0_layout)
}  // namespace tqlib::codec
