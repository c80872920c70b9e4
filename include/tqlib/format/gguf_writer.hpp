#pragma once
// GGUF v3 writer (little-endian): metadata of every value type, nested arrays included, and
// tensors at aligned offsets, laid out as llama.cpp's own writer does so that llama.cpp loads the
// file: tensors packed in the order they were added, each padded with zeros to general.alignment
// (the last one too), tensor names shorter than GGML_MAX_NAME (64 bytes). Format: ggml's
// docs/gguf.md (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md); the reader is gguf.hpp.
//
//   gguf::writer w;
//   w.add_string("general.architecture", "qwen2");
//   w.add_u32("qwen2.block_count", 24);
//   w.add_array("tokenizer.ggml.tokens", gguf::string_array(tokens));
//   w.add_tensor("token_embd.weight", codec::codec_id::q8, {rows, cols}, bytes);
//   w.write("model.gguf");   // atomically: a temporary file renamed over the target
//
// Tensor bytes are referenced, not copied: they must outlive build() / write().
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/core/bytes.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/format/atomic_file.hpp"
#include "tqlib/format/gguf.hpp"

namespace tqlib::format::gguf {

inline constexpr std::size_t max_tensor_name_bytes = 63;  // GGML_MAX_NAME (64) with its terminator

// An array value, already encoded (element type, count, elements), so that arrays can nest.
struct array_value {
  value_type elem = value_type::u8;
  std::uint64_t count = 0;
  std::vector<std::byte> bytes;  // the elements' encoding
};

namespace detail {
template <class T>
inline constexpr value_type value_type_of() {
  if constexpr (std::is_same_v<T, std::uint8_t>) return value_type::u8;
  else if constexpr (std::is_same_v<T, std::int8_t>) return value_type::i8;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return value_type::u16;
  else if constexpr (std::is_same_v<T, std::int16_t>) return value_type::i16;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return value_type::u32;
  else if constexpr (std::is_same_v<T, std::int32_t>) return value_type::i32;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return value_type::u64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return value_type::i64;
  else if constexpr (std::is_same_v<T, float>) return value_type::f32;
  else if constexpr (std::is_same_v<T, double>) return value_type::f64;
  else static_assert(sizeof(T) == 0, "not a GGUF number type");
}

template <class T>
inline void put(std::vector<std::byte>& out, T v) {
  std::byte tmp[sizeof(T)];
  store_le<T>(tmp, v);
  out.insert(out.end(), tmp, tmp + sizeof(T));
}

inline void put_string(std::vector<std::byte>& out, std::string_view s) {
  put<std::uint64_t>(out, s.size());
  const auto b = as_bytes_of(s);
  out.insert(out.end(), b.begin(), b.end());
}
}  // namespace detail

template <class T>
array_value number_array(std::span<const T> v) {
  array_value a{detail::value_type_of<T>(), v.size(), {}};
  a.bytes.reserve(v.size() * sizeof(T));
  for (T x : v) detail::put<T>(a.bytes, x);
  return a;
}
template <class T>
array_value number_array(const std::vector<T>& v) {
  return number_array(std::span<const T>(v));
}

inline array_value bool_array(std::span<const bool> v) {
  array_value a{value_type::boolean, v.size(), {}};
  for (bool x : v) a.bytes.push_back(std::byte(x ? 1 : 0));
  return a;
}

template <class S>  // std::string or std::string_view
array_value string_array(std::span<const S> v) {
  array_value a{value_type::string, v.size(), {}};
  for (const auto& s : v) detail::put_string(a.bytes, s);
  return a;
}
template <class S>
array_value string_array(const std::vector<S>& v) {
  return string_array(std::span<const S>(v));
}

inline array_value nested_array(std::span<const array_value> v) {
  array_value a{value_type::array, v.size(), {}};
  for (const auto& e : v) {
    detail::put<std::uint32_t>(a.bytes, std::uint32_t(e.elem));
    detail::put<std::uint64_t>(a.bytes, e.count);
    a.bytes.insert(a.bytes.end(), e.bytes.begin(), e.bytes.end());
  }
  return a;
}

class writer {
 public:
  explicit writer(std::uint32_t alignment = default_alignment) : alignment_(alignment) {}

  writer& add_u8(std::string key, std::uint8_t v) { return add_number(std::move(key), v); }
  writer& add_i8(std::string key, std::int8_t v) { return add_number(std::move(key), v); }
  writer& add_u16(std::string key, std::uint16_t v) { return add_number(std::move(key), v); }
  writer& add_i16(std::string key, std::int16_t v) { return add_number(std::move(key), v); }
  writer& add_u32(std::string key, std::uint32_t v) { return add_number(std::move(key), v); }
  writer& add_i32(std::string key, std::int32_t v) { return add_number(std::move(key), v); }
  writer& add_u64(std::string key, std::uint64_t v) { return add_number(std::move(key), v); }
  writer& add_i64(std::string key, std::int64_t v) { return add_number(std::move(key), v); }
  writer& add_f32(std::string key, float v) { return add_number(std::move(key), v); }
  writer& add_f64(std::string key, double v) { return add_number(std::move(key), v); }
  writer& add_bool(std::string key, bool v) {
    std::vector<std::byte> b{std::byte(v ? 1 : 0)};
    return add_raw(std::move(key), value_type::boolean, std::move(b));
  }
  writer& add_string(std::string key, std::string_view v) {
    std::vector<std::byte> b;
    detail::put_string(b, v);
    return add_raw(std::move(key), value_type::string, std::move(b));
  }
  writer& add_array(std::string key, const array_value& a) {
    std::vector<std::byte> b;
    detail::put<std::uint32_t>(b, std::uint32_t(a.elem));
    detail::put<std::uint64_t>(b, a.count);
    b.insert(b.end(), a.bytes.begin(), a.bytes.end());
    return add_raw(std::move(key), value_type::array, std::move(b));
  }

  // A tensor of ggml type `type` with ggml dimensions ne (ne[0] innermost), its bytes as ggml
  // lays them out.
  writer& add_tensor(std::string name, const ggml_type_info& type, std::vector<std::uint64_t> ne, std::span<const std::byte> bytes) {
    if (!error_) error_ = check_tensor(name, type, ne, bytes);
    tensors_.push_back({std::move(name), &type, std::move(ne), bytes});
    return *this;
  }
  // A tensor in a tqlib codec whose bytes are ggml blocks (F32, F16, BF16, Q8_0, Q4_0, TQ1_0,
  // TQ2_0), shape in PyTorch order (outermost first), as tensor_view and MV2 hold it.
  writer& add_tensor(std::string name, codec::codec_id c, const std::vector<std::size_t>& shape, std::span<const std::byte> bytes) {
    const auto* t = ggml_type_of(c);
    if (!t) {
      auto ref = find_codec(c);
      fail(errc::unsupported, "tensor '" + name + "': codec " + std::string(ref ? ref->name : "?") + " has no GGUF (ggml) type");
      return *this;
    }
    return add_tensor(std::move(name), *t, std::vector<std::uint64_t>(shape.rbegin(), shape.rend()), bytes);
  }

  // Everything before the data section (header, metadata, tensor infos, padding).
  result<std::vector<std::byte>> head() const {
    if (error_) return *error_;
    if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0)
      return make_error(errc::invalid_argument, "GGUF alignment " + std::to_string(alignment_) + " is not a power of two");
    std::vector<std::byte> out;
    out.insert(out.end(), {std::byte('G'), std::byte('G'), std::byte('U'), std::byte('F')});
    detail::put<std::uint32_t>(out, 3);
    detail::put<std::uint64_t>(out, tensors_.size());
    detail::put<std::uint64_t>(out, kvs_.size() + (alignment_ != default_alignment ? 1 : 0));
    if (alignment_ != default_alignment) {
      detail::put_string(out, "general.alignment");
      detail::put<std::uint32_t>(out, std::uint32_t(value_type::u32));
      detail::put<std::uint32_t>(out, alignment_);
    }
    for (const auto& e : kvs_) {
      detail::put_string(out, e.key);
      detail::put<std::uint32_t>(out, std::uint32_t(e.type));
      out.insert(out.end(), e.bytes.begin(), e.bytes.end());
    }
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
      detail::put_string(out, t.name);
      detail::put<std::uint32_t>(out, std::uint32_t(t.ne.size()));
      for (auto d : t.ne) detail::put<std::uint64_t>(out, d);
      detail::put<std::uint32_t>(out, t.type->id);
      detail::put<std::uint64_t>(out, offset);
      offset += padded(t.bytes.size());
    }
    out.resize(std::size_t(padded(out.size())));
    return out;
  }

  result<std::vector<std::byte>> build() const {
    auto out = head();
    if (!out) return out;
    for (const auto& t : tensors_) {
      out->insert(out->end(), t.bytes.begin(), t.bytes.end());
      out->resize(std::size_t(padded(out->size())));
    }
    return out;
  }

  // Streams the file to `path` through a temporary file renamed over it (tensor bytes are not
  // gathered in memory first).
  result<void> write(const std::string& path) const {
    auto h = head();
    if (!h) return std::move(h).err();
    auto f = atomic_file::create(path);
    if (!f) return std::move(f).err();
    TQLIB_TRY(f->write(*h));
    const std::vector<std::byte> zeros(alignment_);
    for (const auto& t : tensors_) {
      TQLIB_TRY(f->write(t.bytes));
      TQLIB_TRY(f->write(std::span(zeros).first(std::size_t(padded(t.bytes.size()) - t.bytes.size()))));
    }
    return f->commit();
  }

 private:
  struct entry {
    std::string key;
    value_type type;
    std::vector<std::byte> bytes;  // the value's encoding after its type field
  };
  struct tensor_entry {
    std::string name;
    const ggml_type_info* type;
    std::vector<std::uint64_t> ne;
    std::span<const std::byte> bytes;
  };

  std::uint64_t padded(std::uint64_t n) const { return (n + alignment_ - 1) / alignment_ * alignment_; }

  void fail(errc code, std::string msg) {
    if (!error_) error_ = make_error(code, std::move(msg));
  }

  template <class T>
  writer& add_number(std::string key, T v) {
    std::vector<std::byte> b;
    detail::put<T>(b, v);
    return add_raw(std::move(key), detail::value_type_of<T>(), std::move(b));
  }

  writer& add_raw(std::string key, value_type t, std::vector<std::byte> bytes) {
    if (key.empty() || key.size() > max_key_bytes || !tokenizer::utf8::is_valid(key))
      fail(errc::invalid_argument, "GGUF key '" + key + "' must be 1..65535 bytes of UTF-8");
    if (key == "general.alignment")
      fail(errc::invalid_argument, "general.alignment is set by the writer's constructor, not as metadata");
    if (!keys_.insert(key).second) fail(errc::invalid_argument, "duplicate GGUF key '" + key + "'");
    kvs_.push_back({std::move(key), t, std::move(bytes)});
    return *this;
  }

  std::optional<error> check_tensor(const std::string& name, const ggml_type_info& type, const std::vector<std::uint64_t>& ne,
                                    std::span<const std::byte> bytes) {
    const std::string where = "tensor '" + name + "'";
    if (name.empty() || name.size() > max_tensor_name_bytes || !tokenizer::utf8::is_valid(name))
      return make_error(errc::invalid_argument, where + ": names must be 1..63 bytes of UTF-8 (llama.cpp's limit)");
    if (!names_.insert(name).second) return make_error(errc::invalid_argument, "duplicate GGUF tensor name '" + name + "'");
    if (ne.size() > max_dims) return make_error(errc::invalid_argument, where + ": more than 4 dimensions");
    std::uint64_t n = 1;
    for (auto d : ne)
      if (d > std::uint64_t(INT64_MAX) || mul_overflows(n, d, n) || n > std::uint64_t(INT64_MAX))
        return make_error(errc::invalid_argument, where + ": element count overflows");
    const std::uint64_t ne0 = ne.empty() ? 1 : ne[0];
    if (ne0 % type.block_size != 0)
      return make_error(errc::invalid_argument, where + ": ne[0] = " + std::to_string(ne0) + " is not a multiple of the " +
                                                    std::string(type.name) + " block size " + std::to_string(type.block_size));
    std::uint64_t size = 0;
    if (mul_overflows(n / type.block_size, type.type_size, size) || size != bytes.size())
      return make_error(errc::invalid_argument, where + ": " + std::to_string(bytes.size()) + " bytes, but " + std::string(type.name) +
                                                    " with this shape needs " + std::to_string(size));
    return std::nullopt;
  }

  std::uint32_t alignment_;
  std::vector<entry> kvs_;
  std::set<std::string, std::less<>> keys_;
  std::vector<tensor_entry> tensors_;
  std::set<std::string, std::less<>> names_;
  std::optional<error> error_;
};

}  // namespace tqlib::format::gguf
