#pragma once
// TQ1_0's kernels.
// The int8 engine (int8_engine.hpp) over tq1_0_layout, with the register decoders of
// tq1_0/<instruction set>.hpp that this translation unit's flags allow (isa.hpp).
#include "tqlib/codec/tq1_0.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"
#if TQLIB_ISA_AVX2
#include "tqlib/codec/kernels/tq1_0/avx2.hpp"
#endif
#if TQLIB_ISA_AVX512
#include "tqlib/codec/kernels/tq1_0/avx512.hpp"
#endif
#if TQLIB_ISA_WASM
#include "tqlib/codec/kernels/tq1_0/wasm.hpp"
#endif

#ifdef TQLIB_KERNEL_ARCH
template struct tqlib::codec::detail::int8_kernels<TQLIB_KERNEL_ARCH, tqlib::codec::tq1_0_layout>;
#endif
