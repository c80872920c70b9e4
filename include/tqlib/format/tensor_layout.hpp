#pragma once
// "shape x codec = size": how many bytes a tensor of a given codec and shape must hold, and the
// codec's own validation of those bytes. Codecs come from the layout catalog (codec/catalog.hpp):
// their byte layouts and checks, without their encoders or kernels. Shapes are PyTorch order; a tensor is encoded as rows = shape[0] and cols = the
// product of the rest (1-D and 0-D tensors are one row).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/catalog.hpp"
#include "tqlib/core/result.hpp"

namespace tqlib::format {

inline constexpr std::size_t max_tensor_rank = 8;

struct codec_ref {
  codec::codec_id id;
  std::string_view name;
  const codec::layout_info* layout;
};

inline std::optional<codec_ref> find_codec(std::string_view name) {
  if (const auto* l = codec::find_layout(name)) return codec_ref{l->id, l->name, l};
  return std::nullopt;
}

inline std::optional<codec_ref> find_codec(codec::codec_id id) {
  if (const auto* l = codec::find_layout(id)) return codec_ref{l->id, l->name, l};
  return std::nullopt;
}

inline bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) noexcept {
  return __builtin_mul_overflow(a, b, &out);
}

struct matrix_dims {
  std::uint64_t rows = 1;
  std::uint64_t cols = 1;
};

// rows x cols of a shape, or an error naming `what` when the element count overflows.
inline result<matrix_dims> dims_of(std::span<const std::uint64_t> shape, const std::string& what) {
  if (shape.size() > max_tensor_rank)
    return make_error(errc::corrupt, what + ": rank " + std::to_string(shape.size()) + " exceeds " + std::to_string(max_tensor_rank));
  matrix_dims d;
  if (shape.size() >= 2) d.rows = shape[0];
  for (std::size_t i = shape.size() >= 2 ? 1 : 0; i < shape.size(); ++i)
    if (mul_overflows(d.cols, shape[i], d.cols)) return make_error(errc::corrupt, what + ": shape element count overflows");
  std::uint64_t total = 0;
  if (mul_overflows(d.rows, d.cols, total) || total > (std::uint64_t(1) << 48))
    return make_error(errc::corrupt, what + ": shape has more than 2^48 elements");
  return d;
}

// Bytes a [rows x cols] tensor must hold in this codec, or nullopt when the blob's own header
// decides (then only validate() can check it).
inline result<std::optional<std::uint64_t>> packed_size(const codec_ref& c, matrix_dims d, const std::string& what) {
  if (d.rows == 0 || d.cols == 0) return std::optional<std::uint64_t>(0);
  if (d.rows > SIZE_MAX || d.cols > SIZE_MAX) return make_error(errc::corrupt, what + ": shape does not fit this machine's size_t");
  // Dense types: rows x cols x element bytes, checked here because their packed_size does not.
  if (c.id == codec::codec_id::f32 || c.id == codec::codec_id::f16 || c.id == codec::codec_id::bf16) {
    std::uint64_t n = 0;
    if (mul_overflows(d.rows * d.cols, c.id == codec::codec_id::f32 ? 4 : 2, n)) return make_error(errc::corrupt, what + ": byte size overflows");
    return std::optional<std::uint64_t>(n);
  }
  auto n = c.layout->packed_size(std::size_t(d.rows), std::size_t(d.cols));
  if (!n) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(*n);
}

// Checks a tensor's bytes: exact size when the codec fixes it, then the codec's own validate().
inline result<void> validate_tensor_bytes(const codec_ref& c, matrix_dims d, std::span<const std::byte> bytes,
                                          const std::string& what) {
  auto want = packed_size(c, d, what);
  if (!want) return std::move(want).err();
  if (*want && **want != bytes.size())
    return make_error(errc::corrupt, what + ": " + std::to_string(bytes.size()) + " bytes, but codec " + std::string(c.name) +
                                         " with this shape needs " + std::to_string(**want));
  if (d.rows > 0 && d.cols > 0) {
    auto v = c.layout->validate(bytes, std::size_t(d.rows), std::size_t(d.cols));
    if (!v) return make_error(v.err().code, what + ": " + v.err().message);
  }
  return {};
}

}  // namespace tqlib::format
