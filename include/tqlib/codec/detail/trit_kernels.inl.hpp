#pragma once
#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/trit.hpp"

namespace tqlib::codec {
TQLIB_INT8_KERNEL_DEFINITIONS(trit2_kernels, trit2_layout)
}  // namespace tqlib::codec
