#include <cmath>
#include <cstring>
#include <vector>

#include "catch.hpp"
#include "int8_codec_checks.hpp"
#include "tqlib/codec/trit.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

// docs/codecs/trit2.md, read directly: f32 s_row, 4-bit codes, then a trit stream whose packs of
// 5 blocks put digit n of byte m at block 5p + n, element m; digit n = ((byte * 3^n mod 256) * 3) >> 8.
std::vector<float> trit2_decode_by_hand(const std::byte* row, std::size_t cols) {
  float s_row;
  std::memcpy(&s_row, row, 4);
  const std::size_t groups = (cols + 15) / 16, blocks = (cols + 31) / 32;
  const unsigned char* stream = reinterpret_cast<const unsigned char*>(row) + 4 + (groups + 1) / 2;
  const std::size_t nblocks = 2 * blocks, packs = nblocks / 5;
  auto digit = [](unsigned char byte, int n) {
    const unsigned char p[5] = {1, 3, 9, 27, 81};
    return int((unsigned((unsigned char)(byte * p[n])) * 3) >> 8);
  };
  auto trit = [&](std::size_t block, std::size_t m) {
    if (block < 5 * packs) return digit(stream[32 * (block / 5) + m], int(block % 5)) - 1;
    const std::size_t t = 32 * (block - 5 * packs) + m;
    return digit(stream[32 * packs + t / 5], int(t % 5)) - 1;
  };
  std::vector<float> w(cols);
  for (std::size_t i = 0; i < cols; ++i) {
    const int code = (std::uint8_t(row[4 + i / 32]) >> (4 * ((i / 16) % 2))) & 15;
    const float s = s_row * float((code % 2 ? std::sqrt(0.5) : 1.0) / double(1 << (code / 2)));
    const int q = trit(2 * (i / 32), i % 32) + 3 * trit(2 * (i / 32) + 1, i % 32);
    w[i] = s * float(q);
  }
  return w;
}

}  // namespace

TEST_CASE("trit2 decodes as its documented layout says", "[codec][trit]") {
  for (std::size_t cols : {1u, 16u, 17u, 96u, 160u, 896u}) {
    const auto w = int8_checks::random_matrix(2, cols, cols);
    auto blob = trit2_ops().encode(w.data(), 2, cols, {});
    REQUIRE(blob.ok());
    REQUIRE(trit2_ops().validate(*blob, 2, cols).ok());
    std::vector<float> dec(cols);
    for (std::size_t r = 0; r < 2; ++r) {
      trit2_ops().decode_row(*blob, 2, cols, r, dec.data());
      const auto expect = trit2_decode_by_hand(blob->data() + r * trit2_layout::row_bytes(cols), cols);
      for (std::size_t i = 0; i < cols; ++i) REQUIRE(dec[i] == Approx(expect[i]).epsilon(1e-6).margin(1e-12));
    }
  }
}

TEST_CASE("trit2 picks, per group, a scale at least as good as the unclipped absmax/4 one", "[codec][trit]") {
  const std::size_t cols = 896;
  const auto w = int8_checks::random_matrix(4, cols, 3);
  auto blob = *trit2_ops().encode(w.data(), 4, cols, {});
  std::vector<float> dec(cols);
  double err_all = 0, energy = 0;
  for (std::size_t r = 0; r < 4; ++r) {
    trit2_ops().decode_row(blob, 4, cols, r, dec.data());
    float s_row = 0;
    for (std::size_t i = 0; i < cols; ++i) s_row = std::max(s_row, std::abs(w[r * cols + i]));
    s_row /= 4;
    for (std::size_t g = 0; g < cols / 16; ++g) {
      float amax = 0;
      for (std::size_t i = 16 * g; i < 16 * g + 16; ++i) amax = std::max(amax, std::abs(w[r * cols + i]));
      // The smallest offered scale s_row * 2^(-k/2) that covers the group without clipping.
      double s = s_row;
      for (int k = 15; k >= 0; --k) {
        const double cand = s_row * ((k % 2 ? std::sqrt(0.5) : 1.0) / double(1 << (k / 2)));
        if (cand * 4 >= amax * (1 - 1e-6)) { s = cand; break; }
      }
      double err_rule = 0, err_codec = 0;
      for (std::size_t i = 16 * g; i < 16 * g + 16; ++i) {
        const double x = w[r * cols + i];
        const double q = std::clamp(std::round(x / s), -4.0, 4.0);
        err_rule += (x - s * q) * (x - s * q);
        err_codec += (x - dec[i]) * (x - dec[i]);
        energy += x * x;
      }
      // Uniform rounding never errs by more than half a step per weight.
      REQUIRE(err_rule <= 16 * (s / 2) * (s / 2) * 1.0001);
      REQUIRE(err_codec <= err_rule * (1 + 1e-5) + 1e-14);
      err_all += err_codec;
    }
  }
  // Nine uniform levels over about +-2 sigma: step ~0.5 sigma, rounding noise ~step^2/12.
  REQUIRE(err_all / energy < 0.03);
}

TEST_CASE("trit2 bits per weight stay under 3.5", "[codec][trit]") {
  REQUIRE(trit2_traits::max_level == 4);
  REQUIRE(trit2_traits::bits_per_weight == Approx(3.45));
  // 896: 4 + 28 code bytes + 56 trit blocks = 11 packs (352 bytes) + 1 block in 7 bytes.
  REQUIRE(*trit2_ops().packed_size(1, 896) == 4 + 28 + 352 + 7);
  // 4864: 4 + 152 + 304 blocks = 60 packs (1920) + 4 blocks in 26 bytes.
  REQUIRE(*trit2_ops().packed_size(1, 4864) == 4 + 152 + 1920 + 26);
  const auto w = int8_checks::random_matrix(2, 4864, 1);
  for (std::size_t cols : {896u, 4864u}) {
    const double bpw = trit2_ops().bits_per_weight(*trit2_ops().encode(w.data(), 2, cols, {}), 2, cols);
    REQUIRE(bpw < 3.5);
    REQUIRE(bpw == Approx(8.0 * double(*trit2_ops().packed_size(1, cols)) / double(cols)));
  }
}

TEST_CASE("trit2 kernels match the scalar integer reference on every architecture", "[codec][trit]") {
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 1}, {3, 33}, {4, 96}, {5, 100}, {6, 161}, {17, 320}, {7, 405},
                              {9, 896}, {13, 4864}})
    int8_checks::kernels_match_integer_reference<trit2_kernels, trit2_layout>(trit2_ops(), rows, cols, rows + 5 * cols);
  int8_checks::ops_matvec_close_to_float(trit2_ops(), 9, 896, 2);
  int8_checks::ops_matvec_close_to_float(trit2_ops(), 5, 33, 2);
}

TEST_CASE("trit2 rejects hostile blobs", "[codec][trit]") {
  const auto w = int8_checks::random_matrix(2, 896, 9);
  auto blob = *trit2_ops().encode(w.data(), 2, 896, {});
  const std::size_t rb = trit2_layout::row_bytes(896);
  REQUIRE(trit2_ops().validate(std::span<const std::byte>(blob).first(blob.size() - 3), 2, 896).err().code == errc::truncated);
  for (float bad : {std::nanf(""), INFINITY, -1.0f}) {
    auto copy = blob;
    store_le(copy.data() + rb, bad);
    auto v = trit2_ops().validate(copy, 2, 896);
    REQUIRE(!v.ok());
    REQUIRE(v.err().message.find("row 1") != std::string::npos);
  }
  auto copy = blob;
  copy[rb + 100] = std::byte(1);  // in row 1's trit stream; 1 is not a packed base-3 value
  REQUIRE(trit2_ops().validate(copy, 2, 896).err().code == errc::corrupt);
  REQUIRE(!trit2_ops().encode(std::vector<float>{1.f, NAN}.data(), 1, 2, {}).ok());
}
