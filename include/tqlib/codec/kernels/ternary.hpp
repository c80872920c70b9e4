#pragma once
// The ternary family's kernels (bitnet, ternary).
// The int8 engine (int8_engine.hpp) over bitnet_layout and ternary_layout, with the register decoders of
// ternary/<instruction set>.hpp that this translation unit's flags allow (isa.hpp).
#include "tqlib/codec/ternary.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"
#if TQLIB_ISA_AVX2
#include "tqlib/codec/kernels/ternary/avx2.hpp"
#endif
#if TQLIB_ISA_AVX512
#include "tqlib/codec/kernels/ternary/avx512.hpp"
#endif
#if TQLIB_ISA_WASM
#include "tqlib/codec/kernels/ternary/wasm.hpp"
#endif

#ifdef TQLIB_KERNEL_ARCH
template struct tqlib::codec::detail::int8_kernels<TQLIB_KERNEL_ARCH, tqlib::codec::bitnet_layout>;
template struct tqlib::codec::detail::int8_kernels<TQLIB_KERNEL_ARCH, tqlib::codec::ternary_layout>;
#endif
