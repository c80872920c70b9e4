#pragma once
// Unquantized codecs: f32, f16 (IEEE binary16) and bf16, rows stored as plain little-endian
// arrays (cols elements per row, no padding). Matvec converts on the fly: rows are read in
// chunks, widened to f32 and dotted with xsimd, several rows per pass sharing each x load.
// Layout spec: docs/codecs/dense.md.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec {

enum class dense_type : int { f32 = 0, f16 = 1, bf16 = 2 };

constexpr std::size_t dense_element_bytes(dense_type t) { return t == dense_type::f32 ? 4 : 2; }

template <class Arch>
struct dense_kernels {
  // y[r] = dot(W[r, :], x) for r in [r0, r1); W holds elements of type t.
  static void matvec(int t, const std::byte* blob, std::size_t cols, const float* x, float* y, std::size_t r0,
                     std::size_t r1) noexcept;
};

TQLIB_KERNEL_INLINE float dense_element(dense_type t, const std::byte* p) noexcept {
  std::uint16_t h;
  switch (t) {
    case dense_type::f32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case dense_type::f16: std::memcpy(&h, p, 2); return f16_to_f32(h);
    case dense_type::bf16: std::memcpy(&h, p, 2); return bf16_to_f32(h);
  }
  return 0.f;
}

inline double dense_dot_reference(dense_type t, const std::byte* row, std::size_t cols, const float* x) {
  double s = 0;
  for (std::size_t i = 0; i < cols; ++i) s += double(dense_element(t, row + i * dense_element_bytes(t))) * x[i];
  return s;
}

namespace detail {

// An IEEE element is infinite or NaN exactly when its exponent bits are all set, so the scan is
// a mask compare and an OR the compiler vectorises: validating a model's f16 tensors costs a
// fraction of a read, not a float conversion per element (it runs on every load).
template <class U>
bool all_exponents_below(const std::byte* p, std::size_t n, U exponent_mask) noexcept {
  U any_bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    U v;
    std::memcpy(&v, p + i * sizeof(U), sizeof(U));
    any_bad |= U((v & exponent_mask) == exponent_mask);
  }
  return any_bad == 0;
}

inline bool dense_all_finite(dense_type t, const std::byte* p, std::size_t n) noexcept {
  switch (t) {
    case dense_type::f32: return all_exponents_below<std::uint32_t>(p, n, 0x7f800000u);
    case dense_type::f16: return all_exponents_below<std::uint16_t>(p, n, 0x7c00u);
    case dense_type::bf16: return all_exponents_below<std::uint16_t>(p, n, 0x7f80u);
  }
  return false;
}

template <dense_type T>
const codec_ops& make_dense_ops(codec_id id, std::string_view name) {
  static const codec_ops ops{
      id,
      name,
      [](std::size_t rows, std::size_t cols) -> std::optional<std::size_t> { return rows * cols * dense_element_bytes(T); },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) -> result<void> {
        constexpr std::string_view nm = T == dense_type::f32 ? "f32" : T == dense_type::f16 ? "f16" : "bf16";
        TQLIB_TRY(check_blob_size(nm, blob, rows, cols, rows * cols * dense_element_bytes(T)));
        if (dense_all_finite(T, blob.data(), rows * cols)) return {};
        for (std::size_t i = 0; i < rows * cols; ++i)  // find the first one, to name it
          if (!std::isfinite(dense_element(T, blob.data() + i * dense_element_bytes(T))))
            return make_error(errc::corrupt, std::string(nm) + ": element " + std::to_string(i % cols) + " of row " +
                                                 std::to_string(i / cols) + " is not finite");
        return {};
      },
      [](const float* w, std::size_t rows, std::size_t cols, const encode_options&) -> result<std::vector<std::byte>> {
        std::vector<std::byte> out(rows * cols * dense_element_bytes(T));
        for (std::size_t i = 0; i < rows * cols; ++i) {
          std::byte* p = out.data() + i * dense_element_bytes(T);
          if constexpr (T == dense_type::f32) store_le(p, w[i]);
          else if constexpr (T == dense_type::f16) store_le(p, f32_to_f16(w[i]));
          else store_le(p, f32_to_bf16(w[i]));
        }
        return out;
      },
      [](std::span<const std::byte> blob, std::size_t, std::size_t cols, std::size_t row, float* out) {
        for (std::size_t i = 0; i < cols; ++i) out[i] = dense_element(T, blob.data() + (row * cols + i) * dense_element_bytes(T));
      },
      [](std::span<const std::byte> blob, std::size_t, std::size_t cols, const float* x, float* y, std::size_t r0, std::size_t r1) {
        simd::dispatch<dense_kernels>([&](auto k) { decltype(k)::matvec(int(T), blob.data(), cols, x, y, r0, r1); });
      },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* X, std::size_t Tn, float* Y,
         std::size_t r0, std::size_t r1) {
        // Rows in slabs of 16 so a slab stays in cache across the tokens.
        for (std::size_t s = r0; s < r1; s += 16)
          for (std::size_t t = 0; t < Tn; ++t)
            simd::dispatch<dense_kernels>([&](auto k) {
              decltype(k)::matvec(int(T), blob.data(), cols, X + t * cols, Y + t * rows, s, std::min(r1, s + 16));
            });
      },
      [](std::span<const std::byte>, std::size_t, std::size_t) { return 8.0 * double(dense_element_bytes(T)); },
  };
  return ops;
}

}  // namespace detail

inline const codec_ops& f32_ops() { return detail::make_dense_ops<dense_type::f32>(codec_id::f32, "f32"); }
inline const codec_ops& f16_ops() { return detail::make_dense_ops<dense_type::f16>(codec_id::f16, "f16"); }
inline const codec_ops& bf16_ops() { return detail::make_dense_ops<dense_type::bf16>(codec_id::bf16, "bf16"); }

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/dense.hpp"
#endif
