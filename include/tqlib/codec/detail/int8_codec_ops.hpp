#pragma once
// Glue shared by the integer codecs: the kernel class they all have (int8_kernels, defined by the
// int8 engine, codec/kernels/int8_engine.hpp) and the codec_ops entries that quantize activations once and dispatch to the
// best architecture's kernels.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/detail/int8_layout.hpp"
#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::detail {

// The kernels of every integer codec: the int8 engine over the codec's layout. Declared here for
// the dispatcher; defined in codec/kernels/int8_engine.hpp and instantiated per architecture by
// each codec's codec/kernels/<name>.hpp.
template <class Arch, class Layout>
struct int8_kernels {
  static void matvec(const std::byte* blob, std::size_t cols, const act_view& a, float* y, std::size_t r0,
                     std::size_t r1) noexcept;
  static void matmul(const std::byte* blob, std::size_t rows, std::size_t cols, const act_view* acts, std::size_t T,
                     float* Y, std::size_t r0, std::size_t r1) noexcept;
  static void block_dots(const std::byte* row, std::size_t cols, const act_view& a, std::int32_t* out) noexcept;
};

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

// Layouts whose weights are scale * code + offset per 32-block (ggml's Q4_1/Q5_1 "m" and the
// K-quants' "min") give the offset of block b as block_offset(row, cols, b); the kernels add
// offset * (the block's activations) once per block, from act_view::dsum.
template <class Layout>
inline constexpr bool has_block_offsets = requires(const std::byte* row, std::size_t n) {
  { Layout::block_offset(row, n, n) };
};

// sum over blocks b of block_offset(b) * dsum[b]: what a row's offsets add to its dot product.
template <class Layout>
TQLIB_KERNEL_INLINE float block_offsets_dot(const std::byte* row, std::size_t cols, const act_view& a) noexcept {
  float s = 0.f;
  for (std::size_t b = 0; b < a.blocks; ++b) s += Layout::block_offset(row, cols, b) * a.dsum[b];
  return s;
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
    if constexpr (has_block_offsets<Layout>) y += double(Layout::block_offset(row, cols, b)) * double(a.dsum[b]);
  }
  return y;
}

// Weights of every row, dequantized: the Layout's int8 digits of each 32-wide block times its
// scales. The same decode the kernels use, so it cannot drift from them.
template <class Layout>
void int8_decode_row(const std::byte* row, std::size_t cols, float* out) {
  std::int8_t q[32];
  for (std::size_t b = 0; b < (cols + 31) / 32; ++b) {
    Layout::decode(row, cols, b, q);
    float lo, hi;
    Layout::scales(row, cols, b, lo, hi);
    float offset = 0.f;
    if constexpr (has_block_offsets<Layout>) offset = Layout::block_offset(row, cols, b);
    for (std::size_t m = 0; m < 32 && 32 * b + m < cols; ++m) out[32 * b + m] = (m < 16 ? lo : hi) * float(q[m]) + offset;
  }
}

inline result<void> check_finite_weights(std::string_view codec, const float* w, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(w[i]))
      return make_error(errc::invalid_argument, std::string(codec) + ": weight " + std::to_string(i) + " is not finite");
  return {};
}

// The codec_ops entry of an integer codec. `Codec` describes what differs between them: its
// format (id, name, cols_multiple, layout, check_row: detail/int8_layout.hpp), kernels<Arch>
// and encode_row(w, cols, out).
template <class Codec>
const codec_ops& int8_codec_ops() {
  using L = typename Codec::layout;
  static const codec_ops ops{
      Codec::id,
      Codec::name,
      int8_packed_size<Codec>,
      int8_validate<Codec>,
      [](const float* w, std::size_t rows, std::size_t cols, const encode_options&) -> result<std::vector<std::byte>> {
        TQLIB_TRY(check_cols_multiple(Codec::name, cols, Codec::cols_multiple));
        TQLIB_TRY(check_finite_weights(Codec::name, w, rows * cols));
        std::vector<std::byte> out(rows * L::row_bytes(cols));
        for (std::size_t r = 0; r < rows; ++r) Codec::encode_row(w + r * cols, cols, out.data() + r * L::row_bytes(cols));
        return out;
      },
      [](std::span<const std::byte> blob, std::size_t, std::size_t cols, std::size_t row, float* out) {
        int8_decode_row<L>(blob.data() + row * L::row_bytes(cols), cols, out);
      },
      int8_matvec<Codec::template kernels>,
      int8_matmul<Codec::template kernels>,
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
        return bits_per_weight_of(blob.size(), rows, cols);
      },
  };
  return ops;
}

}  // namespace tqlib::codec::detail
