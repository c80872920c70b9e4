#pragma once
// Force-included (-include) into every C++ file of the Emscripten build. Debian 12's Emscripten
// 3.1.6 ships libc++ 13, which lacks a few C++20 library pieces that GCC 12's libstdc++ has and
// tqlib uses; clang 14 has the builtins to provide them. Each shim steps aside once the library
// has its own.
#include <version>

#if defined(__EMSCRIPTEN__) && !defined(__cpp_lib_bit_cast)
#include <type_traits>
namespace std {
template <class To, class From>
  requires(sizeof(To) == sizeof(From) && is_trivially_copyable_v<To> && is_trivially_copyable_v<From>)
constexpr To bit_cast(const From& from) noexcept {
  return __builtin_bit_cast(To, from);
}
}  // namespace std
#endif

// libstdc++ (GCC) makes <unistd.h> visible through <filesystem>/<string>; libc++ does not, and
// some tests call ::getpid() for unique temporary folder names.
#if defined(__EMSCRIPTEN__)
#include <unistd.h>
#endif
