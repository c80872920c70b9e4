#pragma once
// Little-endian loads and stores and a bounds-checked cursor over untrusted bytes. Every format
// reader goes through these, so a short buffer is reported as `truncated` naming the field,
// never read past.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tqlib/core/result.hpp"

namespace tqlib {

template <class T>
inline T load_le(const std::byte* p) noexcept {
  static_assert(std::is_trivially_copyable_v<T>);
  T v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
    auto* b = reinterpret_cast<unsigned char*>(&v);
    for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  }
  return v;
}

template <class T>
inline void store_le(std::byte* p, T v) noexcept {
  static_assert(std::is_trivially_copyable_v<T>);
  if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
    auto* b = reinterpret_cast<unsigned char*>(&v);
    for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  }
  std::memcpy(p, &v, sizeof(T));
}

// Reads fields in order from a span, failing with the field's name when the span is too short.
class byte_reader {
 public:
  explicit byte_reader(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

  std::size_t offset() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  std::span<const std::byte> bytes() const noexcept { return bytes_; }

  template <class T>
  result<T> read(std::string_view field) {
    if (remaining() < sizeof(T)) return short_read(field, sizeof(T));
    T v = load_le<T>(bytes_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }

  result<std::span<const std::byte>> take(std::size_t n, std::string_view field) {
    if (remaining() < n) return short_read(field, n);
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  error short_read(std::string_view field, std::size_t need) const {
    return make_error(errc::truncated, std::string(field) + " needs " + std::to_string(need) + " bytes at offset " +
                                           std::to_string(pos_) + ", only " + std::to_string(remaining()) + " left");
  }
  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
};

inline std::span<const std::byte> as_bytes_of(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace tqlib
