#pragma once
// Dense float vector operations the forward pass needs besides the codec kernels: dot products
// and fused multiply-adds over float arrays, vectorised with xsimd.
#include <cstddef>

#include "tqlib/simd/dispatch.hpp"

namespace tqlib::simd {

template <class Arch>
struct vector_kernels {
  static float dot(const float* a, const float* b, std::size_t n) noexcept;
  // y[i] += a * x[i]
  static void axpy(float a, const float* x, float* y, std::size_t n) noexcept;
};

inline float dot_ref(const float* a, const float* b, std::size_t n) noexcept {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
  return float(s);
}

inline float dot(const float* a, const float* b, std::size_t n) noexcept {
  return dispatch<vector_kernels>([&](auto k) { return decltype(k)::dot(a, b, n); });
}

inline void axpy(float a, const float* x, float* y, std::size_t n) noexcept {
  dispatch<vector_kernels>([&](auto k) { decltype(k)::axpy(a, x, y, n); });
}

}  // namespace tqlib::simd

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/simd/detail/vector_kernels.inl.hpp"
#endif
