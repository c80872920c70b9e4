#pragma once
// What the kernel translation unit being compiled may use, read once from the compiler's
// instruction-set macros. A kernel family's entry header (codec/kernels/<family>.hpp) includes
// the files of its folder that these allow (<family>/avx2.hpp, <family>/avx512.hpp,
// <family>/wasm.hpp, ...), the way xsimd includes one file per architecture. Under runtime
// dispatch each target's translation unit is compiled with that target's flags
// (cmake/tqlibDispatch.cmake), so each target sees exactly its own files.
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define TQLIB_ISA_AVX2 1
#else
#define TQLIB_ISA_AVX2 0
#endif
// The AVX-512 paths need BW (byte/word operations), VL (their 256-bit forms) and DQ: Skylake-SP's set.
#if TQLIB_ISA_AVX2 && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#define TQLIB_ISA_AVX512 1
#else
#define TQLIB_ISA_AVX512 0
#endif
// vpdpbusd, in its 512- and 256-bit forms (AVX512-VNNI with VL).
#if TQLIB_ISA_AVX512 && defined(__AVX512VNNI__)
#define TQLIB_ISA_VNNI 1
#else
#define TQLIB_ISA_VNNI 0
#endif
// vpermb / vpermi2b byte permutes (the ternary families' table lookups).
#if TQLIB_ISA_VNNI && defined(__AVX512VBMI__)
#define TQLIB_ISA_VBMI 1
#else
#define TQLIB_ISA_VBMI 0
#endif
// gf2p8affineqb (bit-matrix transposes of the sign-magnitude planes), with AVX2 or AVX-512.
#if TQLIB_ISA_AVX2 && defined(__GFNI__)
#define TQLIB_ISA_GFNI 1
#else
#define TQLIB_ISA_GFNI 0
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define TQLIB_ISA_WASM 1
#else
#define TQLIB_ISA_WASM 0
#endif
// Relaxed SIMD (clang -mrelaxed-simd): i32x4.relaxed_dot_i8x16_i7x16_add, the int8 dot that plain
// SIMD128 lacks (pmaddubsw + pmaddwd on x86 hosts, sdot on Arm).
#if TQLIB_ISA_WASM && defined(__wasm_relaxed_simd__)
#define TQLIB_ISA_WASM_RELAXED 1
#else
#define TQLIB_ISA_WASM_RELAXED 0
#endif

// The per-row loops inside a block step must be unrolled so each row's accumulator stays in a
// register (GCC otherwise keeps a loop, with the accumulators on the stack, when the decode is long).
#if TQLIB_ISA_AVX2
#define TQLIB_KERNEL_UNROLL _Pragma("GCC unroll 8")
#else
#define TQLIB_KERNEL_UNROLL
#endif
