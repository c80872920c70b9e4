#pragma once
#include "tqlib/simd/vector_ops.hpp"

namespace tqlib::simd {

template <class Arch>
float vector_kernels<Arch>::dot(const float* a, const float* b, std::size_t n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t W = batch::size;
  batch acc0(0.f), acc1(0.f);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    acc0 = xsimd::fma(batch::load_unaligned(a + i), batch::load_unaligned(b + i), acc0);
    acc1 = xsimd::fma(batch::load_unaligned(a + i + W), batch::load_unaligned(b + i + W), acc1);
  }
  for (; i + W <= n; i += W) acc0 = xsimd::fma(batch::load_unaligned(a + i), batch::load_unaligned(b + i), acc0);
  float s = xsimd::reduce_add(acc0 + acc1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

template <class Arch>
void vector_kernels<Arch>::axpy(float a, const float* x, float* y, std::size_t n) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t W = batch::size;
  const batch va(a);
  std::size_t i = 0;
  for (; i + W <= n; i += W) xsimd::fma(va, batch::load_unaligned(x + i), batch::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

#ifdef TQLIB_KERNEL_ARCH
template struct vector_kernels<TQLIB_KERNEL_ARCH>;
#endif

}  // namespace tqlib::simd
