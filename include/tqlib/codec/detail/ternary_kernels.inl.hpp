#pragma once
#include "tqlib/codec/detail/int8_dot_engine.hpp"
#include "tqlib/codec/ternary.hpp"

namespace tqlib::codec {
TQLIB_INT8_KERNEL_DEFINITIONS(bitnet_kernels, bitnet_layout)
TQLIB_INT8_KERNEL_DEFINITIONS(ternary_kernels, ternary_layout)
}  // namespace tqlib::codec
