#pragma once
// BLAKE2b-256 (RFC 7693, libsodium's crypto_generichash) for MV2 tensor checksums and the base
// file a delta patch names, and hex text for JSON. Chosen over xxhash because it is already a
// dependency (libsodium), runs ~1 GB/s on one core, and is collision resistant: a delta patch
// trusts a base by its hash, which a non-cryptographic checksum could not support.
#include <sodium.h>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tqlib::format {

using digest256 = std::array<std::byte, 32>;

class blake2b_256 {
 public:
  blake2b_256() noexcept { crypto_generichash_init(&st_, nullptr, 0, 32); }
  void update(std::span<const std::byte> b) noexcept {
    crypto_generichash_update(&st_, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  }
  digest256 final() noexcept {
    digest256 d{};
    crypto_generichash_final(&st_, reinterpret_cast<unsigned char*>(d.data()), d.size());
    return d;
  }

 private:
  crypto_generichash_state st_{};
};

inline digest256 blake2b(std::span<const std::byte> b) noexcept {
  blake2b_256 h;
  h.update(b);
  return h.final();
}

inline std::string to_hex(std::span<const std::byte> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (auto x : b) {
    const auto v = std::to_integer<unsigned>(x);
    s += digits[v >> 4];
    s += digits[v & 15];
  }
  return s;
}

// Lower- or upper-case hex of exactly out.size() bytes; false on any other text.
inline bool from_hex(std::string_view s, std::span<std::byte> out) noexcept {
  if (s.size() != out.size() * 2) return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nib(s[2 * i]), lo = nib(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = std::byte(hi * 16 + lo);
  }
  return true;
}

inline std::optional<digest256> digest_from_hex(std::string_view s) noexcept {
  digest256 d{};
  if (!from_hex(s, d)) return std::nullopt;
  return d;
}

}  // namespace tqlib::format
