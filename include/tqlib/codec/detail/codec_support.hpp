#pragma once
// Small pieces every row-major codec shares: size checks that name the codec, f16 scale loads
// and checks, and the shapes of the error messages.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::detail {

// Called from kernels, hence TQLIB_KERNEL_INLINE (see simd/dispatch.hpp).
TQLIB_KERNEL_INLINE float f16_at(const std::byte* p) noexcept {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
#if defined(__F16C__)
  return _cvtsh_ss(h);
#elif defined(__wasm__)
  // No f16 instruction: finite values (subnormals included) are the f16 bits moved into f32's
  // place times 2^112, exact and without f16_to_f32's branches (a kernel loads one per block).
  const std::uint32_t m = h & 0x7fffu;
  if ((m & 0x7c00u) == 0x7c00u) return f16_to_f32(h);  // inf, nan
  const float f = tqlib::bit_cast<float>(m << 13) * 0x1p112f;
  return tqlib::bit_cast<float>(tqlib::bit_cast<std::uint32_t>(f) | std::uint32_t(h & 0x8000u) << 16);
#else
  return f16_to_f32(h);
#endif
}

inline std::string shape_text(std::size_t rows, std::size_t cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

inline result<void> check_blob_size(std::string_view codec, std::span<const std::byte> blob, std::size_t rows,
                                    std::size_t cols, std::size_t expected) {
  if (blob.size() != expected)
    return make_error(blob.size() < expected ? errc::truncated : errc::corrupt,
                      std::string(codec) + " blob for " + shape_text(rows, cols) + " must be " +
                          std::to_string(expected) + " bytes, got " + std::to_string(blob.size()));
  return {};
}

inline result<void> check_finite_scale(std::string_view codec, float s, std::size_t row, std::size_t index) {
  if (!std::isfinite(s))
    return make_error(errc::corrupt, std::string(codec) + ": scale " + std::to_string(index) + " of row " +
                                         std::to_string(row) + " is not finite");
  return {};
}

inline result<void> check_cols_multiple(std::string_view codec, std::size_t cols, std::size_t multiple) {
  if (cols % multiple != 0)
    return make_error(errc::invalid_argument, std::string(codec) + " needs rows (cols) that are a multiple of " +
                                                  std::to_string(multiple) + ", got " + std::to_string(cols));
  return {};
}

inline double bits_per_weight_of(std::size_t bytes, std::size_t rows, std::size_t cols) {
  return rows * cols == 0 ? 0.0 : 8.0 * double(bytes) / double(rows * cols);
}

}  // namespace tqlib::codec::detail
