#pragma once
// The block layout shared by TQ4_1S and TurboQuant_mse (turbo1..turbo4): rotate each block of a
// row with the randomized Hadamard transform, then store every rotated coordinate as a sign bit
// and a b-bit magnitude index into a symmetric codebook, times one f16 scale per block.
//
// Block of n values (n = 32..256, a power of two; see rht_block_plan), little-endian:
//   u16   scale (IEEE binary16, finite, >= 0)
//   u8    sign plane[n / 8]                element i negative iff bit (i % 8) of byte i / 8
//   u8    magnitude planes[b][n / 8]       bit p of element i's magnitude index m_i in plane p
// decoded rotated coordinate i: scale * (sign_i ? -1 : 1) * magnitude[m_i], magnitude ascending.
// The row is the inverse rotation of those coordinates (docs/codecs/tq4_1s.md, turboquant.md).
//
// Bit planes make the magnitude index of W neighbouring lanes three broadcast-and-test
// operations in SIMD, and the sign one XOR on the float's sign bit, for any batch width W.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/codec_support.hpp"
#include "tqlib/codec/hadamard.hpp"
#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/codec/sign_magnitude_layout.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/simd/vector_ops.hpp"

namespace tqlib::codec {

// Positive codebook magnitudes for each block size 32, 64, 128, 256 (index log2(n) - 5).
struct sm_magnitudes {
  std::array<std::array<float, 8>, 4> by_size{};
  const float* for_block(std::size_t n) const noexcept { return by_size[log2_exact(n) - 5].data(); }
};

// How one codec uses the layout.
enum class sm_scale_rule {
  mse_search,  // TQ4_1S: scale minimizing the block's squared error (search + least squares)
  block_rms,   // TurboQuant_mse: scale = ||rotated block|| / sqrt(n), codes nearest
};

struct sm_format {
  codec_id id;
  const char* name;
  unsigned magnitude_bits;  // 0..3 (codebook of 2^(bits+1) levels)
  std::uint64_t seed;       // rotation seed (fixed per codec, docs/codecs/hadamard.md)
  sm_scale_rule rule;
  const sm_magnitudes& (*magnitudes)();
};

// Where each block of a row starts in the row's bytes, with its transform size and sign words.
struct sm_block_desc {
  std::size_t col;        // first column
  std::size_t length;     // real columns
  std::size_t size;       // transform size n
  std::size_t byte;       // offset of the block inside the row's bytes
  const float* magnitude; // codebook magnitudes for this block size
};

struct sm_row_plan {
  std::vector<sm_block_desc> blocks;
  std::vector<std::vector<std::uint64_t>> signs;  // per block
  std::size_t row_bytes = 0;
  std::size_t padded_cols = 0;
};

inline sm_row_plan sm_plan(const sm_format& f, std::size_t cols) {
  sm_row_plan p;
  const auto& mags = f.magnitudes();
  std::size_t b = 0;
  for (const auto& blk : rht_block_plan(cols, sm_max_block, sm_min_block)) {
    p.blocks.push_back({blk.offset, blk.length, blk.size, p.row_bytes, mags.for_block(blk.size)});
    p.signs.push_back(rht_sign_words(f.seed, b++, blk.size));
    p.row_bytes += sm_block_bytes(blk.size, f.magnitude_bits);
    p.padded_cols += blk.size;
  }
  return p;
}

// Plans are the same for every call with the same format and row length: keep the last few
// per thread so small matvecs (128 x 896) do not pay for allocations and sign-word draws.
inline const sm_row_plan& sm_cached_plan(const sm_format& f, std::size_t cols) {
  struct entry {
    const sm_format* format;
    std::size_t cols;
    sm_row_plan plan;
  };
  thread_local std::vector<std::unique_ptr<entry>> cache;
  for (const auto& e : cache)
    if (e->format == &f && e->cols == cols) return e->plan;
  if (cache.size() >= 16) cache.erase(cache.begin());  // no caller holds a plan across calls
  cache.push_back(std::make_unique<entry>(entry{&f, cols, sm_plan(f, cols)}));
  return cache.back()->plan;
}

// --- scalar reference: one block in the rotated domain -----------------------------------------
constexpr unsigned sm_magnitude_index(const std::byte* block, std::size_t n, unsigned magnitude_bits,
                                      std::size_t i) noexcept {
  unsigned m = 0;
  for (unsigned p = 0; p < magnitude_bits; ++p)
    m |= unsigned((std::to_integer<unsigned>(block[2 + (1 + p) * (n / 8) + i / 8]) >> (i % 8)) & 1u) << p;
  return m;
}

constexpr bool sm_negative(const std::byte* block, std::size_t i) noexcept {
  return (std::to_integer<unsigned>(block[2 + i / 8]) >> (i % 8)) & 1u;
}

// Kernels load one per block: f16_at converts with F16C where the translation unit has it.
TQLIB_KERNEL_INLINE float sm_scale(const std::byte* block) noexcept { return detail::f16_at(block); }

// out[i] = rotated coordinate i of the block.
inline void sm_decode_block_rotated(const std::byte* block, std::size_t n, unsigned magnitude_bits,
                                    const float* magnitude, float* out) noexcept {
  const float s = sm_scale(block);
  for (std::size_t i = 0; i < n; ++i) {
    const float v = s * magnitude[sm_magnitude_index(block, n, magnitude_bits, i)];
    out[i] = sm_negative(block, i) ? -v : v;
  }
}

// Nearest magnitude index of |y| (magnitudes ascending): ties to the smaller one.
inline unsigned sm_nearest(float a, const float* magnitude, unsigned count) noexcept {
  unsigned m = 0;
  while (m + 1 < count && a > 0.5f * (magnitude[m] + magnitude[m + 1])) ++m;
  return m;
}

// Magnitude of the nearest code of every a[i] = |z_i| for scale s, and its index when `codes` is
// given: the count of decision thresholds s * (L_k + L_k+1) / 2 that a exceeds (ties to the
// smaller magnitude, as sm_nearest). Written as a fixed run of compares and selects over unused
// thresholds set to +inf, so the compiler vectorizes it across i: the scale search calls it for
// every candidate scale of every block, and a branchy nearest search made encoding a 0.5 B model
// take minutes.
inline void sm_nearest_levels(const float* a, std::size_t n, float s, const float* magnitude, unsigned count, float* level,
                              unsigned* codes = nullptr) noexcept {
  std::array<float, 7> t;
  std::array<float, 7> step;
  for (unsigned k = 0; k < 7; ++k) {
    const bool used = k + 1 < count && s > 0;
    t[k] = used ? s * (0.5f * (magnitude[k] + magnitude[k + 1])) : INFINITY;
    step[k] = used ? magnitude[k + 1] - magnitude[k] : 0.f;
  }
  for (std::size_t i = 0; i < n; ++i) {
    float l = magnitude[0];
    unsigned m = 0;
    for (unsigned k = 0; k < 7; ++k) {
      const bool up = a[i] > t[k];
      l += up ? step[k] : 0.f;
      m += up ? 1u : 0u;
    }
    level[i] = l;
    if (codes) codes[i] = m;
  }
}

// TQ4_1S scale rule: the scale s and codes m minimizing the block's squared error
// sum (|z_i| - s L[m_i])^2, found by Lloyd's alternation (nearest codes for a scale, then the
// least-squares scale sum |z_i| L[m_i] / sum L[m_i]^2 for those codes; neither step can raise the
// error) started from 17 scales rms * (0.70, 0.725, ..., 1.10): the RMS is the Gaussian design's
// own scale, and heavy-tailed blocks gain from a smaller one. Each start is rated by the error of
// its codes at their least-squares scale, which is closed-form (sum |z|^2 - num^2 / den), so a
// start costs one pass over the block; the best one is then iterated to a fixed point.
inline float sm_search_scale(const float* z, std::size_t n, const float* magnitude, unsigned count) noexcept {
  std::array<float, sm_max_block> a, l;
  double ss = 0;
  for (std::size_t i = 0; i < n; ++i) a[i] = std::fabs(z[i]), ss += double(a[i]) * a[i];
  const double rms = std::sqrt(ss / double(n));
  if (!(rms > 0)) return 0;
  // Least-squares scale of the nearest codes for s, and the squared error with it.
  auto fit = [&](float s, double& err) {
    sm_nearest_levels(a.data(), n, s, magnitude, count, l.data());
    std::array<float, 8> num{}, den{};  // 8 partial sums: vectorizable without reassociating
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (std::size_t j = 0; j < 8; ++j) num[j] += a[i + j] * l[i + j], den[j] += l[i + j] * l[i + j];
    for (; i < n; ++i) num[0] += a[i] * l[i], den[0] += l[i] * l[i];
    double sn = 0, sd = 0;
    for (std::size_t j = 0; j < 8; ++j) sn += num[j], sd += den[j];
    if (!(sd > 0)) {
      err = ss;
      return s;
    }
    err = std::max(0.0, ss - sn * sn / sd);
    return float(sn / sd);
  };
  double best_err = INFINITY;
  float best = float(rms);
  for (int k = 0; k <= 16; ++k) {
    double err;
    const float ls = fit(float(rms * (0.70 + 0.025 * k)), err);
    if (err < best_err) best_err = err, best = ls;
  }
  for (int it = 0; it < 8; ++it) {  // Lloyd from the best start; stops once the codes settle
    double err;
    const float ls = fit(best, err);
    if (!(err < best_err * (1 - 1e-7))) break;
    best_err = err, best = ls;
  }
  return best;  // the caller recodes with the f16-rounded scale
}

// Encodes one rotated block z[n] into `out` (sm_block_bytes(n, b) bytes).
inline result<void> sm_encode_block(const sm_format& f, const float* z, std::size_t n, const float* magnitude,
                                    std::byte* out) {
  const unsigned count = 1u << f.magnitude_bits;
  std::array<unsigned, sm_max_block> codes{};
  float s;
  if (f.rule == sm_scale_rule::mse_search) {
    s = sm_search_scale(z, n, magnitude, count);
  } else {
    double ss = 0;
    for (std::size_t i = 0; i < n; ++i) ss += double(z[i]) * z[i];
    s = float(std::sqrt(ss / double(n)));
  }
  if (!(s <= 65504.f)) return make_error(errc::invalid_argument, "block scale " + std::to_string(s) + " exceeds f16");
  const std::uint16_t h = f32_to_f16(s);
  const float rounded = f16_to_f32(h);
  {  // codes for the stored scale
    std::array<float, sm_max_block> a, level;
    for (std::size_t i = 0; i < n; ++i) a[i] = std::fabs(z[i]);
    sm_nearest_levels(a.data(), n, rounded, magnitude, count, level.data(), codes.data());
  }
  std::memset(out, 0, sm_block_bytes(n, f.magnitude_bits));
  store_le<std::uint16_t>(out, h);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::signbit(z[i]) && z[i] != 0) out[2 + i / 8] |= std::byte(1u << (i % 8));
    for (unsigned p = 0; p < f.magnitude_bits; ++p)
      if ((codes[i] >> p) & 1u) out[2 + (1 + p) * (n / 8) + i / 8] |= std::byte(1u << (i % 8));
  }
  return {};
}

// --- integer arithmetic of the SIMD matvec paths ---------------------------------------------
// Every SIMD path but SSE4.2 computes a row's dot product in integers: each rotated activation
// block is rounded to int8 with its own step max|xr_b| / 127 (as llama.cpp rounds activations to
// q8_K per 256 values), and the codebook magnitudes to int8 with step L_max / 127. Products of
// int8 values are what AVX-512 VNNI's vpdpbusd multiplies 64 at a time; AVX2 and WebAssembly SIMD
// multiply the same values in int16 lanes, so every path has the same int32 sums per block
// (|sum| <= 256 * 127 * 127 < 2^22: exact, also as a float). The rounding adds 0.9% RMS to a dot
// product, against 9.5% from the 4-bit code itself (docs/codecs/tq4_1s.md).
inline constexpr float sm_activation_q_max = 127.f;
inline constexpr float sm_level_q_max = 127.f;

TQLIB_KERNEL_INLINE std::int8_t sm_quantized_level(float level, float lmax) noexcept {
  return std::int8_t(std::lrintf(level * sm_level_q_max / lmax));
}

// Rounds one rotated activation block to q[n] as the integer paths do, with the rounding of the
// other int8 codecs (int8_activations.hpp); returns its step max|xr| / 127 (0 for an all-zero
// block). A NaN or infinite activation makes the step NaN (q all 0), so the row's output is NaN.
inline float sm_quantize_activation_block(const float* xr, std::size_t n, std::int8_t* q) noexcept {
  const float amax = detail::activation_amax(xr, n);
  if (!(amax <= std::numeric_limits<float>::max())) {
    std::fill(q, q + n, std::int8_t(0));
    return std::numeric_limits<float>::quiet_NaN();
  }
  detail::round_activations(xr, n, amax > 0 ? sm_activation_q_max / amax : 0.f, q);
  return amax / sm_activation_q_max;
}

// Signed int8 level of every 4-bit code (sign << 3 | magnitude index) of a block whose largest
// magnitude is magnitude[2^b - 1]; codes with an index past the codebook give 0.
inline std::array<std::int8_t, 16> sm_code_levels(const float* magnitude, unsigned magnitude_bits) noexcept {
  std::array<std::int8_t, 16> levels{};
  const float lmax = magnitude[(1u << magnitude_bits) - 1];
  for (unsigned code = 0; code < 16; ++code) {
    const unsigned k = code & 7u;
    const std::int8_t v = k < (1u << magnitude_bits) ? sm_quantized_level(magnitude[k], lmax) : std::int8_t(0);
    levels[code] = code & 8u ? std::int8_t(-v) : v;
  }
  return levels;
}

// Scalar reference of the integer paths: the same roundings, exact integer sums per block, each
// sum times (activation step) * (level step) * (block scale). SIMD integer kernels equal it up to
// float rounding of that last product and of the sum over blocks.
inline double sm_dot_row_integer_ref(const std::byte* row, const sm_row_plan& plan, unsigned magnitude_bits,
                                     const float* xr) {
  double acc = 0;
  std::array<std::int8_t, sm_max_block> q{};
  for (const auto& b : plan.blocks) {
    const float dx = sm_quantize_activation_block(xr + b.col, b.size, q.data());
    const auto levels = sm_code_levels(b.magnitude, magnitude_bits);
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < b.size; ++i) {
      const unsigned code = (sm_negative(row + b.byte, i) ? 8u : 0u) |
                            sm_magnitude_index(row + b.byte, b.size, magnitude_bits, i);
      sum += std::int64_t(q[i]) * levels[code];
    }
    const double dw = double(b.magnitude[(1u << magnitude_bits) - 1]) / sm_level_q_max;
    acc += double(sum) * dx * dw * sm_scale(row + b.byte);
  }
  return acc;
}

// Largest |difference| between the integer paths and the exact rotated-domain dot of one row:
// per coordinate |w| * dx/2 + |xr| * dw/2 + dx*dw/4, with dx the activation step of the block and
// dw = scale * L_max / 127 the level step (rounding to nearest), plus float accumulation slack.
inline double sm_integer_error_bound(const std::byte* row, const sm_row_plan& plan, unsigned magnitude_bits,
                                     const float* xr) {
  double bound = 0, mag = 0;
  std::vector<float> w(sm_max_block);
  for (const auto& b : plan.blocks) {
    sm_decode_block_rotated(row + b.byte, b.size, magnitude_bits, b.magnitude, w.data());
    const double dx = detail::activation_amax(xr + b.col, b.size) / sm_activation_q_max;
    const double dw = double(sm_scale(row + b.byte)) * b.magnitude[(1u << magnitude_bits) - 1] / sm_level_q_max;
    for (std::size_t i = 0; i < b.size; ++i) {
      bound += std::fabs(w[i]) * dx / 2 + std::fabs(xr[b.col + i]) * dw / 2 + dx * dw / 4;
      mag += std::fabs(double(w[i]) * xr[b.col + i]);
    }
  }
  return bound + 1e-5 * mag;
}

// --- SIMD kernels ---------------------------------------------------------------------------------
template <class Arch>
struct sign_magnitude_kernels {
  // Whether matvec computes with the integer arithmetic above (sm_dot_row_integer_ref) on this
  // architecture; where not (SSE4.2, emulated), it decodes to float (sm_dot_row_ref).
  static bool integer_matvec() noexcept;
  // y[r] = sum over blocks of dot(decoded rotated block, xr block), rows r0..r1; xr is the
  // activation rotated block by block (padded_cols values).
  static void matvec(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks, std::size_t nblocks,
                     unsigned magnitude_bits, const float* xr, float* y, std::size_t r0, std::size_t r1) noexcept;
  // Y[t * rows + r] for T activations XR (T x padded_cols, each rotated as for matvec), rows
  // r0..r1: each row is decoded once for all tokens, then every token gets matvec's arithmetic
  // (bit for bit where the integer path is the same kernel family), so prefill and decode agree.
  static void matmul(const std::byte* blob, std::size_t row_bytes, const sm_block_desc* blocks, std::size_t nblocks,
                     unsigned magnitude_bits, const float* XR, std::size_t padded_cols, std::size_t T, float* Y,
                     std::size_t rows, std::size_t r0, std::size_t r1) noexcept;
  // out[padded_cols] = decoded rotated row (scale applied).
  static void decode_rotated_row(const std::byte* row, const sm_block_desc* blocks, std::size_t nblocks,
                                 unsigned magnitude_bits, float* out) noexcept;
};

// Scalar reference of the matvec kernel (double accumulation).
inline float sm_dot_row_ref(const std::byte* row, const sm_row_plan& plan, unsigned magnitude_bits, const float* xr) {
  double acc = 0;
  std::vector<float> tmp(sm_max_block);
  for (const auto& b : plan.blocks) {
    sm_decode_block_rotated(row + b.byte, b.size, magnitude_bits, b.magnitude, tmp.data());
    for (std::size_t i = 0; i < b.size; ++i) acc += double(tmp[i]) * xr[b.col + i];
  }
  return float(acc);
}

// --- the codec_ops functions, shared by every format using this layout -------------------------
inline result<void> sm_validate(const sm_format& f, std::span<const std::byte> blob, std::size_t rows,
                                std::size_t cols) {
  return sm_validate(f.name, f.magnitude_bits, blob, rows, cols);
}

inline result<std::vector<std::byte>> sm_encode(const sm_format& f, const float* w, std::size_t rows,
                                                std::size_t cols) {
  const auto size = sm_packed_size(f.magnitude_bits, rows, cols);
  if (!size) return make_error(errc::invalid_argument, std::string(f.name) + ": shape too large");
  const auto plan = sm_plan(f, cols);
  std::vector<std::byte> out(*size);
  std::array<float, sm_max_block> z{};
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    for (std::size_t c = 0; c < cols; ++c)
      if (!std::isfinite(row[c]))
        return make_error(errc::invalid_argument, std::string(f.name) + ": weight [" + std::to_string(r) + ", " +
                                                      std::to_string(c) + "] is not finite");
    for (std::size_t b = 0; b < plan.blocks.size(); ++b) {
      const auto& blk = plan.blocks[b];
      std::fill(z.begin(), z.end(), 0.f);
      std::copy(row + blk.col, row + blk.col + blk.length, z.begin());
      rht_forward(z.data(), blk.size, plan.signs[b].data());
      TQLIB_TRY(sm_encode_block(f, z.data(), blk.size, blk.magnitude, out.data() + r * plan.row_bytes + blk.byte));
    }
  }
  return out;
}

inline void sm_decode_row(const sm_format& f, std::span<const std::byte> blob, std::size_t, std::size_t cols,
                          std::size_t row, float* out) {
  const auto& plan = sm_cached_plan(f, cols);
  std::array<float, sm_max_block> z{};
  const std::byte* base = blob.data() + row * plan.row_bytes;
  for (std::size_t b = 0; b < plan.blocks.size(); ++b) {
    const auto& blk = plan.blocks[b];
    sm_decode_block_rotated(base + blk.byte, blk.size, f.magnitude_bits, blk.magnitude, z.data());
    rht_inverse(z.data(), blk.size, plan.signs[b].data());
    std::copy(z.begin(), z.begin() + std::ptrdiff_t(blk.length), out + blk.col);
  }
}

// x (cols) -> xr (padded_cols): the same block rotation the encoder applied to the weights, so
// dot(row, x) = dot(rotated row, xr) (the rotation is orthogonal) and weights are never un-rotated.
inline void sm_rotate_activation(const sm_row_plan& plan, const float* x, float* xr) {
  for (std::size_t b = 0; b < plan.blocks.size(); ++b) {
    const auto& blk = plan.blocks[b];
    std::copy(x + blk.col, x + blk.col + blk.length, xr + blk.col);
    std::fill(xr + blk.col + blk.length, xr + blk.col + blk.size, 0.f);
    rht_forward(xr + blk.col, blk.size, plan.signs[b].data());
  }
}

inline void sm_matvec(const sm_format& f, std::span<const std::byte> blob, std::size_t, std::size_t cols,
                      const float* x, float* y, std::size_t r0, std::size_t r1) {
  const auto& plan = sm_cached_plan(f, cols);
  thread_local std::vector<float> xr;
  xr.resize(plan.padded_cols);
  sm_rotate_activation(plan, x, xr.data());
  simd::dispatch<sign_magnitude_kernels>([&](auto k) {
    decltype(k)::matvec(blob.data(), plan.row_bytes, plan.blocks.data(), plan.blocks.size(), f.magnitude_bits,
                        xr.data(), y, r0, r1);
  });
}

inline void sm_matmul(const sm_format& f, std::span<const std::byte> blob, std::size_t rows, std::size_t cols,
                      const float* X, std::size_t T, float* Y, std::size_t r0, std::size_t r1) {
  const auto& plan = sm_cached_plan(f, cols);
  const std::size_t pc = plan.padded_cols;
  std::vector<float> xr(T * pc);
  for (std::size_t t = 0; t < T; ++t) sm_rotate_activation(plan, X + t * cols, xr.data() + t * pc);
  simd::dispatch<sign_magnitude_kernels>([&](auto k) {
    decltype(k)::matmul(blob.data(), plan.row_bytes, plan.blocks.data(), plan.blocks.size(), f.magnitude_bits, xr.data(),
                        pc, T, Y, rows, r0, r1);
  });
}

}  // namespace tqlib::codec

#if !TQLIB_RUNTIME_DISPATCH
#include "tqlib/codec/kernels/sign_magnitude.hpp"
#endif
