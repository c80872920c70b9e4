#pragma once
// "shape x codec = size": how many bytes a tensor of a given codec and shape must hold, and the
// codec's own validation of those bytes. Codecs come from codec/registry.hpp; the three dense
// float types are also known here so that formats read plain weights before any quantized codec
// is registered. Shapes are PyTorch order; a tensor is encoded as rows = shape[0] and cols = the
// product of the rest (1-D and 0-D tensors are one row).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/core/result.hpp"

namespace tqlib::format {

inline constexpr std::size_t max_tensor_rank = 8;

struct codec_ref {
  codec::codec_id id;
  std::string_view name;
  const codec::codec_ops* ops;  // null for a dense type no codec header registered
};

namespace detail {
struct dense_codec {
  codec::codec_id id;
  std::string_view name;
  std::size_t bytes;
};
inline constexpr dense_codec dense_codecs[] = {
    {codec::codec_id::f32, "f32", 4}, {codec::codec_id::f16, "f16", 2}, {codec::codec_id::bf16, "bf16", 2}};
}  // namespace detail

inline std::optional<codec_ref> find_codec(std::string_view name) {
  if (const auto* ops = codec::find(name)) return codec_ref{ops->id, ops->name, ops};
  for (const auto& d : detail::dense_codecs)
    if (d.name == name) return codec_ref{d.id, d.name, nullptr};
  return std::nullopt;
}

inline std::optional<codec_ref> find_codec(codec::codec_id id) {
  if (const auto* ops = codec::find(id)) return codec_ref{ops->id, ops->name, ops};
  for (const auto& d : detail::dense_codecs)
    if (d.id == id) return codec_ref{d.id, d.name, nullptr};
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
  if (c.ops) {
    if (d.rows == 0 || d.cols == 0) return std::optional<std::uint64_t>(0);
    auto n = c.ops->packed_size(std::size_t(d.rows), std::size_t(d.cols));
    if (!n) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(*n);
  }
  for (const auto& dc : detail::dense_codecs) {
    if (dc.id != c.id) continue;
    std::uint64_t n = 0;
    if (mul_overflows(d.rows * d.cols, dc.bytes, n)) return make_error(errc::corrupt, what + ": byte size overflows");
    return std::optional<std::uint64_t>(n);
  }
  return make_error(errc::unsupported, what + ": codec " + std::string(c.name) + " is not available in this build");
}

// Checks a tensor's bytes: exact size when the codec fixes it, then the codec's own validate().
inline result<void> validate_tensor_bytes(const codec_ref& c, matrix_dims d, std::span<const std::byte> bytes,
                                          const std::string& what) {
  auto want = packed_size(c, d, what);
  if (!want) return std::move(want).err();
  if (*want && **want != bytes.size())
    return make_error(errc::corrupt, what + ": " + std::to_string(bytes.size()) + " bytes, but codec " + std::string(c.name) +
                                         " with this shape needs " + std::to_string(**want));
  if (c.ops && d.rows > 0 && d.cols > 0) {
    auto v = c.ops->validate(bytes, std::size_t(d.rows), std::size_t(d.cols));
    if (!v) return make_error(v.err().code, what + ": " + v.err().message);
  }
  return {};
}

}  // namespace tqlib::format
