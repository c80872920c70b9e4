#pragma once
// Ed25519 signatures for MV2 files (libsodium). The message is the whole file with the 64-byte
// signature field zeroed; it is hashed in pieces with Ed25519ph (RFC 8032 §5.1, SHA-512
// pre-hash; libsodium's crypto_sign_init/update/final_*), so a read-only memory map is signed or
// verified in one pass without a writable copy. See docs/mv2.md §Signature.
//
// Key files are text: a tag line, then hex, then a newline.
//   PREFIX.pub  "tqlib-ed25519-public-key-v1\n" + 64 hex digits (32-byte public key) + "\n"
//   PREFIX.key  "tqlib-ed25519-secret-key-v1\n" + 128 hex digits (libsodium's 64-byte secret key:
//               seed then public key) + "\n", mode 0600
// A public key found inside a file proves nothing; verification only ever uses keys the caller
// trusts (read from its own .pub files).
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "tqlib/core/result.hpp"
#include "tqlib/format/atomic_file.hpp"
#include "tqlib/format/hash.hpp"
#include "tqlib/format/mapped_file.hpp"

namespace tqlib::format {

using public_key = std::array<std::byte, crypto_sign_PUBLICKEYBYTES>;
using secret_key = std::array<std::byte, crypto_sign_SECRETKEYBYTES>;
using signature_bytes = std::array<std::byte, crypto_sign_BYTES>;

inline constexpr std::string_view public_key_tag = "tqlib-ed25519-public-key-v1";
inline constexpr std::string_view secret_key_tag = "tqlib-ed25519-secret-key-v1";

inline result<void> sodium_ready() {
  static const int rc = sodium_init();  // thread-safe, idempotent
  if (rc < 0) return make_error(errc::unsupported, "libsodium failed to initialise");
  return {};
}

struct keypair {
  public_key pub{};
  secret_key sec{};
};

inline result<keypair> generate_keypair() {
  TQLIB_TRY(sodium_ready());
  keypair kp;
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(kp.pub.data()), reinterpret_cast<unsigned char*>(kp.sec.data()));
  return kp;
}

// The public key derived from the secret seed (libsodium's sk_to_pk only copies the stored half).
inline public_key public_of(const secret_key& sk) {
  (void)sodium_ready();
  unsigned char seed[crypto_sign_SEEDBYTES];
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char full[crypto_sign_SECRETKEYBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, reinterpret_cast<const unsigned char*>(sk.data()));
  crypto_sign_seed_keypair(pk, full, seed);
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(full, sizeof full);
  public_key out{};
  std::memcpy(out.data(), pk, out.size());
  return out;
}

// Ed25519ph over the concatenation of `pieces`.
inline result<signature_bytes> sign_pieces(std::initializer_list<std::span<const std::byte>> pieces, const secret_key& sk) {
  TQLIB_TRY(sodium_ready());
  crypto_sign_state st;
  crypto_sign_init(&st);
  for (auto p : pieces) crypto_sign_update(&st, reinterpret_cast<const unsigned char*>(p.data()), p.size());
  signature_bytes sig{};
  crypto_sign_final_create(&st, reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                           reinterpret_cast<const unsigned char*>(sk.data()));
  return sig;
}

inline result<void> verify_pieces(std::initializer_list<std::span<const std::byte>> pieces, const signature_bytes& sig,
                                  const public_key& pk) {
  TQLIB_TRY(sodium_ready());
  crypto_sign_state st;
  crypto_sign_init(&st);
  for (auto p : pieces) crypto_sign_update(&st, reinterpret_cast<const unsigned char*>(p.data()), p.size());
  if (crypto_sign_final_verify(&st, reinterpret_cast<const unsigned char*>(sig.data()),
                               reinterpret_cast<const unsigned char*>(pk.data())) != 0)
    return make_error(errc::signature, "Ed25519 signature does not verify with public key " + to_hex(pk).substr(0, 16) + "...");
  return {};
}

// --- key files ---

template <std::size_t N>
inline std::string encode_key_text(std::string_view tag, const std::array<std::byte, N>& k) {
  return std::string(tag) + "\n" + to_hex(k) + "\n";
}

template <std::size_t N>
inline result<std::array<std::byte, N>> parse_key_text(std::string_view text, std::string_view tag, const std::string& what) {
  std::array<std::byte, N> k{};
  const std::string head = std::string(tag) + "\n";
  if (text.substr(0, head.size()) != head)
    return make_error(errc::corrupt, what + ": first line is not '" + std::string(tag) + "'");
  std::string_view hex = text.substr(head.size());
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.remove_suffix(1);
  if (!from_hex(hex, k))
    return make_error(errc::corrupt, what + ": expected " + std::to_string(2 * N) + " hex digits on the second line");
  return k;
}

inline std::string encode_public_key(const public_key& k) { return encode_key_text(public_key_tag, k); }
inline std::string encode_secret_key(const secret_key& k) { return encode_key_text(secret_key_tag, k); }
inline result<public_key> parse_public_key(std::string_view text, const std::string& what = "public key") {
  return parse_key_text<crypto_sign_PUBLICKEYBYTES>(text, public_key_tag, what);
}
inline result<secret_key> parse_secret_key(std::string_view text, const std::string& what = "secret key") {
  auto k = parse_key_text<crypto_sign_SECRETKEYBYTES>(text, secret_key_tag, what);
  if (!k) return k;
  // The stored public half must match the seed, or signatures would not verify under it.
  const public_key derived = public_of(*k);
  if (!std::equal(derived.begin(), derived.end(), k->begin() + 32))
    return make_error(errc::corrupt, what + ": the public half does not match the secret seed");
  return k;
}

// Writes PREFIX.pub and PREFIX.key, refusing to replace either if it exists.
inline result<void> save_keypair(const std::string& prefix, const keypair& kp) {
  const std::string pub = encode_public_key(kp.pub), sec = encode_secret_key(kp.sec);
  const std::string pub_path = prefix + ".pub", key_path = prefix + ".key";
  {
    auto probe = mapped_file::open(pub_path);
    if (probe) return make_error(errc::invalid_argument, pub_path + " already exists; refusing to overwrite it");
  }
  TQLIB_TRY(write_file_atomic(key_path, as_bytes_of(sec), overwrite::refuse, 0600));
  if (auto r = write_file_atomic(pub_path, as_bytes_of(pub), overwrite::refuse); !r) {
    std::remove(key_path.c_str());  // we created it just now: leave no half pair
    return r;
  }
  return {};
}

inline result<std::string> read_small_text(const std::string& path, std::size_t max_bytes = 1 << 16) {
  auto m = mapped_file::open(path);
  if (!m) return std::move(m).err();
  if (m->size() > max_bytes) return make_error(errc::corrupt, path + " is larger than a key file can be");
  return std::string(reinterpret_cast<const char*>(m->bytes().data()), m->size());
}

inline result<public_key> load_public_key(const std::string& path) {
  auto t = read_small_text(path);
  if (!t) return std::move(t).err();
  return parse_public_key(*t, path);
}

inline result<secret_key> load_secret_key(const std::string& path) {
  auto t = read_small_text(path);
  if (!t) return std::move(t).err();
  return parse_secret_key(*t, path);
}

}  // namespace tqlib::format
