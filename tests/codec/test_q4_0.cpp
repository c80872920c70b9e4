#include <cmath>
#include <cstring>
#include <vector>

#include "catch.hpp"
#include "int8_codec_checks.hpp"
#include "tqlib/codec/q4_0.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

// ggml's quantize_row_q4_0_ref transliterated from its published description (FACTS.md):
// max = the signed element of largest magnitude, d = max / -8, q = min(15, (int8)(x/d + 8.5)),
// low nibbles hold elements 0..15, high nibbles 16..31, block = { f16 d, uint8 qs[16] }.
std::vector<unsigned char> ggml_q4_0_by_hand(const float* x, std::size_t n) {
  std::vector<unsigned char> out;
  for (std::size_t i = 0; i < n; i += 32) {
    float amax = 0, max = 0;
    for (std::size_t j = 0; j < 32; ++j)
      if (amax < std::fabs(x[i + j])) {
        amax = std::fabs(x[i + j]);
        max = x[i + j];
      }
    const float d = max / -8;
    const float id = d ? 1.0f / d : 0.0f;
    const std::uint16_t h = f32_to_f16(d);
    out.push_back(static_cast<unsigned char>(h & 0xff));
    out.push_back(static_cast<unsigned char>(h >> 8));
    for (std::size_t j = 0; j < 16; ++j) {
      const int lo = std::min(15, int(static_cast<signed char>(x[i + j] * id + 8.5f)));
      const int hi = std::min(15, int(static_cast<signed char>(x[i + 16 + j] * id + 8.5f)));
      out.push_back(static_cast<unsigned char>(lo | (hi << 4)));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("q4_0 blocks are byte-identical to ggml Q4_0", "[codec][q4_0]") {
  const auto w = int8_checks::random_matrix(3, 512, 21);
  auto blob = q4_0_ops().encode(w.data(), 3, 512, {});
  REQUIRE(blob.ok());
  const auto expect = ggml_q4_0_by_hand(w.data(), w.size());
  REQUIRE(blob->size() == expect.size());
  REQUIRE(std::memcmp(blob->data(), expect.data(), expect.size()) == 0);
}

TEST_CASE("q4_0 round trip error is at most half a step, except the clipped top code", "[codec][q4_0]") {
  for (std::size_t cols : {1u, 17u, 32u, 33u, 896u}) {
    const auto w = int8_checks::random_matrix(4, cols, cols + 3);
    auto blob = q4_0_ops().encode(w.data(), 4, cols, {});
    REQUIRE(blob.ok());
    std::vector<float> dec(cols);
    for (std::size_t r = 0; r < 4; ++r) {
      q4_0_ops().decode_row(*blob, 4, cols, r, dec.data());
      for (std::size_t i = 0; i < cols; ++i) {
        const float d = std::abs(f16_to_f32(load_le<std::uint16_t>(blob->data() + r * q4_0_layout::row_bytes(cols) + (i / 32) * 18)));
        // Levels run -8d..7d with d = |max|/8: the extreme of the far sign sits at 8d and is clipped
        // to 7d (error d); every other weight rounds to within d/2. f16 storage of d adds 8 steps of
        // its rounding.
        const float scale_rounding = std::max(d * 0x1p-11f, 0x1p-25f);
        REQUIRE(std::abs(dec[i] - w[r * cols + i]) <= d + 9.f * scale_rounding);
        if (std::abs(w[r * cols + i]) < 7.5f * d) REQUIRE(std::abs(dec[i] - w[r * cols + i]) <= 0.5f * d + 9.f * scale_rounding);
      }
    }
  }
}

TEST_CASE("q4_0 bits per weight", "[codec][q4_0]") {
  REQUIRE(q4_0_traits::bits_per_weight == 4.5);
  const auto w = int8_checks::random_matrix(4, 896, 1);
  auto blob = q4_0_ops().encode(w.data(), 4, 896, {});
  REQUIRE(blob->size() == 4 * 28 * 18);
  REQUIRE(q4_0_ops().bits_per_weight(*blob, 4, 896) == 4.5);
}

TEST_CASE("q4_0 kernels match the scalar integer reference on every architecture", "[codec][q4_0]") {
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 1}, {3, 33}, {5, 95}, {17, 256}, {9, 896}, {13, 4864}})
    int8_checks::kernels_match_integer_reference<q4_0_kernels, q4_0_layout>(q4_0_ops(), rows, cols, rows * 1000 + cols);
}

TEST_CASE("q4_0 matvec with int8 activations stays within the activation rounding bound", "[codec][q4_0]") {
  int8_checks::ops_matvec_close_to_float(q4_0_ops(), 11, 896, 3);
  int8_checks::ops_matvec_close_to_float(q4_0_ops(), 6, 70, 4);
}

TEST_CASE("q4_0 rejects hostile blobs", "[codec][q4_0]") {
  const auto w = int8_checks::random_matrix(2, 64, 9);
  auto blob = *q4_0_ops().encode(w.data(), 2, 64, {});
  std::vector<std::byte> short_blob(blob.begin(), blob.begin() + 20);
  auto r = q4_0_ops().validate(short_blob, 2, 64);
  REQUIRE(!r.ok());
  REQUIRE(r.err().code == errc::truncated);
  auto copy = blob;
  store_le(copy.data() + 18 * 2, std::uint16_t(0x7e01));  // row 1, block 0: NaN
  auto v = q4_0_ops().validate(copy, 2, 64);
  REQUIRE(!v.ok());
  REQUIRE(v.err().message.find("not finite") != std::string::npos);
}
