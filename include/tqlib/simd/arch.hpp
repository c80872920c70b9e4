#pragma once
// Which SIMD architectures tqlib's kernels are built for, and which one this CPU runs.
//
// Kernels are class templates on an architecture tag (`template <class Arch> struct
// q8_kernels { static ... }`), declared in the codec header and defined in its kernel file
// (`codec/kernels/<family>.hpp`, one file per instruction set in `codec/kernels/<family>/`).
// Two ways to build them (see simd/dispatch.hpp):
//  - default: the kernel file is included directly and instantiated for `xsimd::default_arch`,
//    the best architecture the compiler flags allow (this is how the wasm and aarch64 builds get
//    `xsimd::wasm` and `xsimd::neon64`);
//  - runtime dispatch (TQLIB_RUNTIME_DISPATCH=1, set by the CMake function
//    `tqlib_add_simd_dispatch`): one translation unit per tag in `dispatch_archs` is compiled with
//    that tag's flags, isolated so that nothing it compiled can serve another target
//    (cmake/tqlibIsolateKernels.cmake, docs/CONTRIBUTING.md), and the best one the CPU supports
//    is picked once.
#include <xsimd/xsimd.hpp>

namespace tqlib::simd {

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(__EMSCRIPTEN__)
// The x86-64 dispatch targets. Each is tqlib's own type, derived from the xsimd architecture whose
// registers and kernels it uses, so that every symbol compiled for a target names it
// (`q8_kernels<tqlib::simd::isa::x86_avx2>::matvec`): the build isolates kernel objects by that
// name and scripts/isa-audit checks each function's instructions against it. The name() strings
// are what TQLIB_ARCH takes.
namespace isa {
// SSE4.2 and POPCNT (Nehalem, 2008): the floor of the dispatch list.
struct x86_sse4_2 : xsimd::sse4_2 {
  static constexpr char const* name() noexcept { return "sse4.2"; }
};
// AVX2 + FMA + F16C (Haswell, Zen 1-3).
struct x86_avx2 : xsimd::fma3<xsimd::avx2> {
  static constexpr char const* name() noexcept { return "fma3+avx2"; }
};
// AVX2 with GFNI (Intel Alder Lake and later client CPUs, which lack AVX-512; Zen 4): the
// sign-magnitude codecs transpose their bit planes into codes with GF2P8AFFINEQB
// (codec/kernels/sign_magnitude/avx2.hpp). xsimd has no such architecture; dispatch.hpp
// checks GFNI itself.
struct x86_avx2_gfni : xsimd::fma3<xsimd::avx2> {
  static constexpr char const* name() noexcept { return "fma3+avx2+gfni"; }
};
// AVX-512 F/CD/DQ/BW/VL (Skylake-SP).
struct x86_avx512bw : xsimd::avx512bw {
  static constexpr char const* name() noexcept { return "avx512bw"; }
};
// + VNNI's vpdpbusd for the int8-activation paths (Cascade Lake).
struct x86_avx512vnni : xsimd::avx512vnni<xsimd::avx512bw> {
  static constexpr char const* name() noexcept { return "avx512vnni+avx512bw"; }
};
// + VBMI byte permutes (vpermb / vpermi2b) that the ternary codecs decode with, IFMA, and GFNI
// (Ice Lake and later, Zen 4 and later; dispatch.hpp checks GFNI).
struct x86_avx512vbmi : xsimd::avx512vnni<xsimd::avx512vbmi> {
  static constexpr char const* name() noexcept { return "avx512vnni+avx512vbmi"; }
};
}  // namespace isa

// Ordered best first.
using dispatch_archs = xsimd::arch_list<isa::x86_avx512vbmi, isa::x86_avx512vnni, isa::x86_avx512bw,
                                        isa::x86_avx2_gfni, isa::x86_avx2, isa::x86_sse4_2>;
#else
using dispatch_archs = xsimd::arch_list<xsimd::default_arch>;
#endif

}  // namespace tqlib::simd

// xsimd batches of a tqlib tag use the registers of the xsimd architecture it derives from. Only
// the tags the compiler flags enable are declared (as xsimd does for its own architectures).
#define TQLIB_DECLARE_REGISTERS(TAG, BASE) \
  namespace xsimd::types {                 \
  XSIMD_DECLARE_SIMD_REGISTER_ALIAS(TAG, BASE); \
  }
#define TQLIB_DECLARE_AVX512_REGISTERS(TAG, BASE)   \
  namespace xsimd::types {                          \
  template <class T>                                \
  struct get_bool_simd_register<T, TAG> {           \
    using type = simd_avx512_bool_register<T>;      \
  };                                                \
  XSIMD_DECLARE_SIMD_REGISTER_ALIAS(TAG, BASE);     \
  }
#if XSIMD_WITH_SSE4_2 && !defined(__EMSCRIPTEN__)
TQLIB_DECLARE_REGISTERS(tqlib::simd::isa::x86_sse4_2, xsimd::sse4_2)
#endif
#if XSIMD_WITH_FMA3_AVX2
TQLIB_DECLARE_REGISTERS(tqlib::simd::isa::x86_avx2, xsimd::fma3<xsimd::avx2>)
TQLIB_DECLARE_REGISTERS(tqlib::simd::isa::x86_avx2_gfni, xsimd::fma3<xsimd::avx2>)
#endif
#if XSIMD_WITH_AVX512BW
TQLIB_DECLARE_AVX512_REGISTERS(tqlib::simd::isa::x86_avx512bw, xsimd::avx512bw)
#endif
#if XSIMD_WITH_AVX512VNNI_AVX512BW
TQLIB_DECLARE_AVX512_REGISTERS(tqlib::simd::isa::x86_avx512vnni, xsimd::avx512vnni<xsimd::avx512bw>)
#endif
#if XSIMD_WITH_AVX512VNNI_AVX512VBMI
TQLIB_DECLARE_AVX512_REGISTERS(tqlib::simd::isa::x86_avx512vbmi, xsimd::avx512vnni<xsimd::avx512vbmi>)
#endif
#undef TQLIB_DECLARE_REGISTERS
#undef TQLIB_DECLARE_AVX512_REGISTERS
