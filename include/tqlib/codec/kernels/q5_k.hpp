#pragma once
// q5_k's kernels.
// The int8 engine (int8_engine.hpp) over q5_k_layout, with the register decoders of
// k_quants/<instruction set>.hpp (shared by its family) that this translation unit's flags allow (isa.hpp).
#include "tqlib/codec/q5_k.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"
#if TQLIB_ISA_AVX2
#include "tqlib/codec/kernels/k_quants/avx2.hpp"
#endif
#if TQLIB_ISA_AVX512
#include "tqlib/codec/kernels/k_quants/avx512.hpp"
#endif
#if TQLIB_ISA_WASM
#include "tqlib/codec/kernels/k_quants/wasm.hpp"
#endif

#ifdef TQLIB_KERNEL_ARCH
template struct tqlib::codec::detail::int8_kernels<TQLIB_KERNEL_ARCH, tqlib::codec::q5_k_layout>;
#endif
