#pragma once
// Every kernel definition tqlib has, for the per-architecture translation units that
// `tqlib_add_simd_dispatch()` generates (cmake/tqlibDispatch.cmake). Each of them defines
// TQLIB_KERNEL_ARCH to its tag and includes this file; each kernel header explicitly instantiates
// its own class templates for that tag at its end, so a new kernel family adds one line to the
// list of its area.
#ifndef TQLIB_KERNEL_ARCH
#error "tqlib/kernels.inl.hpp is for the per-architecture kernel translation units only"
#endif
#include "tqlib/simd/kernels.inl.hpp"
#include "tqlib/codec/kernels.inl.hpp"
