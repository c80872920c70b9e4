#include <cmath>
#include <cstring>
#include <vector>

#include "catch.hpp"
#include "int8_codec_checks.hpp"
#include "tqlib/codec/q8.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

// ggml's quantize_row_q8_0_ref transliterated from its published description (FACTS.md):
// d = amax / 127, q = roundf(x / d), block = { f16 d, int8 q[32] }.
std::vector<unsigned char> ggml_q8_0_by_hand(const float* x, std::size_t n) {
  std::vector<unsigned char> out;
  for (std::size_t i = 0; i < n; i += 32) {
    float amax = 0;
    for (std::size_t j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[i + j]));
    const float d = amax / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    const std::uint16_t h = f32_to_f16(d);
    out.push_back(static_cast<unsigned char>(h & 0xff));
    out.push_back(static_cast<unsigned char>(h >> 8));
    for (std::size_t j = 0; j < 32; ++j) out.push_back(static_cast<unsigned char>(static_cast<signed char>(std::roundf(x[i + j] * id))));
  }
  return out;
}

}  // namespace

TEST_CASE("q8 blocks are byte-identical to ggml Q8_0", "[codec][q8]") {
  const auto w = int8_checks::random_matrix(3, 256, 11);
  auto blob = q8_ops().encode(w.data(), 3, 256, {});
  REQUIRE(blob.ok());
  const auto expect = ggml_q8_0_by_hand(w.data(), w.size());
  REQUIRE(blob->size() == expect.size());
  REQUIRE(std::memcmp(blob->data(), expect.data(), expect.size()) == 0);
}

TEST_CASE("q8 round trip error is at most half a step per element", "[codec][q8]") {
  for (std::size_t cols : {1u, 31u, 32u, 33u, 896u}) {
    const auto w = int8_checks::random_matrix(5, cols, cols);
    auto blob = q8_ops().encode(w.data(), 5, cols, {});
    REQUIRE(blob.ok());
    std::vector<float> dec(cols);
    for (std::size_t r = 0; r < 5; ++r) {
      q8_ops().decode_row(*blob, 5, cols, r, dec.data());
      for (std::size_t i = 0; i < cols; ++i) {
        const float d = f16_to_f32(load_le<std::uint16_t>(blob->data() + r * q8_layout::row_bytes(cols) + (i / 32) * 34));
        // q was chosen with the unrounded scale; storing it as f16 moves it by at most 2^-11 relative
        // (2^-25 absolute when subnormal), and each of up to 127 steps with it.
        const float scale_rounding = std::max(d * 0x1p-11f, 0x1p-25f);
        REQUIRE(std::abs(dec[i] - w[r * cols + i]) <= 0.5f * d + 128.f * scale_rounding);
      }
    }
  }
}

TEST_CASE("q8 bits per weight", "[codec][q8]") {
  REQUIRE(q8_traits::bits_per_weight == 8.5);
  const auto w = int8_checks::random_matrix(4, 896, 1);
  auto blob = q8_ops().encode(w.data(), 4, 896, {});
  REQUIRE(blob->size() == 4 * 28 * 34);
  REQUIRE(q8_ops().bits_per_weight(*blob, 4, 896) == 8.5);
  REQUIRE(*q8_ops().packed_size(4, 33) == 4 * 2 * 34);
}

TEST_CASE("q8 kernels match the scalar integer reference on every architecture", "[codec][q8]") {
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 1}, {3, 33}, {5, 95}, {17, 256}, {9, 896}, {13, 4864}})
    int8_checks::kernels_match_integer_reference<q8_kernels, q8_layout>(q8_ops(), rows, cols, rows * 1000 + cols);
}

TEST_CASE("q8 matvec with int8 activations stays within the activation rounding bound", "[codec][q8]") {
  int8_checks::ops_matvec_close_to_float(q8_ops(), 11, 896, 3);
  int8_checks::ops_matvec_close_to_float(q8_ops(), 6, 70, 4);
}

TEST_CASE("q8 rejects hostile blobs", "[codec][q8]") {
  const auto w = int8_checks::random_matrix(2, 64, 9);
  auto blob = *q8_ops().encode(w.data(), 2, 64, {});
  std::vector<std::byte> short_blob(blob.begin(), blob.end() - 1);
  auto r = q8_ops().validate(short_blob, 2, 64);
  REQUIRE(!r.ok());
  REQUIRE(r.err().code == errc::truncated);
  for (std::uint16_t bad : {std::uint16_t(0x7c00), std::uint16_t(0x7e00), std::uint16_t(0xfc00)}) {
    auto copy = blob;
    store_le(copy.data() + 34 * 3, bad);  // row 1, block 1
    auto v = q8_ops().validate(copy, 2, 64);
    REQUIRE(!v.ok());
    REQUIRE(v.err().code == errc::corrupt);
    REQUIRE(v.err().message.find("row 1") != std::string::npos);
  }
  REQUIRE(q8_ops().validate(blob, 2, 64).ok());
}
