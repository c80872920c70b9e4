#pragma once
// TurboQuant (Zandieh, Daliri, Hadian, Mirrokni, arXiv 2504.19874; seed 001).
//
// 1. Weight codecs turbo1..turbo4 (TurboQuant_mse, Algorithm 1, applied per block of a row): the
//    random rotation is the block-diagonal randomized Hadamard transform (blocks of 256, tails of
//    128/64/32, docs/codecs/hadamard.md); each rotated block is stored as its RMS (= norm /
//    sqrt(n), f16) and b-bit indices into the Lloyd-Max codebook of a coordinate of a random unit
//    vector in R^n (scaled by sqrt(n), lloyd_max::design_sphere), sign plane + (b-1) magnitude
//    planes. b + 1/16 bits/weight for rows of 256k. Layout: codec/sign_magnitude.hpp,
//    docs/codecs/turboquant.md.
// 2. A vector API for KV-cache compression (in memory only, not a codec): TurboQuant_mse over a
//    whole vector, and TurboQuant_prod (Algorithm 2): (b-1)-bit TurboQuant_mse plus a 1-bit QJL
//    sketch of the residual, which makes inner-product estimates unbiased.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tqlib/codec/lloyd_max.hpp"
#include "tqlib/codec/sign_magnitude.hpp"
#include "tqlib/core/rng.hpp"

namespace tqlib::codec {

// Rotation seed of every turbo1..4 file ("TURBOQ" in ASCII).
inline constexpr std::uint64_t turbo_seed = 0x0000'5455'5242'4f51ull;

template <int Bits>
const sm_magnitudes& turbo_magnitudes() {
  static const sm_magnitudes m = [] {
    sm_magnitudes out;
    for (std::size_t s = 0; s < out.by_size.size(); ++s) {
      const auto q = lloyd_max::design_sphere<Bits>(32u << s);  // d = block size 32 .. 256
      constexpr std::size_t half = std::size_t(1) << (Bits - 1);
      for (std::size_t k = 0; k < half; ++k) out.by_size[s][k] = float(q.levels[half + k]);
    }
    return out;
  }();
  return m;
}

template <int Bits>
const sm_format& turbo_format() {
  constexpr const sm_codec_layout& layout = *sm_layout_of(codec_id(int(codec_id::turbo1) + Bits - 1));
  static const sm_format f{layout.id,
                           layout.name.data(),  // a literal: NUL-terminated
                           layout.magnitude_bits,
                           turbo_seed,
                           sm_scale_rule::block_rms,
                           &turbo_magnitudes<Bits>};
  return f;
}

template <int Bits>
const codec_ops& turbo_ops() {
  static const codec_ops ops{
      turbo_format<Bits>().id,
      turbo_format<Bits>().name,
      [](std::size_t rows, std::size_t cols) { return sm_packed_size(turbo_format<Bits>().magnitude_bits, rows, cols); },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
        return sm_validate(turbo_format<Bits>(), blob, rows, cols);
      },
      [](const float* w, std::size_t rows, std::size_t cols, const encode_options&) {
        return sm_encode(turbo_format<Bits>(), w, rows, cols);
      },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, std::size_t row, float* out) {
        sm_decode_row(turbo_format<Bits>(), blob, rows, cols, row, out);
      },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* x, float* y, std::size_t r0,
         std::size_t r1) { sm_matvec(turbo_format<Bits>(), blob, rows, cols, x, y, r0, r1); },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* X, std::size_t T, float* Y,
         std::size_t r0, std::size_t r1) { sm_matmul(turbo_format<Bits>(), blob, rows, cols, X, T, Y, r0, r1); },
      [](std::span<const std::byte> blob, std::size_t rows, std::size_t cols) {
        return rows != 0 && cols != 0 ? 8.0 * double(blob.size()) / double(rows * cols) : 0.0;
      },
  };
  return ops;
}

inline const codec_ops& turbo1_ops() { return turbo_ops<1>(); }
inline const codec_ops& turbo2_ops() { return turbo_ops<2>(); }
inline const codec_ops& turbo3_ops() { return turbo_ops<3>(); }
inline const codec_ops& turbo4_ops() { return turbo_ops<4>(); }

// --- vector API (KV cache) -------------------------------------------------------------------
// TurboQuant_mse of vectors of dimension d (a power of two, 32 .. 4096) with one randomized
// Hadamard rotation over the whole vector and the b-bit codebook for dimension d.
class turbo_mse_vector_quantizer {
 public:
  struct code {
    float norm = 0;                   // ||x||
    std::vector<std::uint8_t> index;  // codebook index per rotated coordinate
  };

  turbo_mse_vector_quantizer(std::size_t d, int bits, std::uint64_t seed)
      : d_(d), bits_(bits), signs_(rht_sign_words(seed, 0, d)), levels_(design_levels(d, bits)) {}

  std::size_t dim() const noexcept { return d_; }
  int bits() const noexcept { return bits_; }

  code encode(const float* x) const {
    code c;
    std::vector<float> z(d_);
    c.index.assign(d_, 0);
    c.norm = encode_to(x, z.data(), c.index.data());
    return c;
  }

  // encode() without allocating, for callers that store codes their own way (the KV cache packs
  // them): rotates x into scratch[d], writes d indices, returns ||x||. All indices are 0 when the
  // norm is 0 or bits is 0.
  float encode_to(const float* x, float* scratch, std::uint8_t* index) const {
    double n2 = 0;
    for (std::size_t i = 0; i < d_; ++i) n2 += double(x[i]) * x[i];
    const float norm = float(std::sqrt(n2));
    std::fill(index, index + d_, std::uint8_t(0));
    if (bits_ == 0 || norm == 0) return norm;
    std::copy(x, x + d_, scratch);
    rht_forward(scratch, d_, signs_.data());
    const float to_unit = float(std::sqrt(double(d_))) / norm;  // codebook is in units of 1/sqrt(d)
    for (std::size_t i = 0; i < d_; ++i) {
      const float y = scratch[i] * to_unit;
      std::uint8_t k = 0;
      while (k + 1u < levels_.size() && y > 0.5f * (levels_[k] + levels_[k + 1u])) ++k;
      index[i] = k;
    }
    return norm;
  }

  // The pieces decode() uses, so that a consumer can work in the rotated domain (attention
  // scores against a rotated query) without decoding: coordinate i of R x is
  // norm / sqrt(d) * levels()[index[i]], and R = H D with D from sign_words() (rht_forward).
  const std::vector<float>& levels() const noexcept { return levels_; }
  const std::vector<std::uint64_t>& sign_words() const noexcept { return signs_; }

  void decode(const code& c, float* out) const {
    if (bits_ == 0) return std::fill(out, out + d_, 0.f);
    const float scale = c.norm / float(std::sqrt(double(d_)));
    for (std::size_t i = 0; i < d_; ++i) out[i] = scale * levels_[c.index[i]];
    rht_inverse(out, d_, signs_.data());
  }

 private:
  static std::vector<float> design_levels(std::size_t d, int bits) {
    std::vector<float> out;
    auto take = [&](const auto& q) { out.assign(q.levels.begin(), q.levels.end()); };
    const auto dd = unsigned(d);
    switch (bits) {
      case 1: take(lloyd_max::design_sphere<1>(dd)); break;
      case 2: take(lloyd_max::design_sphere<2>(dd)); break;
      case 3: take(lloyd_max::design_sphere<3>(dd)); break;
      case 4: take(lloyd_max::design_sphere<4>(dd)); break;
      default: break;  // 0 bits: everything decodes to 0 (TurboQuant_prod at b = 1)
    }
    return out;
  }

  std::size_t d_;
  int bits_;
  std::vector<std::uint64_t> signs_;
  std::vector<float> levels_;
};

// TurboQuant_prod (Algorithm 2) at b bits: (b-1)-bit TurboQuant_mse, then the residual
// r = x - mse_decode(x) is sketched by QJL: qjl = sign(S r) with S a d x d matrix of i.i.d. N(0, 1)
// and gamma = ||r||. Since E[sign(<s, r>) s] = sqrt(2/pi) r / ||r|| for s ~ N(0, I),
// x~ = mse_decode(x) + sqrt(pi/2) / d * gamma * S^T qjl is unbiased, and so is <y, x~> for any y.
// S is drawn from the seed with Box-Muller; it lives in memory only (KV cache), never in files.
class turbo_prod_vector_quantizer {
 public:
  struct code {
    turbo_mse_vector_quantizer::code mse;
    float residual_norm = 0;
    std::vector<std::uint64_t> qjl;  // bit i set iff <S_i, r> >= 0
  };

  turbo_prod_vector_quantizer(std::size_t d, int bits, std::uint64_t seed)
      : mse_(d, bits - 1, seed), s_(d * d) {
    xoshiro256ss g(seed ^ 0x514a4c00ull);  // "QJL"
    for (auto& v : s_) v = float(g.normal());
  }

  std::size_t dim() const noexcept { return mse_.dim(); }

  code encode(const float* x) const {
    const std::size_t d = dim();
    code c;
    c.mse = mse_.encode(x);
    std::vector<float> r(d);
    mse_.decode(c.mse, r.data());
    double n2 = 0;
    for (std::size_t i = 0; i < d; ++i) r[i] = x[i] - r[i], n2 += double(r[i]) * r[i];
    c.residual_norm = float(std::sqrt(n2));
    c.qjl.assign((d + 63) / 64, 0);
    for (std::size_t i = 0; i < d; ++i)
      if (simd::dot(&s_[i * d], r.data(), d) >= 0) c.qjl[i / 64] |= 1ull << (i % 64);
    return c;
  }

  // Unbiased estimate of <y, x> from x's code: <y, mse part> + sqrt(pi/2)/d * gamma * <S y, qjl>.
  float inner_product(const code& c, const float* y) const {
    const std::size_t d = dim();
    std::vector<float> xm(d);
    mse_.decode(c.mse, xm.data());
    double sketch = 0;
    for (std::size_t i = 0; i < d; ++i) {
      const float sy = simd::dot(&s_[i * d], y, d);
      sketch += ((c.qjl[i / 64] >> (i % 64)) & 1u) ? sy : -sy;
    }
    constexpr double sqrt_half_pi = 1.2533141373155002512;
    return float(double(simd::dot(xm.data(), y, d)) + sqrt_half_pi / double(d) * c.residual_norm * sketch);
  }

 private:
  turbo_mse_vector_quantizer mse_;
  std::vector<float> s_;  // row-major d x d
};

}  // namespace tqlib::codec
