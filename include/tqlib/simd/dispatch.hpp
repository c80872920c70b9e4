#pragma once
// Calls a kernel class template (`template <class Arch> struct K`) for the best architecture.
//
//   float r = tqlib::simd::dispatch<q8_kernels>([&](auto k) { return decltype(k)::dot(...); });
//
// In runtime-dispatch builds the lambda is instantiated for every architecture in
// `dispatch_archs`; only declarations are visible here and the definitions come from the
// per-architecture translation units that `tqlib_add_simd_dispatch()` adds to the program.
#include <cstdlib>
#include <string_view>
#include <type_traits>

#include "tqlib/simd/arch.hpp"

#ifndef TQLIB_RUNTIME_DISPATCH
#define TQLIB_RUNTIME_DISPATCH 0
#endif

// Helpers that kernels call in their inner loops are force-inlined, for speed: a call per block
// would cost more than the block's arithmetic. (Soundness does not depend on it: everything a
// dispatch target's translation unit compiles, inline helpers and standard-library templates
// included, is renamed for that target and kept out of the rest of the program by
// cmake/tqlibIsolateKernels.cmake.)
#define TQLIB_KERNEL_INLINE [[gnu::always_inline]] inline

namespace tqlib::simd {

namespace detail {
template <class Arch>
bool cpu_supports() noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // GFNI is not one of xsimd's architecture features: the two targets built with -mgfni
  // (cmake/tqlibDispatch.cmake) check it here. (F16C, which every target from AVX2 up is also
  // built with, came before AVX2 on every x86 CPU, and clang 14 has no name for it in
  // __builtin_cpu_supports.)
  if constexpr (std::is_same_v<Arch, isa::x86_avx512vbmi> || std::is_same_v<Arch, isa::x86_avx2_gfni>)
    if (!__builtin_cpu_supports("gfni")) return false;
#endif
  if constexpr (requires { xsimd::available_architectures().has(Arch{}); })
    return xsimd::available_architectures().has(Arch{});
  else
    return Arch::available();  // architectures xsimd's CPU query does not list (emulated, scalar)
}

template <class... Archs>
int best_index(xsimd::arch_list<Archs...>) noexcept {
  // TQLIB_ARCH=<name> forces a (supported) architecture: used by tests and benchmarks to compare
  // every kernel the build has on the same machine.
  const char* forced = std::getenv("TQLIB_ARCH");
  if (forced && !*forced) forced = nullptr;  // TQLIB_ARCH= (empty) is unset, not a name none matches
  int i = 0, found = -1;
  ((found < 0 && cpu_supports<Archs>() && (!forced || std::string_view(forced) == Archs::name()) ? found = i : 0, ++i),
   ...);
  return found < 0 ? int(sizeof...(Archs)) - 1 : found;
}

template <int I, class List>
struct arch_at;
template <int I, class A, class... As>
struct arch_at<I, xsimd::arch_list<A, As...>> : arch_at<I - 1, xsimd::arch_list<As...>> {};
template <class A, class... As>
struct arch_at<0, xsimd::arch_list<A, As...>> {
  using type = A;
};
}  // namespace detail

// Index into dispatch_archs of the architecture in use, chosen once per process.
inline int active_arch_index() noexcept {
  static const int index = detail::best_index(dispatch_archs{});
  return index;
}

template <class... Archs>
const char* arch_name_at(xsimd::arch_list<Archs...>, int index) noexcept {
  const char* names[] = {Archs::name()...};
  return names[index];
}

inline const char* active_arch_name() noexcept {
#if TQLIB_RUNTIME_DISPATCH
  return arch_name_at(dispatch_archs{}, active_arch_index());
#else
  return xsimd::default_arch::name();
#endif
}

template <template <class> class Kernels, class F>
decltype(auto) dispatch(F&& f) {
#if defined(TQLIB_KERNEL_ARCH)
  // Inside a per-architecture translation unit: only that architecture's kernels exist here.
  return f(Kernels<TQLIB_KERNEL_ARCH>{});
#elif TQLIB_RUNTIME_DISPATCH
  return [&]<class... Archs>(xsimd::arch_list<Archs...>) -> decltype(auto) {
    using R = decltype(f(Kernels<xsimd::default_arch>{}));
    const int want = active_arch_index();
    int i = 0;
    if constexpr (std::is_void_v<R>) {
      (void)((i++ == want ? (f(Kernels<Archs>{}), true) : false) || ...);
    } else {
      R out{};
      (void)((i++ == want ? (out = f(Kernels<Archs>{}), true) : false) || ...);
      return out;
    }
  }(dispatch_archs{});
#else
  return f(Kernels<xsimd::default_arch>{});
#endif
}

// Calls f(Kernels<Arch>{}, name) for every architecture of this build that the CPU supports;
// tests use it to hold every SIMD kernel to the scalar reference.
template <template <class> class Kernels, class F>
void for_each_supported_arch(F&& f) {
#if defined(TQLIB_KERNEL_ARCH)
  f(Kernels<TQLIB_KERNEL_ARCH>{}, TQLIB_KERNEL_ARCH::name());
#elif TQLIB_RUNTIME_DISPATCH
  [&]<class... Archs>(xsimd::arch_list<Archs...>) {
    ((detail::cpu_supports<Archs>() ? (f(Kernels<Archs>{}, Archs::name()), 0) : 0), ...);
  }(dispatch_archs{});
#else
  f(Kernels<xsimd::default_arch>{}, xsimd::default_arch::name());
#endif
}

}  // namespace tqlib::simd

// Every header that declares a kernel template ends with this block, so that in default builds
// the definitions are visible and in dispatch builds they are not (see arch.hpp):
//
//   #if !TQLIB_RUNTIME_DISPATCH
//   #include "tqlib/codec/kernels/q8.hpp"
//   #endif
