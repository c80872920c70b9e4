#pragma once
// trit2's kernels.
// The int8 engine (int8_engine.hpp) over trit2_layout, with the register decoders of
// trit/<instruction set>.hpp that this translation unit's flags allow (isa.hpp).
#include "tqlib/codec/trit.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"
#if TQLIB_ISA_AVX2
#include "tqlib/codec/kernels/trit/avx2.hpp"
#endif
#if TQLIB_ISA_AVX512
#include "tqlib/codec/kernels/trit/avx512.hpp"
#endif
#if TQLIB_ISA_WASM
#include "tqlib/codec/kernels/trit/wasm.hpp"
#endif

#ifdef TQLIB_KERNEL_ARCH
template struct tqlib::codec::detail::int8_kernels<TQLIB_KERNEL_ARCH, tqlib::codec::trit2_layout>;
#endif
