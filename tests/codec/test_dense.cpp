#include <cmath>
#include <cstring>
#include <vector>

#include "catch.hpp"
#include "int8_codec_checks.hpp"
#include "tqlib/codec/dense.hpp"

using namespace tqlib;
using namespace tqlib::codec;

TEST_CASE("dense codecs round trip within their format's rounding", "[codec][dense]") {
  const auto w = int8_checks::random_matrix(3, 77, 5, 3.0f);
  for (auto [ops, rel] : {std::pair{&f32_ops(), 0.0}, {&f16_ops(), 0x1p-11}, {&bf16_ops(), 0x1p-8}}) {
    auto blob = ops->encode(w.data(), 3, 77, {});
    REQUIRE(blob.ok());
    REQUIRE(ops->validate(*blob, 3, 77).ok());
    REQUIRE(ops->bits_per_weight(*blob, 3, 77) == 8.0 * double(blob->size()) / (3 * 77));
    std::vector<float> dec(77);
    for (std::size_t r = 0; r < 3; ++r) {
      ops->decode_row(*blob, 3, 77, r, dec.data());
      for (std::size_t i = 0; i < 77; ++i)
        REQUIRE(std::abs(dec[i] - w[r * 77 + i]) <= rel * std::abs(w[r * 77 + i]) + 1e-7);
    }
  }
}

TEST_CASE("dense kernels match the scalar reference on every architecture", "[codec][dense]") {
  for (auto shape : {std::pair<std::size_t, std::size_t>{1, 1}, {3, 33}, {5, 257}, {9, 896}, {7, 4864}}) {
    const std::size_t rows = shape.first, cols = shape.second;  // not a structured binding: clang 14 cannot capture those
    const auto w = int8_checks::random_matrix(rows, cols, rows + cols);
    const auto x = int8_checks::random_matrix(2, cols, cols, 1.0f);
    for (int t = 0; t < 3; ++t) {
      const codec_ops& ops = t == 0 ? f32_ops() : t == 1 ? f16_ops() : bf16_ops();
      auto blob = *ops.encode(w.data(), rows, cols, {});
      std::vector<double> ref(rows), mag(rows);
      for (std::size_t r = 0; r < rows; ++r) {
        ref[r] = dense_dot_reference(dense_type(t), blob.data() + r * cols * dense_element_bytes(dense_type(t)), cols, x.data());
        for (std::size_t i = 0; i < cols; ++i) mag[r] += std::abs(w[r * cols + i] * x[i]);
      }
      int archs = 0;
      simd::for_each_supported_arch<dense_kernels>([&](auto k, const char* name) {
        using K = decltype(k);
        ++archs;
        INFO(ops.name << " " << name << " " << rows << "x" << cols);
        std::vector<float> y(rows);
        K::matvec(t, blob.data(), cols, x.data(), y.data(), 0, rows);
        for (std::size_t r = 0; r < rows; ++r) REQUIRE(std::abs(y[r] - ref[r]) <= 1e-6 * (mag[r] + 1e-6) * std::sqrt(double(cols) + 1));
      });
      REQUIRE(archs >= 1);
      std::vector<float> Y(2 * rows), y(rows);
      ops.matmul(blob, rows, cols, x.data(), 2, Y.data(), 0, rows);
      ops.matvec(blob, rows, cols, x.data() + cols, y.data(), 0, rows);
      for (std::size_t r = 0; r < rows; ++r) REQUIRE(Y[rows + r] == y[r]);
    }
  }
}

TEST_CASE("dense codecs reject short blobs and non-finite values", "[codec][dense]") {
  const auto w = int8_checks::random_matrix(2, 8, 1);
  for (const codec_ops* ops : {&f32_ops(), &f16_ops(), &bf16_ops()}) {
    auto blob = *ops->encode(w.data(), 2, 8, {});
    REQUIRE(ops->validate(std::span<const std::byte>(blob).first(blob.size() - 2), 2, 8).err().code == errc::truncated);
    auto bad = blob;
    const std::size_t eb = blob.size() / 16;
    for (std::size_t b = 0; b < eb; ++b) bad[11 * eb + b] = std::byte(0xff);  // all-ones: NaN in every format
    auto v = ops->validate(bad, 2, 8);
    REQUIRE(!v.ok());
    REQUIRE(v.err().message.find("row 1") != std::string::npos);
  }
}

TEST_CASE("dense finite scan agrees with converting every element", "[codec][dense]") {
  // Every f16 and bf16 bit pattern, alone and at the end of a finite run (the vectorised tail).
  for (const dense_type t : {dense_type::f16, dense_type::bf16}) {
    std::vector<std::byte> run(2 * 37, std::byte(0x3c));  // 0x3c3c: finite in both formats
    for (std::uint32_t h = 0; h < 0x10000; ++h) {
      std::byte one[4] = {std::byte(h & 0xff), std::byte(h >> 8), {}, {}};  // room for the f32 branch
      const bool finite = std::isfinite(dense_element(t, one));
      REQUIRE(detail::dense_all_finite(t, one, 1) == finite);
      run[2 * 36] = one[0];
      run[2 * 36 + 1] = one[1];
      REQUIRE(detail::dense_all_finite(t, run.data(), 37) == finite);
    }
  }
  for (const float f : {0.f, -0.f, 1e-45f, 3.4e38f, -3.4e38f, INFINITY, -INFINITY, NAN}) {
    std::byte b[4];
    std::memcpy(b, &f, 4);
    REQUIRE(detail::dense_all_finite(dense_type::f32, b, 1) == std::isfinite(f));
  }
}
