// AQLM codec: the importer against the aqlm package's definition of the weights, every SIMD
// kernel against the scalar reference and the dense product, and hostile blobs.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tqlib/codec/aqlm.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/core/rng.hpp"

using namespace tqlib;
using namespace tqlib::codec;
namespace aq = tqlib::codec::aqlm;

namespace {

// One linear layer's tensors as a checkpoint stores them (aqlm package: codes >= 2^(nbits-1)
// saved as negative int8/int16, `pack_int_data`).
struct checkpoint_layer {
  aq::config cfg;
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint32_t> codes;  // true codes, [out_groups][in_groups][C]
  std::vector<float> codebooks;      // f16-representable, [C][K][Go][Gi]
  std::vector<float> scales;         // f16-representable, [out_groups]
  std::vector<std::byte> codes_bytes, codebooks_bytes, scales_bytes;
  std::vector<std::int64_t> codes_shape, codebooks_shape, scales_shape;
  aq::int_dtype dtype = aq::int_dtype::i8;
};

checkpoint_layer random_layer(aq::config cfg, std::size_t rows, std::size_t cols, std::uint64_t seed) {
  xoshiro256ss rng(seed);
  checkpoint_layer l;
  l.cfg = cfg;
  l.rows = rows;
  l.cols = cols;
  const std::size_t K = std::size_t(1) << cfg.nbits, og = rows / cfg.out_group, ig = cols / cfg.in_group;
  const std::size_t C = cfg.num_codebooks;
  l.codes.resize(og * ig * C);
  for (auto& c : l.codes) c = std::uint32_t(rng.next() % K);
  l.codebooks.resize(C * K * cfg.out_group * cfg.in_group);
  for (auto& f : l.codebooks) f = f16_to_f32(f32_to_f16(float(0.5 * rng.normal())));
  l.scales.resize(og);
  for (auto& f : l.scales) f = f16_to_f32(f32_to_f16(float(0.5 + rng.uniform())));
  l.dtype = cfg.nbits <= 8 ? aq::int_dtype::i8 : aq::int_dtype::i16;
  const std::size_t isz = cfg.nbits <= 8 ? 1 : 2;
  l.codes_bytes.resize(l.codes.size() * isz);
  for (std::size_t i = 0; i < l.codes.size(); ++i) {
    std::int64_t v = l.codes[i];
    if (v >= std::int64_t(K / 2) && cfg.nbits > 1) v -= std::int64_t(K);  // stored signed, like pack_int_data
    if (isz == 1)
      l.codes_bytes[i] = std::byte(std::uint8_t(std::int8_t(v)));
    else
      store_le<std::int16_t>(l.codes_bytes.data() + 2 * i, std::int16_t(v));
  }
  l.codebooks_bytes.resize(2 * l.codebooks.size());
  for (std::size_t i = 0; i < l.codebooks.size(); ++i)
    store_le<std::uint16_t>(l.codebooks_bytes.data() + 2 * i, f32_to_f16(l.codebooks[i]));
  l.scales_bytes.resize(2 * og);
  for (std::size_t i = 0; i < og; ++i) store_le<std::uint16_t>(l.scales_bytes.data() + 2 * i, f32_to_f16(l.scales[i]));
  l.codes_shape = {std::int64_t(og), std::int64_t(ig), std::int64_t(C)};
  l.codebooks_shape = {std::int64_t(C), std::int64_t(K), std::int64_t(cfg.out_group), std::int64_t(cfg.in_group)};
  l.scales_shape = {std::int64_t(og), 1, 1, 1};
  return l;
}

aq::imported_layer import(const checkpoint_layer& l) {
  auto r = aq::make_aqlm_blob(l.codes_bytes, l.dtype, l.codes_shape, l.codebooks_bytes, l.codebooks_shape, l.scales_bytes,
                              l.scales_shape);
  INFO((r ? std::string() : r.err().what()));
  REQUIRE(r.ok());
  return std::move(r).value();
}

// Dense W from the aqlm package's `_dequantize_weight`, written out independently: block
// (o, i) = scales[o] * sum_c codebooks[c, codes[o, i, c]], block rows are rows o*Go + r.
std::vector<double> dense_weights(const checkpoint_layer& l) {
  const std::size_t Go = l.cfg.out_group, Gi = l.cfg.in_group, C = l.cfg.num_codebooks;
  const std::size_t K = std::size_t(1) << l.cfg.nbits, ig_count = l.cols / Gi;
  std::vector<double> w(l.rows * l.cols, 0.0);
  for (std::size_t o = 0; o < l.rows / Go; ++o)
    for (std::size_t i = 0; i < ig_count; ++i)
      for (std::size_t c = 0; c < C; ++c) {
        const std::size_t code = l.codes[(o * ig_count + i) * C + c];
        for (std::size_t r = 0; r < Go; ++r)
          for (std::size_t j = 0; j < Gi; ++j)
            w[(o * Go + r) * l.cols + i * Gi + j] += double(l.scales[o]) * l.codebooks[((c * K + code) * Go + r) * Gi + j];
      }
  return w;
}

struct shape_case {
  aq::config cfg;
  std::size_t rows, cols;
};

// 1x16, 2x8, 8x8 with groups of 8; odd codebook sizes, out groups 2 and 3, odd group widths.
std::vector<shape_case> shape_cases() {
  return {
      {{1, 16, 8, 1}, 24, 40},  {{2, 8, 8, 1}, 37, 72},   {{8, 8, 8, 1}, 9, 64},  {{2, 8, 8, 2}, 26, 56},
      {{3, 5, 4, 1}, 11, 28},   {{1, 1, 3, 1}, 5, 9},     {{2, 8, 7, 3}, 15, 49}, {{1, 12, 8, 2}, 6, 24},
      {{2, 16, 8, 1}, 5, 16},   {{4, 4, 16, 1}, 33, 160}, {{2, 8, 8, 1}, 1, 8},
  };
}

std::string describe(const shape_case& s) {
  return std::to_string(s.cfg.num_codebooks) + "x" + std::to_string(s.cfg.nbits) + " in_group " +
         std::to_string(s.cfg.in_group) + " out_group " + std::to_string(s.cfg.out_group) + " " +
         std::to_string(s.rows) + "x" + std::to_string(s.cols);
}

// |kernel - exact| for a float-accumulated dot product: n * eps * sum|w*x| with room.
double dot_tolerance(const std::vector<double>& w, const float* x, std::size_t row, std::size_t cols) {
  double mag = 0;
  for (std::size_t i = 0; i < cols; ++i) mag += std::abs(w[row * cols + i] * x[i]);
  return 4e-7 * double(cols + 8) * (mag + 1e-3);
}

}  // namespace

TEST_CASE("aqlm importer and decode_row reproduce the aqlm package's weights", "[aqlm]") {
  std::uint64_t seed = 1;
  for (const auto& s : shape_cases()) {
    INFO(describe(s));
    const auto l = random_layer(s.cfg, s.rows, s.cols, seed++);
    const auto imp = import(l);
    REQUIRE(imp.rows == s.rows);
    REQUIRE(imp.cols == s.cols);
    const auto& ops = aq::aqlm_ops();
    REQUIRE(ops.validate(imp.blob, s.rows, s.cols).ok());
    const auto w = dense_weights(l);
    std::vector<float> row(s.cols);
    for (std::size_t r = 0; r < s.rows; ++r) {
      ops.decode_row(imp.blob, s.rows, s.cols, r, row.data());
      for (std::size_t i = 0; i < s.cols; ++i) REQUIRE(row[i] == Approx(w[r * s.cols + i]).epsilon(1e-6).margin(1e-6));
    }
    // Bits per weight all-in: codes + codebooks + scales + header.
    const double C = s.cfg.num_codebooks, K = double(std::size_t(1) << s.cfg.nbits);
    const double code_bits = 8.0 * (s.cfg.nbits <= 8 ? 1 : 2);
    const double expect = (C * code_bits * double(s.rows / s.cfg.out_group) * double(s.cols / s.cfg.in_group) +
                           16.0 * (C * K * s.cfg.out_group * s.cfg.in_group + double(s.rows / s.cfg.out_group)) + 8.0 * 24) /
                          double(s.rows * s.cols);
    REQUIRE(ops.bits_per_weight(imp.blob, s.rows, s.cols) == Approx(expect));
  }
}

TEST_CASE("every SIMD architecture's aqlm matvec and matmul match the dense product", "[aqlm][simd]") {
  std::uint64_t seed = 100;
  int archs = 0;
  simd::for_each_supported_arch<aq::aqlm_kernels>([&](auto k, const char* name) {
    using K = decltype(k);
    ++archs;
    for (const auto& s : shape_cases()) {
      INFO(name << " " << describe(s));
      const auto l = random_layer(s.cfg, s.rows, s.cols, seed++);
      const auto imp = import(l);
      auto v = aq::validate_view(imp.blob, s.rows, s.cols);
      REQUIRE(v.ok());
      const auto w = dense_weights(l);
      xoshiro256ss rng(seed * 7);
      const std::size_t T = 5;
      std::vector<float> X(T * s.cols);
      for (auto& f : X) f = float(rng.normal());
      std::vector<float> scratch(aq::scratch_floats(v->L));

      // matvec over the whole range, and split at an odd row (also inside an out group).
      std::vector<float> y(s.rows, -1.f), y_split(s.rows, -2.f), y_ref(s.rows);
      K::matvec(*v, X.data(), y.data(), 0, s.rows, scratch.data());
      const std::size_t cut = s.rows / 2 | 1;
      K::matvec(*v, X.data(), y_split.data(), 0, std::min(cut, s.rows), scratch.data());
      K::matvec(*v, X.data(), y_split.data(), std::min(cut, s.rows), s.rows, scratch.data());
      aq::matvec_reference(*v, X.data(), y_ref.data(), 0, s.rows);
      for (std::size_t r = 0; r < s.rows; ++r) {
        double exact = 0;
        for (std::size_t i = 0; i < s.cols; ++i) exact += w[r * s.cols + i] * X[i];
        const double tol = dot_tolerance(w, X.data(), r, s.cols);
        INFO("row " << r);
        REQUIRE(std::abs(y_ref[r] - exact) <= tol);
        REQUIRE(std::abs(y[r] - exact) <= tol);
        REQUIRE(y_split[r] == y[r]);  // results do not depend on how rows are split
      }

      // matmul for 1..T tokens against the same dense product, written only inside the range.
      for (std::size_t t_count : {std::size_t(1), std::size_t(2), std::size_t(3), T}) {
        std::vector<float> Y(t_count * s.rows, 123.f);
        const std::size_t r0 = s.rows > 2 ? 1 : 0;
        K::matmul(*v, X.data(), t_count, Y.data(), r0, s.rows, scratch.data());
        for (std::size_t t = 0; t < t_count; ++t)
          for (std::size_t r = 0; r < s.rows; ++r) {
            INFO("token " << t << " of " << t_count << " row " << r);
            if (r < r0) {
              REQUIRE(Y[t * s.rows + r] == 123.f);
              continue;
            }
            double exact = 0;
            for (std::size_t i = 0; i < s.cols; ++i) exact += w[r * s.cols + i] * X[t * s.cols + i];
            REQUIRE(std::abs(Y[t * s.rows + r] - exact) <= dot_tolerance(w, X.data() + t * s.cols, r, s.cols));
          }
      }
    }
  });
  REQUIRE(archs >= 1);
}

TEST_CASE("aqlm is in the codec registry and its ops table runs the dispatched kernels", "[aqlm]") {
  const codec_ops* ops = find("aqlm");
  REQUIRE(ops != nullptr);
  REQUIRE(find(codec_id::aqlm) == ops);
  REQUIRE(!ops->packed_size(16, 16).has_value());
  const auto l = random_layer({2, 8, 8, 1}, 64, 128, 77);
  const auto imp = import(l);
  const auto w = dense_weights(l);
  std::vector<float> x(128), y(64);
  xoshiro256ss rng(5);
  for (auto& f : x) f = float(rng.normal());
  ops->matvec(imp.blob, 64, 128, x.data(), y.data(), 0, 64);
  for (std::size_t r = 0; r < 64; ++r) {
    double exact = 0;
    for (std::size_t i = 0; i < 128; ++i) exact += w[r * 128 + i] * x[i];
    REQUIRE(std::abs(y[r] - exact) <= dot_tolerance(w, x.data(), r, 128));
  }
}

TEST_CASE("aqlm importer rejects tensors whose shapes or sizes disagree", "[aqlm][hostile]") {
  const auto l = random_layer({2, 8, 8, 1}, 16, 32, 3);
  auto try_import = [&](const checkpoint_layer& m) {
    return aq::make_aqlm_blob(m.codes_bytes, m.dtype, m.codes_shape, m.codebooks_bytes, m.codebooks_shape, m.scales_bytes,
                              m.scales_shape);
  };
  REQUIRE(try_import(l).ok());
  auto expect_error = [&](checkpoint_layer m, const char* needle) {
    auto r = try_import(m);
    REQUIRE(!r.ok());
    INFO(r.err().what());
    REQUIRE(r.err().message.find(needle) != std::string::npos);
  };
  {
    auto m = l;
    m.codebooks_shape[1] = 200;  // not a power of two
    expect_error(m, "codebook size");
  }
  {
    auto m = l;
    m.codes_shape[2] = 3;  // disagrees with codebooks
    expect_error(m, "codebooks");
  }
  {
    auto m = l;
    m.codes_bytes.pop_back();
    expect_error(m, "codes");
  }
  {
    auto m = l;
    m.scales_shape = {16, 2, 1, 1};
    expect_error(m, "scales");
  }
  {
    auto m = l;
    m.scales_shape = {8, 1, 1, 1};
    expect_error(m, "scales");
  }
  {
    auto m = l;
    store_le<std::uint16_t>(m.scales_bytes.data(), 0x7e00);  // NaN
    expect_error(m, "scale 0");
  }
  {
    auto m = l;
    store_le<std::uint16_t>(m.codebooks_bytes.data() + 10, 0x7c00);  // +inf
    expect_error(m, "entry 5");
  }
  {
    auto m = l;
    m.codebooks_shape = {2, 256, 8};
    expect_error(m, "codebooks");
  }
  {
    auto m = l;
    m.codes_shape[0] = -1;
    expect_error(m, "codes");
  }
}

constexpr std::size_t hostile_rows = 12, hostile_cols = 24;

TEST_CASE("aqlm validate rejects hostile blobs with errors naming the field", "[aqlm][hostile]") {
  const std::size_t rows = hostile_rows, cols = hostile_cols;
  const auto l = random_layer({2, 4, 8, 2}, rows, cols, 9);  // nbits 4: codes can be out of range
  const auto good = import(l).blob;
  const auto& ops = aq::aqlm_ops();
  REQUIRE(ops.validate(good, rows, cols).ok());
  auto expect_error = [&](std::vector<std::byte> blob, const char* needle, std::size_t r = hostile_rows, std::size_t c = hostile_cols) {
    auto res = ops.validate(blob, r, c);
    REQUIRE(!res.ok());
    INFO(res.err().what());
    REQUIRE(res.err().message.find(needle) != std::string::npos);
  };
  auto with_u16 = [&](std::size_t offset, std::uint16_t value) {
    auto b = good;
    store_le<std::uint16_t>(b.data() + offset, value);
    return b;
  };
  expect_error({}, "magic");
  expect_error(std::vector<std::byte>(good.begin(), good.begin() + 10), "in_group");
  expect_error(std::vector<std::byte>(good.begin(), good.end() - 1), "blob has");
  {
    auto b = good;
    b.push_back(std::byte{0});
    expect_error(b, "trailing");
  }
  {
    auto b = good;
    b[0] = std::byte{'X'};
    expect_error(b, "magic");
  }
  expect_error(with_u16(4, 2), "version");
  expect_error(with_u16(6, 0), "num_codebooks");
  expect_error(with_u16(6, 65), "num_codebooks");
  expect_error(with_u16(8, 0), "nbits");
  expect_error(with_u16(8, 17), "nbits");
  expect_error(with_u16(10, 0), "in_group");
  expect_error(with_u16(12, 0), "out_group");
  expect_error(with_u16(10, 5), "in_group");   // 24 columns are not groups of 5
  expect_error(with_u16(12, 5), "out_group");  // 12 rows are not groups of 5
  expect_error(with_u16(14, 1), "reserved");
  expect_error(with_u16(8, 16), "blob has");  // 2^16 codewords the blob does not hold
  expect_error(good, "header shape", rows + 2, cols);
  {
    // A header claiming a huge matrix: the size computation must not overflow into a small one.
    auto b = good;
    store_le<std::uint32_t>(b.data() + 16, 0xffffffffu);
    store_le<std::uint32_t>(b.data() + 20, 0xffffffffu);
    store_le<std::uint16_t>(b.data() + 6, 64);
    store_le<std::uint16_t>(b.data() + 12, 1);
    store_le<std::uint16_t>(b.data() + 10, 1);
    auto res = ops.validate(b, 0xffffffffu, 0xffffffffu);
    REQUIRE(!res.ok());
  }
  {
    // Out of contract (never validated): the ops table writes zeros rather than reading garbage.
    std::vector<std::byte> junk(40, std::byte{0x5a});
    std::vector<float> x(cols, 1.f), y(rows, 7.f), Y(2 * rows, 7.f), row(cols, 7.f);
    ops.matvec(junk, rows, cols, x.data(), y.data(), 0, rows);
    ops.matmul(junk, rows, cols, x.data(), 1, Y.data(), 0, rows);
    ops.decode_row(junk, rows, cols, 0, row.data());
    for (std::size_t r = 0; r < rows; ++r) REQUIRE((y[r] == 0.f && Y[r] == 0.f));
    for (float f : row) REQUIRE(f == 0.f);
  }
  const auto v = aq::validate_view(good, rows, cols);
  REQUIRE(v.ok());
  const aq::layout L = v->L;
  expect_error(with_u16(L.scales_offset + 2, 0x7e00), "scale 1");           // NaN scale
  expect_error(with_u16(L.scales_offset, 0xfc00), "scale 0");               // -inf scale
  expect_error(with_u16(L.codebooks_offset + 6, 0x7c01), "entry 3");       // NaN codebook entry
  {
    auto b = good;
    b[L.codes_offset + 5] = std::byte{16};  // code 16 with 4-bit codebooks
    expect_error(b, "codes");
  }
}
