#pragma once
// Which SIMD architectures tqlib's kernels are built for, and which one this CPU runs.
//
// Kernels are class templates on an xsimd architecture tag (`template <class Arch> struct
// q8_kernels { static ... }`), declared in the codec header and defined in a `detail/*.inl.hpp`.
// Two ways to build them (see simd/dispatch.hpp):
//  - default: the .inl is included directly and instantiated for `xsimd::default_arch`, the best
//    architecture the compiler flags allow (this is how the wasm build gets `xsimd::wasm`);
//  - runtime dispatch (TQLIB_RUNTIME_DISPATCH=1, set by the CMake function
//    `tqlib_add_simd_dispatch`): one translation unit per architecture in `dispatch_archs` is
//    compiled with that architecture's flags, and the best one the CPU supports is picked once.
#include <xsimd/xsimd.hpp>

namespace tqlib::simd {

// AVX2 with GFNI (Intel Alder Lake and later client CPUs, which lack AVX-512, and Zen 4 and
// later): xsimd's fma3+avx2 plus GF2P8AFFINEQB, with which the sign-magnitude codecs transpose
// their bit planes into codes (codec/detail/sign_magnitude_kernels.inl.hpp). xsimd has no such
// architecture; this one reuses fma3+avx2's registers and kernels, and dispatch.hpp checks GFNI.
struct avx2_gfni : xsimd::fma3<xsimd::avx2> {
  static constexpr bool supported() noexcept { return XSIMD_WITH_FMA3_AVX2; }
  static constexpr bool available() noexcept { return true; }
  static constexpr char const* name() noexcept { return "fma3+avx2+gfni"; }
};

#if defined(__EMSCRIPTEN__) || defined(__wasm__)
using dispatch_archs = xsimd::arch_list<xsimd::default_arch>;
#elif defined(__x86_64__) || defined(_M_X64)
// Ordered best first. avx512vnni adds vpdpbusd for the int8-activation paths; avx512vnni+avx512vbmi
// (xsimd: VNNI, VBMI and IFMA, as on Ice Lake and later, Zen 4 and later) adds byte table lookups
// (vpermb / vpermi2b) that the ternary codecs decode with.
using dispatch_archs = xsimd::arch_list<xsimd::avx512vnni<xsimd::avx512vbmi>, xsimd::avx512vnni<xsimd::avx512bw>,
                                        xsimd::avx512bw, avx2_gfni, xsimd::fma3<xsimd::avx2>, xsimd::sse4_2>;
#else
using dispatch_archs = xsimd::arch_list<xsimd::default_arch>;
#endif

}  // namespace tqlib::simd

#if XSIMD_WITH_FMA3_AVX2
namespace xsimd::types {
XSIMD_DECLARE_SIMD_REGISTER_ALIAS(tqlib::simd::avx2_gfni, xsimd::fma3<xsimd::avx2>);
}
#endif
