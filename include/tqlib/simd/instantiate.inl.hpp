#pragma once
// Included only by the per-architecture translation units that `tqlib_add_simd_dispatch()`
// generates: brings in every kernel definition and explicitly instantiates every kernel class
// template for one architecture. A new kernel is added in both lists below.
#include "tqlib/simd/arch.hpp"

// --- kernel definitions (one line per kernel header) ---
#include "tqlib/simd/detail/vector_kernels.inl.hpp"

// --- kernel class templates (one line per kernel) ---
#define TQLIB_INSTANTIATE_KERNELS(ARCH) \
  template struct tqlib::simd::vector_kernels<ARCH>;
