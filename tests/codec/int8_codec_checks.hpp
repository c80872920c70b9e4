#pragma once
// Checks shared by the integer codec tests: every architecture's kernels against the scalar
// integer reference, the activation-quantization bound against float math, and matmul vs matvec.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "catch.hpp"
#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/detail/int8_codec_ops.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace int8_checks {

using namespace tqlib;
using namespace tqlib::codec;

inline std::vector<float> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed, float scale = 0.05f) {
  xoshiro256ss rng(seed);
  std::vector<float> w(rows * cols);
  for (auto& v : w) v = scale * float(rng.normal());
  return w;
}

// Kernels of every supported architecture hold to the scalar integer reference: block sums bit
// for bit, matvec and matmul within float reassociation error, and matmul to matvec exactly.
template <template <class> class Kernels, class Layout>
void kernels_match_integer_reference(const codec_ops& ops, std::size_t rows, std::size_t cols, std::uint64_t seed) {
  const auto w = random_matrix(rows, cols, seed);
  auto blob = ops.encode(w.data(), rows, cols, encode_options{});
  REQUIRE(blob.ok());
  REQUIRE(ops.validate(*blob, rows, cols).ok());
  const std::size_t T = 3;
  const auto X = random_matrix(T, cols, seed + 1, 1.0f);
  std::vector<int8_activations> acts(T);
  std::vector<act_view> views(T);
  for (std::size_t t = 0; t < T; ++t) {
    quantize_activations(X.data() + t * cols, cols, acts[t]);
    views[t] = acts[t].view();
  }
  const std::size_t rb = Layout::row_bytes(cols);
  std::vector<double> ref(T * rows), mag(T * rows);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t r = 0; r < rows; ++r) {
      ref[t * rows + r] = detail::int8_dot_reference<Layout>(blob->data() + r * rb, cols, acts[t]);
      std::vector<float> dec(cols);
      ops.decode_row(*blob, rows, cols, r, dec.data());
      double m = 0;
      for (std::size_t i = 0; i < cols; ++i) m += std::abs(double(dec[i]) * X[t * cols + i]);
      mag[t * rows + r] = m;
    }
  int archs = 0;
  simd::for_each_supported_arch<Kernels>([&](auto k, const char* name) {
    using K = decltype(k);
    ++archs;
    INFO(ops.name << " " << name << " " << rows << "x" << cols);
    std::vector<std::int32_t> sums(acts[0].blocks);
    std::int8_t codes[32];
    for (std::size_t r = 0; r < rows; r += 7) {
      K::block_dots(blob->data() + r * rb, cols, views[0], sums.data());
      for (std::size_t b = 0; b < acts[0].blocks; ++b) {
        Layout::decode(blob->data() + r * rb, cols, b, codes);
        std::int32_t s = 0;
        for (int j = 0; j < 32; ++j) s += std::int32_t(codes[j]) * acts[0].q[32 * b + j];
        REQUIRE(sums[b] == s);
      }
    }
    std::vector<float> y(rows, std::numeric_limits<float>::quiet_NaN());
    K::matvec(blob->data(), cols, views[0], y.data(), 0, rows);
    for (std::size_t r = 0; r < rows; ++r) REQUIRE(std::abs(y[r] - ref[r]) <= 2e-6 * (mag[r] + 1e-3) * std::sqrt(double(cols)));
    // A sub-range writes only its rows.
    std::vector<float> part(rows, -7.f);
    const std::size_t r0 = rows / 3, r1 = rows - rows / 4;
    K::matvec(blob->data(), cols, views[0], part.data(), r0, r1);
    for (std::size_t r = 0; r < rows; ++r) REQUIRE(part[r] == (r >= r0 && r < r1 ? y[r] : -7.f));
    std::vector<float> Y(T * rows);
    K::matmul(blob->data(), rows, cols, views.data(), T, Y.data(), 0, rows);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t r = 0; r < rows; ++r)
        REQUIRE(std::abs(Y[t * rows + r] - ref[t * rows + r]) <= 2e-6 * (mag[t * rows + r] + 1e-3) * std::sqrt(double(cols)));
    // Prefill and decode take the same steps: token 0 of the matmul is the matvec, bit for bit.
    for (std::size_t r = 0; r < rows; ++r) REQUIRE(Y[r] == y[r]);
  });
  REQUIRE(archs >= 1);
}

// The codec_ops matvec (int8 activations) against float math on the decoded weights: the only
// difference is activation rounding, at most d_x/2 per element.
inline void ops_matvec_close_to_float(const codec_ops& ops, std::size_t rows, std::size_t cols, std::uint64_t seed) {
  const auto w = random_matrix(rows, cols, seed);
  const auto x = random_matrix(1, cols, seed + 5, 1.0f);
  auto blob = ops.encode(w.data(), rows, cols, encode_options{});
  REQUIRE(blob.ok());
  int8_activations a;
  quantize_activations(x.data(), cols, a);
  std::vector<float> y(rows);
  ops.matvec(*blob, rows, cols, x.data(), y.data(), 0, rows);
  std::vector<float> dec(cols);
  for (std::size_t r = 0; r < rows; ++r) {
    ops.decode_row(*blob, rows, cols, r, dec.data());
    double exact = 0, bound = 0;
    for (std::size_t i = 0; i < cols; ++i) {
      exact += double(dec[i]) * x[i];
      bound += std::abs(double(dec[i])) * a.d[i / 32] * 0.5;
    }
    INFO(ops.name << " row " << r);
    REQUIRE(std::abs(y[r] - exact) <= bound * 1.001 + 1e-5);
  }
  std::vector<float> Y(2 * rows), X2(2 * cols);
  std::copy(x.begin(), x.end(), X2.begin());
  std::copy(x.begin(), x.end(), X2.begin() + cols);
  ops.matmul(*blob, rows, cols, X2.data(), 2, Y.data(), 0, rows);
  for (std::size_t r = 0; r < rows; ++r) {
    REQUIRE(Y[r] == y[r]);
    REQUIRE(Y[rows + r] == y[r]);
  }
}

}  // namespace int8_checks
