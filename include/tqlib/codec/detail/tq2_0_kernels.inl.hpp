#pragma once
#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/tq2_0.hpp"

namespace tqlib::codec {
TQLIB_INT8_KERNEL_DEFINITIONS(tq2_0_kernels, tq2_0_layout)
}  // namespace tqlib::codec
