#pragma once
#include <algorithm>
#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

#include "tqlib/codec/dense.hpp"

namespace tqlib::codec {

namespace detail {
// Widens n (<= 256) elements of type t to f32. F16C where the build has it; the loops otherwise
// vectorise (bf16 is a shift).
template <class Arch>
void widen_to_f32(dense_type t, const std::byte* p, std::size_t n, float* out) noexcept {
  if (t == dense_type::f32) {
    std::memcpy(out, p, n * 4);
  } else if (t == dense_type::bf16) {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      const std::uint32_t bits = std::uint32_t(h) << 16;
      std::memcpy(out + i, &bits, 4);
    }
  } else {
    std::size_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i))));
#endif
    for (; i < n; ++i) {
      std::uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = f16_to_f32(h);
    }
  }
}
}  // namespace detail

template <class Arch>
void dense_kernels<Arch>::matvec(int ti, const std::byte* blob, std::size_t cols, const float* x, float* y, std::size_t r0,
                                 std::size_t r1) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t W = batch::size, R = 4, chunk = 256;
  const auto t = dense_type(ti);
  const std::size_t eb = dense_element_bytes(t);
  alignas(64) float buf[R][chunk];
  for (std::size_t r = r0; r < r1; r += R) {
    const std::size_t nr = std::min(R, r1 - r);
    batch acc[R];
    float tail[R] = {};
    for (std::size_t i = 0; i < R; ++i) acc[i] = batch(0.f);
    for (std::size_t c = 0; c < cols; c += chunk) {
      const std::size_t n = std::min(chunk, cols - c);
      for (std::size_t i = 0; i < nr; ++i) detail::widen_to_f32<Arch>(t, blob + ((r + i) * cols + c) * eb, n, buf[i]);
      std::size_t j = 0;
      for (; j + W <= n; j += W) {
        const batch xv = batch::load_unaligned(x + c + j);
        for (std::size_t i = 0; i < nr; ++i) acc[i] = xsimd::fma(batch::load_aligned(buf[i] + j), xv, acc[i]);
      }
      for (; j < n; ++j)
        for (std::size_t i = 0; i < nr; ++i) tail[i] += buf[i][j] * x[c + j];
    }
    for (std::size_t i = 0; i < nr; ++i) y[r + i] = xsimd::reduce_add(acc[i]) + tail[i];
  }
}

#ifdef TQLIB_KERNEL_ARCH
template struct dense_kernels<TQLIB_KERNEL_ARCH>;
#endif

}  // namespace tqlib::codec
