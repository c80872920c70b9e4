#pragma once
// A self-test the wasm engine runs on request (tq_selftest): every check compares what this build
// computes against a known answer or the scalar reference, so a browser can prove that the
// WebAssembly build (SIMD or not, threaded or not) computes what the native one does.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
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

// The sign-magnitude codecs' matvec rounds activations and levels to int8 on integer builds
// (codec/sign_magnitude.hpp): it must equal the reference of that arithmetic (float builds: the
// float reference) up to float rounding, and decode_row + a dot product within its error bound.
inline void selftest_sign_magnitude(selftest_report& r, const std::string& name, const codec::sm_format& f,
                                    std::span<const std::byte> blob, std::size_t rows, std::size_t cols,
                                    const std::vector<float>& x, const std::vector<float>& y,
                                    const std::vector<double>& decoded_dot, const std::vector<double>& mag) {
  const bool integer = simd::dispatch<codec::sign_magnitude_kernels>([](auto k) { return decltype(k)::integer_matvec(); });
  const auto& plan = codec::sm_cached_plan(f, cols);
  std::vector<float> xr(plan.padded_cols);
  codec::sm_rotate_activation(plan, x.data(), xr.data());
  double worst_ref = 0, worst_bound = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    const std::byte* row = blob.data() + i * plan.row_bytes;
    const double exact = integer ? codec::sm_dot_row_integer_ref(row, plan, f.magnitude_bits, xr.data())
                                 : codec::sm_dot_row_ref(row, plan, f.magnitude_bits, xr.data());
    worst_ref = std::max(worst_ref, std::fabs(double(y[i]) - exact) / (1.0 + mag[i]));
    // the bound, plus the float rotation's error (~1e-4 of sum |w x|)
    const double bound = codec::sm_integer_error_bound(row, plan, f.magnitude_bits, xr.data()) + 1e-4 * (1.0 + mag[i]);
    worst_bound = std::max(worst_bound, std::fabs(double(y[i]) - decoded_dot[i]) / bound);
  }
  r.check(name + (integer ? " matvec vs int8 reference" : " matvec vs float reference"), worst_ref < 1e-5,
          "max rel err " + std::to_string(worst_ref));
  r.check(name + " matvec vs decode_row", worst_bound <= 1, "max error / bound " + std::to_string(worst_bound));
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
    std::vector<double> ref(rows), mag(rows);
    for (std::size_t i = 0; i < rows; ++i) {
      c->decode_row(*blob, rows, cols, i, row.data());
      for (std::size_t k = 0; k < cols; ++k) {
        ref[i] += double(row[k]) * double(x[k]);
        mag[i] += std::fabs(double(row[k]) * double(x[k]));
      }
      worst = std::max(worst, std::fabs(double(y[i]) - ref[i]) / (1.0 + mag[i]));
    }
    if (const codec::sm_format* f = codec::sign_magnitude_format(c->id))
      selftest_sign_magnitude(r, name, *f, *blob, rows, cols, x, y, ref, mag);
    else
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
