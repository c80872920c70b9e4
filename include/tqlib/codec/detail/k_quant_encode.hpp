#pragma once
// Encoders of ggml's K-quant super-blocks (layouts: k_quant_layout.hpp). ggml's reference
// quantizers (ggml-quants.c quantize_row_q4_K_ref and friends) fit each 32- or 16-block's scale
// (and min) by a weighted search; tqlib's own fit below searches a few candidate scales per block,
// refits each by least squares on its codes and keeps the smallest squared error, then rounds the
// block scales to the super-block's 6- or 8-bit grid and re-derives the codes from the rounded
// scales. Any encoder's blocks decode the same way; what differs is only which codes are chosen.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "tqlib/codec/detail/k_quant_layout.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"

namespace tqlib::codec::detail {

inline int nearest_int(float v) { return int(std::lround(v)); }

// w ~ scale * c - min, c in 0..top, min >= 0 (so that 0 is never further than a step away).
struct k_scale_min_fit {
  float scale = 0.f, min = 0.f;
};

inline k_scale_min_fit fit_scale_min(const float* x, int n, int top) {
  float lo = 0.f, hi = x[0];
  for (int i = 0; i < n; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  if (hi <= lo) return {0.f, -lo};
  k_scale_min_fit best{(hi - lo) / float(top), -lo};
  float best_err = INFINITY;
  for (int step = -4; step <= 6; ++step) {
    const float iscale = (float(top) + 0.1f * float(step)) / (hi - lo);
    double sc = 0, scc = 0, sx = 0, scx = 0;
    int c[32];
    for (int i = 0; i < n; ++i) {
      c[i] = std::clamp(nearest_int((x[i] - lo) * iscale), 0, top);
      sc += c[i], scc += double(c[i]) * c[i], sx += x[i], scx += double(c[i]) * x[i];
    }
    const double det = n * scc - sc * sc;
    if (det <= 0) continue;
    double s = (n * scx - sc * sx) / det, b = (scc * sx - sc * scx) / det;  // x ~ s c + b
    if (b > 0) b = 0, s = scx / scc;                                        // min >= 0
    if (!(s > 0)) continue;
    float err = 0.f;
    for (int i = 0; i < n; ++i) {
      const float e = float(s) * float(c[i]) + float(b) - x[i];
      err += e * e;
    }
    if (err < best_err) best_err = err, best = {float(s), float(-b)};
  }
  return best;
}

// w ~ scale * c, c in -32..31 (Q6_K): scale from the signed element of largest magnitude, refit.
inline float fit_symmetric_scale(const float* x, int n) {
  float amax = 0.f, m = 0.f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), m = x[i];
  if (amax == 0.f) return 0.f;
  float best = m / -32.f, best_err = INFINITY;
  for (int step = -4; step <= 4; ++step) {
    const float iscale = -(32.f + 0.25f * float(step)) / m;
    double scx = 0, scc = 0;
    int c[16];
    for (int i = 0; i < n; ++i) {
      c[i] = std::clamp(nearest_int(x[i] * iscale), -32, 31);
      scx += double(c[i]) * x[i], scc += double(c[i]) * c[i];
    }
    if (scc == 0) continue;
    const float s = float(scx / scc);
    float err = 0.f;
    for (int i = 0; i < n; ++i) {
      const float e = s * float(c[i]) - x[i];
      err += e * e;
    }
    if (err < best_err) best_err = err, best = s;
  }
  return best;
}

// Q4_K / Q5_K rows (cols a multiple of 256).
template <class Layout>
void k_quant_min_encode_row(const float* w, std::size_t cols, std::byte* out) {
  constexpr int top = Layout::levels - 1;
  for (std::size_t k = 0; k < cols / 256; ++k) {
    const float* x = w + 256 * k;
    std::byte* sb = out + k * Layout::block_bytes;
    std::fill_n(sb, Layout::block_bytes, std::byte{0});
    k_scale_min_fit fit[8];
    float max_scale = 0.f, max_min = 0.f;
    for (int j = 0; j < 8; ++j) {
      fit[j] = fit_scale_min(x + 32 * j, 32, top);
      max_scale = std::max(max_scale, fit[j].scale), max_min = std::max(max_min, fit[j].min);
    }
    const std::uint16_t d_bits = f32_to_f16(max_scale / 63.f), dmin_bits = f32_to_f16(max_min / 63.f);
    const float d = f16_to_f32(d_bits), dmin = f16_to_f32(dmin_bits);
    store_le(sb, d_bits);
    store_le(sb + 2, dmin_bits);
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = d > 0.f ? std::clamp(nearest_int(fit[j].scale / d), 0, 63) : 0;
      mn[j] = dmin > 0.f ? std::clamp(nearest_int(fit[j].min / dmin), 0, 63) : 0;
    }
    // The packing get_scale_min_k4 reads (k_scale_min).
    std::byte* packed = sb + Layout::scales_at;
    for (int j = 0; j < 4; ++j) {
      packed[j] = std::byte(std::uint8_t(sc[j] | (sc[j + 4] >> 4) << 6));
      packed[j + 4] = std::byte(std::uint8_t(mn[j] | (mn[j + 4] >> 4) << 6));
      packed[j + 8] = std::byte(std::uint8_t((sc[j + 4] & 0x0f) | (mn[j + 4] & 0x0f) << 4));
    }
    for (int j = 0; j < 8; ++j) {
      const float step = d * float(sc[j]), shift = dmin * float(mn[j]);
      std::byte* qs = sb + Layout::qs_at + 32 * (j / 2);
      for (int l = 0; l < 32; ++l) {
        const int c = step > 0.f ? std::clamp(nearest_int((x[32 * j + l] + shift) / step), 0, top) : 0;
        qs[l] |= std::byte(std::uint8_t((c & 0x0f) << (4 * (j % 2))));
        if constexpr (Layout::fifth_bit) sb[Layout::qh_at + l] |= std::byte(std::uint8_t((c >> 4) << j));
      }
    }
  }
}

// Q6_K rows (cols a multiple of 256).
inline void q6_k_encode_row(const float* w, std::size_t cols, std::byte* out) {
  using L = q6_k_block_layout;
  for (std::size_t k = 0; k < cols / 256; ++k) {
    const float* x = w + 256 * k;
    std::byte* sb = out + k * L::block_bytes;
    std::fill_n(sb, L::block_bytes, std::byte{0});
    float s[16], max_scale = 0.f;
    for (int g = 0; g < 16; ++g) {
      s[g] = fit_symmetric_scale(x + 16 * g, 16);
      if (std::fabs(s[g]) > std::fabs(max_scale)) max_scale = s[g];
    }
    // Block scales are int8: the largest maps to -128 as in ggml (its sign is free, the codes
    // follow it), the rest round to that grid.
    const std::uint16_t d_bits = f32_to_f16(max_scale / -128.f);
    const float d = f16_to_f32(d_bits);
    store_le(sb + L::d_at, d_bits);
    for (int g = 0; g < 16; ++g) {
      const int sc = d != 0.f ? std::clamp(nearest_int(s[g] / d), -128, 127) : 0;
      sb[L::scales_at + g] = std::byte(std::uint8_t(std::int8_t(sc)));
      const float step = d * float(sc);
      for (int l = 0; l < 16; ++l) {
        const int i = 16 * g + l;  // element of the super-block
        const int c = (step != 0.f ? std::clamp(nearest_int(x[i] / step), -32, 31) : 0) + 32;
        const int n = i / 128, k4 = (i % 128) / 32, m = i % 32;
        sb[L::ql_at + 64 * n + 32 * (k4 % 2) + m] |= std::byte(std::uint8_t((c & 0x0f) << (4 * (k4 / 2))));
        sb[L::qh_at + 32 * n + m] |= std::byte(std::uint8_t((c >> 4) << (2 * k4)));
      }
    }
  }
}

}  // namespace tqlib::codec::detail
