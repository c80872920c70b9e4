#pragma once
// Glue shared by the integer codecs: the kernel class declaration they all have (defined per
// codec in detail/<name>_kernels.inl.hpp through int8_dot_engine) and the codec_ops entries that
// quantize activations once and dispatch to the best architecture's kernels.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/simd/dispatch.hpp"

// Members of every integer codec's `template <class Arch> struct <name>_kernels`.
#define TQLIB_INT8_KERNEL_MEMBERS                                                                                  \
  static void matvec(const std::byte* blob, std::size_t cols, const ::tqlib::codec::act_view& a, float* y,        \
                     std::size_t r0, std::size_t r1) noexcept;                                                     \
  static void matmul(const std::byte* blob, std::size_t rows, std::size_t cols, const ::tqlib::codec::act_view* acts, \
                     std::size_t T, float* Y, std::size_t r0, std::size_t r1) noexcept;                            \
  static void block_dots(const std::byte* row, std::size_t cols, const ::tqlib::codec::act_view& a,                \
                         std::int32_t* out) noexcept;

// Definitions of those members for kernels class KERNELS over layout LAYOUT (in the .inl files).
#define TQLIB_INT8_KERNEL_DEFINITIONS(KERNELS, LAYOUT)                                                               \
  template <class Arch>                                                                                           \
  void KERNELS<Arch>::matvec(const std::byte* blob, std::size_t cols, const ::tqlib::codec::act_view& a, float* y, \
                             std::size_t r0, std::size_t r1) noexcept {                                           \
    ::tqlib::codec::detail::int8_dot_engine<Arch, LAYOUT>::matvec(blob, cols, a, y, r0, r1);                      \
  }                                                                                                               \
  template <class Arch>                                                                                           \
  void KERNELS<Arch>::matmul(const std::byte* blob, std::size_t rows, std::size_t cols,                           \
                             const ::tqlib::codec::act_view* acts, std::size_t T, float* Y, std::size_t r0,       \
                             std::size_t r1) noexcept {                                                           \
    ::tqlib::codec::detail::int8_dot_engine<Arch, LAYOUT>::matmul(blob, rows, cols, acts, T, Y, r0, r1);          \
  }                                                                                                               \
  template <class Arch>                                                                                           \
  void KERNELS<Arch>::block_dots(const std::byte* row, std::size_t cols, const ::tqlib::codec::act_view& a,       \
                                 std::int32_t* out) noexcept {                                                    \
    ::tqlib::codec::detail::int8_dot_engine<Arch, LAYOUT>::block_dots(row, cols, a, out);                         \
  }

namespace tqlib::codec::detail {

template <template <class> class Kernels>
void int8_matvec(std::span<const std::byte> blob, std::size_t, std::size_t cols, const float* x, float* y,
                 std::size_t r0, std::size_t r1) {
  thread_local int8_activations act;
  quantize_activations(x, cols, act);
  const act_view v = act.view();
  simd::dispatch<Kernels>([&](auto k) { decltype(k)::matvec(blob.data(), cols, v, y, r0, r1); });
}

template <template <class> class Kernels>
void int8_matmul(std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* X, std::size_t T,
                 float* Y, std::size_t r0, std::size_t r1) {
  thread_local std::vector<int8_activations> acts;
  thread_local std::vector<act_view> views;
  if (acts.size() < T) acts.resize(T);
  views.resize(T);
  for (std::size_t t = 0; t < T; ++t) {
    quantize_activations(X + t * cols, cols, acts[t]);
    views[t] = acts[t].view();
  }
  simd::dispatch<Kernels>([&](auto k) { decltype(k)::matmul(blob.data(), rows, cols, views.data(), T, Y, r0, r1); });
}

// Scalar integer reference for any layout: the same sum the kernels compute, written plainly.
template <class Layout>
double int8_dot_reference(const std::byte* row, std::size_t cols, const int8_activations& a) {
  double y = 0;
  std::int8_t w[32];
  for (std::size_t b = 0; b < a.blocks; ++b) {
    Layout::decode(row, cols, b, w);
    std::int64_t lo = 0, hi = 0;
    for (int j = 0; j < 16; ++j) lo += std::int64_t(w[j]) * a.q[32 * b + j];
    for (int j = 16; j < 32; ++j) hi += std::int64_t(w[j]) * a.q[32 * b + j];
    float slo, shi;
    Layout::scales(row, cols, b, slo, shi);
    y += double(a.d[b]) * (double(slo) * double(lo) + double(shi) * double(hi));
  }
  return y;
}

}  // namespace tqlib::codec::detail
