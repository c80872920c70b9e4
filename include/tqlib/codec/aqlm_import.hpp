#pragma once
// Builds an AQLM blob (aqlm_layout.hpp) from one linear layer's tensors exactly as the aqlm
// package and transformers' AQLM integration store them in a checkpoint:
//   codes     int8 / int16 / int32 [out/out_group, in/in_group, num_codebooks], read mod 2^nbits
//             (the package stores codes >= 2^(nbits-1) as negative numbers: `pack_int_data`)
//   codebooks fp16 [num_codebooks, 2^nbits, out_group, in_group]
//   scales    fp16 [out/out_group, 1, 1, 1]
// (Vahe1994/AQLM inference_lib/src/aqlm/utils.py; vLLM model_executor/layers/quantization/aqlm.py.)
// The configuration is read from the shapes; every shape and size is checked.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tqlib/codec/aqlm_layout.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/core/shape_text.hpp"

namespace tqlib::codec::aqlm {

enum class int_dtype { i8, i16, i32 };
enum class float_dtype { f16, bf16, f32 };

struct imported_layer {
  std::vector<std::byte> blob;
  std::size_t rows = 0, cols = 0;  // out_features, in_features
};

namespace detail {
inline std::size_t int_size(int_dtype t) noexcept { return t == int_dtype::i8 ? 1 : t == int_dtype::i16 ? 2 : 4; }
inline std::size_t float_size(float_dtype t) noexcept { return t == float_dtype::f32 ? 4 : 2; }
inline std::int64_t load_int(const std::byte* p, int_dtype t) noexcept {
  switch (t) {
    case int_dtype::i8: return std::int8_t(std::to_integer<std::uint8_t>(*p));
    case int_dtype::i16: return load_le<std::int16_t>(p);
    case int_dtype::i32: return load_le<std::int32_t>(p);
  }
  return 0;
}
inline float load_float(const std::byte* p, float_dtype t) noexcept {
  switch (t) {
    case float_dtype::f16: return f16_to_f32(load_le<std::uint16_t>(p));
    case float_dtype::bf16: return bf16_to_f32(load_le<std::uint16_t>(p));
    case float_dtype::f32: return load_le<float>(p);
  }
  return 0;
}
inline error bad_tensor(const char* name, std::string why) {
  return make_error(errc::invalid_argument, std::string("aqlm ") + name + ": " + std::move(why));
}
inline result<std::size_t> positive_dim(std::int64_t d, const char* name) {
  if (d <= 0 || std::uint64_t(d) > 0xffffffffull) return bad_tensor(name, "dimension " + std::to_string(d) + " out of range");
  return std::size_t(d);
}
}  // namespace detail

inline result<imported_layer> make_aqlm_blob(std::span<const std::byte> codes, int_dtype codes_dtype,
                                             std::span<const std::int64_t> codes_shape,
                                             std::span<const std::byte> codebooks,
                                             std::span<const std::int64_t> codebooks_shape,
                                             std::span<const std::byte> scales, std::span<const std::int64_t> scales_shape,
                                             float_dtype codebooks_dtype = float_dtype::f16,
                                             float_dtype scales_dtype = float_dtype::f16) {
  using detail::bad_tensor;
  if (codebooks_shape.size() != 4)
    return bad_tensor("codebooks", "shape " + tqlib::shape_text(codebooks_shape) +
                                       " is not [num_codebooks, 2^nbits, out_group, in_group]");
  if (codes_shape.size() != 3)
    return bad_tensor("codes", "shape " + tqlib::shape_text(codes_shape) + " is not [out/out_group, in/in_group, num_codebooks]");
  std::size_t cb[4], cd[3];
  for (int i = 0; i < 4; ++i) {
    auto d = detail::positive_dim(codebooks_shape[i], "codebooks");
    TQLIB_TRY(d);
    cb[i] = *d;
  }
  for (int i = 0; i < 3; ++i) {
    auto d = detail::positive_dim(codes_shape[i], "codes");
    TQLIB_TRY(d);
    cd[i] = *d;
  }
  const std::size_t K = cb[1];
  if (K < 2 || (K & (K - 1)) != 0 || K > (std::size_t(1) << max_nbits))
    return bad_tensor("codebooks", "codebook size " + std::to_string(K) + " is not 2^nbits for nbits in 1..16");
  config c;
  c.num_codebooks = unsigned(std::min<std::size_t>(cb[0], max_codebooks + 1));
  c.nbits = unsigned(std::countr_zero(K));
  c.out_group = unsigned(std::min<std::size_t>(cb[2], max_group + 1));
  c.in_group = unsigned(std::min<std::size_t>(cb[3], max_group + 1));
  if (cd[2] != cb[0])
    return bad_tensor("codes", "shape " + tqlib::shape_text(codes_shape) + " has " + std::to_string(cd[2]) +
                                   " codebooks, codebooks have " + std::to_string(cb[0]));
  const std::size_t out_groups = cd[0], in_groups = cd[1];
  // Scales: [out/out_group, 1, 1, 1] as saved, or flattened to [out/out_group].
  std::size_t scale_count = 1;
  for (std::size_t i = 0; i < scales_shape.size(); ++i) {
    if (scales_shape[i] <= 0) return bad_tensor("scales", "shape " + tqlib::shape_text(scales_shape) + " has an empty dimension");
    if (i > 0 && scales_shape[i] != 1)
      return bad_tensor("scales", "shape " + tqlib::shape_text(scales_shape) + " is not [out/out_group, 1, 1, 1]");
    if (i == 0) scale_count = std::size_t(scales_shape[0]);
  }
  if (scales_shape.empty() || scale_count != out_groups)
    return bad_tensor("scales", "shape " + tqlib::shape_text(scales_shape) + " does not hold " +
                                    std::to_string(out_groups) + " output groups");
  auto rows = detail::checked_mul(out_groups, c.out_group);
  auto cols = detail::checked_mul(in_groups, c.in_group);
  if (!rows || !cols) return bad_tensor("codes", "shape overflows");
  auto L = make_layout(c, *rows, *cols);
  TQLIB_TRY(L);
  const std::size_t n_codes = L->out_groups * L->in_groups * c.num_codebooks;  // make_layout checked the product
  if (codes.size() != n_codes * detail::int_size(codes_dtype))
    return bad_tensor("codes", std::to_string(codes.size()) + " bytes, shape " + tqlib::shape_text(codes_shape) + " needs " +
                                   std::to_string(n_codes * detail::int_size(codes_dtype)));
  if (codebooks.size() != L->codebook_floats() * detail::float_size(codebooks_dtype))
    return bad_tensor("codebooks", std::to_string(codebooks.size()) + " bytes, shape " +
                                       tqlib::shape_text(codebooks_shape) + " needs " +
                                       std::to_string(L->codebook_floats() * detail::float_size(codebooks_dtype)));
  if (scales.size() != out_groups * detail::float_size(scales_dtype))
    return bad_tensor("scales", std::to_string(scales.size()) + " bytes for " + std::to_string(out_groups) + " scales");

  imported_layer out;
  out.rows = *rows;
  out.cols = *cols;
  out.blob.resize(L->total_bytes);
  std::byte* b = out.blob.data();
  write_header(b, *L);
  for (std::size_t i = 0; i < L->codebook_floats(); ++i) {
    const float f = detail::load_float(codebooks.data() + i * detail::float_size(codebooks_dtype), codebooks_dtype);
    const std::uint16_t h = f32_to_f16(f);
    if (!std::isfinite(f16_to_f32(h))) return bad_tensor("codebooks", "entry " + std::to_string(i) + " is not a finite f16");
    store_le<std::uint16_t>(b + L->codebooks_offset + 2 * i, h);
  }
  for (std::size_t o = 0; o < out_groups; ++o) {
    const float f = detail::load_float(scales.data() + o * detail::float_size(scales_dtype), scales_dtype);
    const std::uint16_t h = f32_to_f16(f);
    if (!std::isfinite(f16_to_f32(h))) return bad_tensor("scales", "scale " + std::to_string(o) + " is not a finite f16");
    store_le<std::uint16_t>(b + L->scales_offset + 2 * o, h);
  }
  const std::uint64_t mask = L->codebook_entries - 1;  // value mod 2^nbits, as `unpack_int_data`
  for (std::size_t i = 0; i < n_codes; ++i) {
    const std::uint64_t code = std::uint64_t(detail::load_int(codes.data() + i * detail::int_size(codes_dtype), codes_dtype)) & mask;
    if (L->code_bytes == 1)
      b[L->codes_offset + i] = std::byte(code);
    else
      store_le<std::uint16_t>(b + L->codes_offset + 2 * i, std::uint16_t(code));
  }
  return out;
}

}  // namespace tqlib::codec::aqlm
