#pragma once
// The shared inner loop of every integer codec: rows of weights decoded 32 at a time into signed
// int8, dotted exactly in int32 with int8 activations (int8_activations.hpp), scaled and summed
// in float. A codec describes only its layout:
//
//   struct layout {
//     static constexpr bool split_scales;   // one scale per 16 weights instead of per 32
//     static std::size_t row_bytes(std::size_t cols);
//     static void scales(const std::byte* row, std::size_t cols, std::size_t b, float& lo, float& hi);
//     static void decode(const std::byte* row, std::size_t cols, std::size_t b, std::int8_t* out32);
//     // optional, x86 with AVX2: the same 32 values in a register, straight from the packed bytes
//     template <class Arch> static __m256i decode_avx2(const std::byte* row, std::size_t cols, std::size_t b);
//   };
//
// Included only from codec kernel files (detail/*_kernels.inl.hpp): it is compiled once per
// architecture, and which path it takes follows that translation unit's instruction-set macros.
#include <cstddef>
#include <cstdint>

#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/simd/dispatch.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#define TQLIB_INT8_AVX2 1
#else
#define TQLIB_INT8_AVX2 0
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define TQLIB_INT8_VNNI 1
#else
#define TQLIB_INT8_VNNI 0
#endif

namespace tqlib::codec::detail {

template <class Arch, class Layout>
struct int8_dot_engine {
  static constexpr std::size_t rows_per_pass = 4;  // rows sharing each activation load

  // out[i] = dot(row i, activations) for R rows.
  template <std::size_t R>
  static void dot_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, float* out) noexcept {
#if TQLIB_INT8_AVX2
    __m256 acc[R];
    for (std::size_t r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    for (std::size_t b = 0; b < a.blocks; ++b) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b));
#if TQLIB_INT8_VNNI
      const __m256i bias = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bias4 + 8 * b));
#else
      const __m256i bias = _mm256_setzero_si256();
#endif
      const float dx = a.d[b];
      for (std::size_t r = 0; r < R; ++r) {
        const __m256i s = idot(decode_register(rows[r], cols, b), x, bias);
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), scale_register(rows[r], cols, b, dx), acc[r]);
      }
    }
    for (std::size_t r = 0; r < R; ++r) out[r] = horizontal_sum(acc[r]);
#else
    // Portable path (SSE4.2, wasm, other CPUs): decode to a buffer, integer dot the compiler vectorises.
    alignas(32) std::int8_t w[32];
    for (std::size_t r = 0; r < R; ++r) {
      float acc = 0.f;
      for (std::size_t b = 0; b < a.blocks; ++b) {
        Layout::decode(rows[r], cols, b, w);
        const std::int8_t* x = a.q + 32 * b;
        std::int32_t lo = 0, hi = 0;
        for (int j = 0; j < 16; ++j) lo += std::int32_t(w[j]) * x[j];
        for (int j = 16; j < 32; ++j) hi += std::int32_t(w[j]) * x[j];
        float slo, shi;
        Layout::scales(rows[r], cols, b, slo, shi);
        acc += a.d[b] * (Layout::split_scales ? slo * float(lo) + shi * float(hi) : slo * float(lo + hi));
      }
      out[r] = acc;
    }
#endif
  }

  // Exact int32 dot of each 32-block of one row with the activation codes (tests hold this to
  // the scalar integer reference bit for bit).
  static void block_dots(const std::byte* row, std::size_t cols, const act_view& a, std::int32_t* out) noexcept {
    for (std::size_t b = 0; b < a.blocks; ++b) {
#if TQLIB_INT8_AVX2
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + 32 * b));
#if TQLIB_INT8_VNNI
      const __m256i bias = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bias4 + 8 * b));
#else
      const __m256i bias = _mm256_setzero_si256();
#endif
      alignas(32) std::int32_t lanes[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), idot(decode_register(row, cols, b), x, bias));
      std::int32_t s = 0;
      for (int l = 0; l < 8; ++l) s += lanes[l];
      out[b] = s;
#else
      alignas(32) std::int8_t w[32];
      Layout::decode(row, cols, b, w);
      std::int32_t s = 0;
      for (int j = 0; j < 32; ++j) s += std::int32_t(w[j]) * a.q[32 * b + j];
      out[b] = s;
#endif
    }
  }

  static void matvec(const std::byte* blob, std::size_t cols, const act_view& a, float* y, std::size_t r0,
                     std::size_t r1) noexcept {
    const std::size_t rb = Layout::row_bytes(cols);
    std::size_t r = r0;
    for (; r + rows_per_pass <= r1; r += rows_per_pass) {
      const std::byte* rows[rows_per_pass];
      for (std::size_t i = 0; i < rows_per_pass; ++i) rows[i] = blob + (r + i) * rb;
      dot_rows<rows_per_pass>(rows, cols, a, y + r);
    }
    for (; r < r1; ++r) {
      const std::byte* row = blob + r * rb;
      dot_rows<1>(&row, cols, a, y + r);
    }
  }

  // Y[t * rows + r] for t < T: each group of rows is decoded while it sits in L1 for all T tokens.
  static void matmul(const std::byte* blob, std::size_t rows, std::size_t cols, const act_view* acts, std::size_t T,
                     float* Y, std::size_t r0, std::size_t r1) noexcept {
    const std::size_t rb = Layout::row_bytes(cols);
    std::size_t r = r0;
    for (; r + rows_per_pass <= r1; r += rows_per_pass) {
      const std::byte* group[rows_per_pass];
      for (std::size_t i = 0; i < rows_per_pass; ++i) group[i] = blob + (r + i) * rb;
      for (std::size_t t = 0; t < T; ++t) {
        float out[rows_per_pass];
        dot_rows<rows_per_pass>(group, cols, acts[t], out);
        for (std::size_t i = 0; i < rows_per_pass; ++i) Y[t * rows + r + i] = out[i];
      }
    }
    for (; r < r1; ++r) {
      const std::byte* row = blob + r * rb;
      for (std::size_t t = 0; t < T; ++t) dot_rows<1>(&row, cols, acts[t], Y + t * rows + r);
    }
  }

#if TQLIB_INT8_AVX2
 private:
  static __m256i decode_register(const std::byte* row, std::size_t cols, std::size_t b) noexcept {
    if constexpr (requires { Layout::template decode_avx2<Arch>(row, cols, b); }) {
      return Layout::template decode_avx2<Arch>(row, cols, b);
    } else {
      alignas(32) std::int8_t w[32];
      Layout::decode(row, cols, b, w);
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
    }
  }

  // Eight int32 lanes, each the exact sum of 4 products w*x.
  static __m256i idot(__m256i w, __m256i x, [[maybe_unused]] __m256i bias) noexcept {
#if TQLIB_INT8_VNNI
    // u = w + 128 is unsigned; bias = -128 * sum(x) per lane undoes the offset (int8_activations.hpp).
    return _mm256_dpbusd_epi32(bias, _mm256_xor_si256(w, _mm256_set1_epi8(char(0x80))), x);
#else
    // |w| * (x * sign(w)): maddubs needs an unsigned left operand; |w| <= 128 and |x| <= 127 keep
    // the int16 pair sums (<= 32512) from saturating.
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
#endif
  }

  static __m256 scale_register(const std::byte* row, std::size_t cols, std::size_t b, float dx) noexcept {
    float lo, hi;
    Layout::scales(row, cols, b, lo, hi);
    if constexpr (Layout::split_scales) return _mm256_set_m128(_mm_set1_ps(hi * dx), _mm_set1_ps(lo * dx));
    else return _mm256_set1_ps(lo * dx);
  }

  static float horizontal_sum(__m256 v) noexcept {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
#endif
};

}  // namespace tqlib::codec::detail
