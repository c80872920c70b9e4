#pragma once
// Included only by the per-architecture translation units that `tqlib_add_simd_dispatch()`
// generates: brings in every kernel definition and explicitly instantiates every kernel class
// template for one architecture. A new kernel is added in both lists below.
#include "tqlib/simd/arch.hpp"

// --- kernel definitions (one line per kernel header) ---
#include "tqlib/simd/detail/vector_kernels.inl.hpp"
#include "tqlib/codec/detail/aqlm_kernels.inl.hpp"
#include "tqlib/codec/detail/q8_kernels.inl.hpp"
#include "tqlib/codec/detail/q4_0_kernels.inl.hpp"
#include "tqlib/codec/detail/tq1_0_kernels.inl.hpp"
#include "tqlib/codec/detail/tq2_0_kernels.inl.hpp"
#include "tqlib/codec/detail/ternary_kernels.inl.hpp"
#include "tqlib/codec/detail/trit_kernels.inl.hpp"
#include "tqlib/codec/detail/dense_kernels.inl.hpp"
#include "tqlib/codec/detail/hadamard_kernels.inl.hpp"
#include "tqlib/codec/detail/sign_magnitude_kernels.inl.hpp"

// --- kernel class templates (one line per kernel) ---
#define TQLIB_INSTANTIATE_KERNELS(ARCH) \
  template struct tqlib::simd::vector_kernels<ARCH>; \
  template struct tqlib::codec::aqlm::aqlm_kernels<ARCH>; \
  template struct tqlib::codec::q8_kernels<ARCH>; \
  template struct tqlib::codec::q4_0_kernels<ARCH>; \
  template struct tqlib::codec::tq1_0_kernels<ARCH>; \
  template struct tqlib::codec::tq2_0_kernels<ARCH>; \
  template struct tqlib::codec::bitnet_kernels<ARCH>; \
  template struct tqlib::codec::ternary_kernels<ARCH>; \
  template struct tqlib::codec::trit2_kernels<ARCH>; \
  template struct tqlib::codec::dense_kernels<ARCH>; \
  template struct tqlib::codec::hadamard_kernels<ARCH>; \
  template struct tqlib::codec::sign_magnitude_kernels<ARCH>;
