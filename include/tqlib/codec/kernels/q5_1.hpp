#pragma once
// q5_1's kernels.
// The int8 engine (int8_engine.hpp) over q5_1_layout, with the register decoders of
// ggml_block32/<instruction set>.hpp (shared by its family) that this translation unit's flags allow (isa.hpp).
#include "tqlib/codec/q5_1.hpp"
#include "tqlib/codec/kernels/int8_engine.hpp"
#if TQLIB_ISA_AVX2
#include "tqlib/codec/kernels/ggml_block32/avx2.hpp"
#endif
#if TQLIB_ISA_AVX512
#include "tqlib/codec/kernels/ggml_block32/avx512.hpp"
#endif
#if TQLIB_ISA_WASM
#include "tqlib/codec/kernels/ggml_block32/wasm.hpp"
#endif

#ifdef TQLIB_KERNEL_ARCH
template struct tqlib::codec::detail::int8_kernels<TQLIB_KERNEL_ARCH, tqlib::codec::q5_1_layout>;
#endif
