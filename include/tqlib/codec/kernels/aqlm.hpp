#pragma once
// AQLM matvec / matmul kernels (declared in codec/aqlm.hpp; strategy in docs/codecs/aqlm.md).
#include <bit>
#include <cstring>
#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

#include "tqlib/codec/aqlm.hpp"

namespace tqlib::codec::aqlm {

template <class Arch>
void aqlm_kernels<Arch>::transpose_codebooks(const view& v, float* cbT) noexcept {
  const layout& L = v.L;
  const std::size_t K = L.codebook_entries, Go = L.cfg.out_group, Gi = L.cfg.in_group;
  for (std::size_t c = 0; c < L.cfg.num_codebooks; ++c)
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t r = 0; r < Go; ++r)
        for (std::size_t j = 0; j < Gi; ++j)
          cbT[((c * Go + r) * Gi + j) * K + k] = f16_bits_to_f32_finite(v.codebook_bits(v.codebook_index(c, k, r, j)));
}

template <class Arch>
void aqlm_kernels<Arch>::build_lut(const layout& L, const float* cbT, const float* xg, float* lut) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t W = batch::size;
  const std::size_t K = L.codebook_entries, Gi = L.cfg.in_group;
  const std::size_t tables = std::size_t(L.cfg.num_codebooks) * L.cfg.out_group;
  for (std::size_t t = 0; t < tables; ++t) {
    const float* src = cbT + t * Gi * K;  // [Gi][K]: codeword element j of every codeword
    float* dst = lut + t * K;
    std::size_t k = 0;
    // Four independent accumulators: each is a chain of Gi FMAs.
    for (; k + 4 * W <= K; k += 4 * W) {
      batch a0(0.f), a1(0.f), a2(0.f), a3(0.f);
      for (std::size_t j = 0; j < Gi; ++j) {
        const batch xj(xg[j]);
        const float* s = src + j * K + k;
        a0 = xsimd::fma(xj, batch::load_unaligned(s), a0);
        a1 = xsimd::fma(xj, batch::load_unaligned(s + W), a1);
        a2 = xsimd::fma(xj, batch::load_unaligned(s + 2 * W), a2);
        a3 = xsimd::fma(xj, batch::load_unaligned(s + 3 * W), a3);
      }
      a0.store_unaligned(dst + k);
      a1.store_unaligned(dst + k + W);
      a2.store_unaligned(dst + k + 2 * W);
      a3.store_unaligned(dst + k + 3 * W);
    }
    for (; k + W <= K; k += W) {
      batch a(0.f);
      for (std::size_t j = 0; j < Gi; ++j) a = xsimd::fma(batch(xg[j]), batch::load_unaligned(src + j * K + k), a);
      a.store_unaligned(dst + k);
    }
    for (; k < K; ++k) {
      float a = 0.f;
      for (std::size_t j = 0; j < Gi; ++j) a += xg[j] * src[j * K + k];
      dst[k] = a;
    }
  }
}

template <class Arch>
float aqlm_kernels<Arch>::sum_lut_entries(const float* lut, const std::uint8_t* codes, std::size_t n,
                                          std::size_t stride) noexcept {
  // Scalar loads beat the AVX-512 gather and 64-bit code loads here (measured, docs/codecs/aqlm.md):
  // the loop is bound by one table load per code.
  float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f;
  std::size_t t = 0;
  for (; t + 4 <= n; t += 4) {
    a0 += lut[t * stride + codes[t]];
    a1 += lut[(t + 1) * stride + codes[t + 1]];
    a2 += lut[(t + 2) * stride + codes[t + 2]];
    a3 += lut[(t + 3) * stride + codes[t + 3]];
  }
  for (; t < n; ++t) a0 += lut[t * stride + codes[t]];
  return (a0 + a1) + (a2 + a3);
}

template <class Arch>
void aqlm_kernels<Arch>::matvec_lut(const view& v, const float* x, float* y, std::size_t r0, std::size_t r1,
                                    float* scratch) noexcept {
  const layout& L = v.L;
  const std::size_t K = L.codebook_entries, Go = L.cfg.out_group, Gi = L.cfg.in_group, C = L.cfg.num_codebooks;
  const std::size_t table_floats = C * Go * K;  // one input group's tables
  const std::size_t chunk = lut_chunk_groups(L);
  float* cbT = scratch;
  float* lut = scratch + L.codebook_floats();
  transpose_codebooks(v, cbT);
  const auto* codes = reinterpret_cast<const std::uint8_t*>(v.codes());
  for (std::size_t row = r0; row < r1; ++row) y[row] = 0.f;
  for (std::size_t ig0 = 0; ig0 < L.in_groups; ig0 += chunk) {
    const std::size_t groups = ig0 + chunk <= L.in_groups ? chunk : L.in_groups - ig0;
    for (std::size_t g = 0; g < groups; ++g) build_lut(L, cbT, x + (ig0 + g) * Gi, lut + g * table_floats);
    // Entry (group g, codebook c, row r, code k) sits at ((g*C + c)*Go + r)*K + k, so with
    // t = g*C + c running over the row's codes in storage order it is t*Go*K + r*K + k.
    const std::size_t n = groups * C, stride = Go * K;
    for (std::size_t row = r0; row < r1; ++row) {
      const std::size_t og = row / Go;
      const float* lr = lut + (row % Go) * K;
      const std::uint8_t* cr = codes + (og * L.in_groups + ig0) * C;
      y[row] += sum_lut_entries(lr, cr, n, stride);
    }
  }
  for (std::size_t row = r0; row < r1; ++row) y[row] *= v.scale(row / Go);
}

// n f16 values to floats, stored (add == false) or added (add == true) into out. Templated on
// Arch so that each architecture's translation unit has its own copy (its body depends on flags).
template <class Arch, bool add>
TQLIB_KERNEL_INLINE void f16_run_to_f32(const std::byte* src, std::size_t n, float* out) noexcept {
  std::size_t j = 0;
#if defined(__F16C__) && defined(__AVX__)
  // One instruction per 8 values where the architecture has it (x86 F16C); the portable loop
  // below handles every other target and the tail.
  for (; j + 8 <= n; j += 8) {
    __m256 f = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * j)));
    if constexpr (add) f = _mm256_add_ps(f, _mm256_loadu_ps(out + j));
    _mm256_storeu_ps(out + j, f);
  }
#endif
  for (; j < n; ++j) {
    const float f = f16_bits_to_f32_finite(read_u16_le(src + 2 * j));
    if constexpr (add)
      out[j] += f;
    else
      out[j] = f;
  }
}

template <class Arch>
void aqlm_kernels<Arch>::decode_row_unscaled(const view& v, std::size_t row, float* out) noexcept {
  const layout& L = v.L;
  const std::size_t Go = L.cfg.out_group, Gi = L.cfg.in_group, C = L.cfg.num_codebooks;
  const std::size_t og = row / Go, r = row % Go;
  // Byte offset of codeword k of codebook c, row r of the out group: ((c*K + k)*Go + r)*Gi halves.
  const std::size_t codeword_bytes = 2 * Go * Gi, codebook_bytes = L.codebook_entries * codeword_bytes;
  const std::byte* books = v.codebooks() + 2 * r * Gi;
  const std::byte* codes = v.codes() + og * L.in_groups * C * L.code_bytes;
  for (std::size_t ig = 0; ig < L.in_groups; ++ig) {
    float* o = out + ig * Gi;
    for (std::size_t c = 0; c < C; ++c, codes += L.code_bytes) {
      const std::size_t k = L.code_bytes == 1 ? std::size_t(std::to_integer<std::uint8_t>(*codes)) : read_u16_le(codes);
      const std::byte* cw = books + c * codebook_bytes + k * codeword_bytes;
      if (c == 0)
        f16_run_to_f32<Arch, false>(cw, Gi, o);
      else
        f16_run_to_f32<Arch, true>(cw, Gi, o);
    }
  }
}

template <class Arch>
void aqlm_kernels<Arch>::matmul_decoded(const view& v, const float* X, std::size_t T, float* Y, std::size_t r0,
                                        std::size_t r1, float* scratch) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t W = batch::size;
  const layout& L = v.L;
  const std::size_t n = L.cols;
  for (std::size_t row = r0; row < r1; ++row) {
    decode_row_unscaled(v, row, scratch);
    const float s = v.scale(row / L.cfg.out_group);
    std::size_t t = 0;
    // Two tokens per pass over the decoded row: each row load feeds two FMAs.
    for (; t + 2 <= T; t += 2) {
      const float* x0 = X + t * n;
      const float* x1 = x0 + n;
      batch a0(0.f), a1(0.f);
      std::size_t i = 0;
      for (; i + W <= n; i += W) {
        const batch w = batch::load_unaligned(scratch + i);
        a0 = xsimd::fma(w, batch::load_unaligned(x0 + i), a0);
        a1 = xsimd::fma(w, batch::load_unaligned(x1 + i), a1);
      }
      float s0 = xsimd::reduce_add(a0), s1 = xsimd::reduce_add(a1);
      for (; i < n; ++i) {
        s0 += scratch[i] * x0[i];
        s1 += scratch[i] * x1[i];
      }
      Y[t * L.rows + row] = s * s0;
      Y[(t + 1) * L.rows + row] = s * s1;
    }
    for (; t < T; ++t) {
      const float* x0 = X + t * n;
      batch a0(0.f), a1(0.f);
      std::size_t i = 0;
      for (; i + 2 * W <= n; i += 2 * W) {
        a0 = xsimd::fma(batch::load_unaligned(scratch + i), batch::load_unaligned(x0 + i), a0);
        a1 = xsimd::fma(batch::load_unaligned(scratch + i + W), batch::load_unaligned(x0 + i + W), a1);
      }
      for (; i + W <= n; i += W) a0 = xsimd::fma(batch::load_unaligned(scratch + i), batch::load_unaligned(x0 + i), a0);
      float s0 = xsimd::reduce_add(a0 + a1);
      for (; i < n; ++i) s0 += scratch[i] * x0[i];
      Y[t * L.rows + row] = s * s0;
    }
  }
}

template <class Arch>
void aqlm_kernels<Arch>::matvec(const view& v, const float* x, float* y, std::size_t r0, std::size_t r1,
                                float* scratch) noexcept {
  if (uses_lut(v.L)) return matvec_lut(v, x, y, r0, r1, scratch);
  // Large codebooks (1x16): a table per input group would hold 2^16 entries to serve only `rows`
  // lookups, so gather each codeword and dot it with x directly (docs/codecs/aqlm.md).
  matmul_decoded(v, x, 1, y, r0, r1, scratch);
}

template <class Arch>
void aqlm_kernels<Arch>::matmul(const view& v, const float* X, std::size_t T, float* Y, std::size_t r0, std::size_t r1,
                                float* scratch) noexcept {
  // One token: the matvec path. More: decode each row once and reuse it for every token, which
  // costs cols*num_codebooks additions per row against T*cols FMAs.
  if (T == 1) return matvec(v, X, Y, r0, r1, scratch);
  matmul_decoded(v, X, T, Y, r0, r1, scratch);
}

#ifdef TQLIB_KERNEL_ARCH
template struct aqlm_kernels<TQLIB_KERNEL_ARCH>;
#endif

}  // namespace tqlib::codec::aqlm
