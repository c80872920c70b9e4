#pragma once
// A self-test the wasm engine runs on request (tq_selftest): every check compares what this build
// computes against a known answer or the scalar reference, so a browser can prove that the
// WebAssembly build (SIMD or not, threaded or not) computes what the native one does.
#include <sodium.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tqlib/codec/registry.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/format/hash.hpp"
#include "tqlib/format/signature.hpp"
#include "tqlib/format/zstd.hpp"
#include "tqlib/simd/dispatch.hpp"
#include "tqlib/simd/vector_ops.hpp"

namespace tqlib::wasm {

struct selftest_report {
  int passed = 0;
  int failed = 0;
  std::string json_checks;  // JSON array body: {"name":...,"ok":...,"detail":...},...

  void check(const std::string& name, bool ok, const std::string& detail = {}) {
    (ok ? passed : failed) += 1;
    if (!json_checks.empty()) json_checks += ',';
    json_checks += "{\"name\":\"" + name + "\",\"ok\":" + (ok ? "true" : "false") + ",\"detail\":\"" + detail + "\"}";
  }
};

inline std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  xoshiro256ss rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.uniform() * 2.0 - 1.0);
  return v;
}

inline void selftest_simd(selftest_report& r) {
  for (std::size_t n : {1u, 7u, 16u, 33u, 1000u}) {
    const auto a = random_floats(n, 1 + n), b = random_floats(n, 2 + n);
    const float got = simd::dot(a.data(), b.data(), n), want = simd::dot_ref(a.data(), b.data(), n);
    r.check("simd.dot n=" + std::to_string(n), std::fabs(got - want) <= 1e-4f * (1.0f + std::fabs(want)),
            std::to_string(got) + " vs " + std::to_string(want));
  }
}

inline void selftest_formats(selftest_report& r) {
  // BLAKE2b-256("abc"), RFC 7693 / libsodium crypto_generichash with a 32-byte output.
  const std::string abc = "abc";
  const auto d = format::blake2b(std::as_bytes(std::span(abc.data(), abc.size())));
  const std::string hex = format::to_hex(d);
  r.check("blake2b-256 abc", hex == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319", hex);

  // zstd round trip of a compressible buffer.
  std::vector<std::byte> raw(100000);
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = std::byte((i * 7 / 13) & 0xff);
  auto packed = format::zstd::compress(raw, 3);
  bool zok = bool(packed);
  std::string zdetail = packed ? std::to_string(packed->size()) + " bytes" : packed.err().what();
  if (packed) {
    std::vector<std::byte> back(raw.size());
    auto u = format::zstd::decompress_exact(*packed, back, "selftest");
    zok = u && back == raw;
    if (!u) zdetail = u.err().what();
    // A corrupted frame is refused with an error, never a crash.
    auto bad = *packed;
    bad[bad.size() / 2] ^= std::byte(0x5a);
    bad.resize(bad.size() - 1);
    r.check("zstd refuses a damaged frame", !format::zstd::decompress_exact(bad, back, "selftest"));
  }
  r.check("zstd round trip", zok, zdetail);

  // Ed25519ph sign + verify; a flipped byte or another key must not verify.
  auto kp = format::generate_keypair();
  r.check("ed25519 keypair", bool(kp));
  if (kp) {
    const std::string msg = "tqlib wasm selftest";
    const auto m = std::as_bytes(std::span(msg.data(), msg.size()));
    auto sig = format::sign_pieces({m}, kp->sec);
    r.check("ed25519 sign", bool(sig));
    if (sig) {
      r.check("ed25519 verify", bool(format::verify_pieces({m}, *sig, kp->pub)));
      std::string tampered = msg;
      tampered[0] = 'T';
      r.check("ed25519 rejects tampered message",
              !format::verify_pieces({std::as_bytes(std::span(tampered.data(), tampered.size()))}, *sig, kp->pub));
      auto other = format::generate_keypair();
      r.check("ed25519 rejects another key", other && !format::verify_pieces({m}, *sig, other->pub));
    }
  }
}

// Every registered codec: encode a random matrix, validate it, and hold matvec (this build's
// kernels) to decode_row + a plain dot product.
inline void selftest_codecs(selftest_report& r) {
  const std::size_t rows = 8, cols = 512;
  const auto w = random_floats(rows * cols, 42), x = random_floats(cols, 43);
  for (const auto* c : codec::all_codecs()) {
    const std::string name = "codec." + std::string(c->name);
    auto blob = c->encode(w.data(), rows, cols, codec::encode_options{});
    if (!blob) {
      r.check(name + " encode", false, blob.err().what());
      continue;
    }
    auto v = c->validate(*blob, rows, cols);
    r.check(name + " validate", bool(v), v ? "" : v.err().what());
    if (!v) continue;
    std::vector<float> y(rows), row(cols);
    c->matvec(*blob, rows, cols, x.data(), y.data(), 0, rows);
    double worst = 0;
    for (std::size_t i = 0; i < rows; ++i) {
      c->decode_row(*blob, rows, cols, i, row.data());
      double ref = 0, mag = 0;
      for (std::size_t k = 0; k < cols; ++k) {
        ref += double(row[k]) * double(x[k]);
        mag += std::fabs(double(row[k]) * double(x[k]));
      }
      worst = std::max(worst, std::fabs(double(y[i]) - ref) / (1.0 + mag));
    }
    r.check(name + " matvec vs decode_row", worst < 1e-3, "max rel err " + std::to_string(worst));
  }
}

inline std::string run_selftest() {
  selftest_report r;
  selftest_simd(r);
  selftest_formats(r);
  selftest_codecs(r);
  return "{\"arch\":\"" + std::string(simd::active_arch_name()) + "\",\"passed\":" + std::to_string(r.passed) +
         ",\"failed\":" + std::to_string(r.failed) + ",\"codecs\":" + std::to_string(codec::all_codecs().size()) +
         ",\"checks\":[" + r.json_checks + "]}";
}

}  // namespace tqlib::wasm
