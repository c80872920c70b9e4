#include <cmath>
#include <cstring>
#include <vector>

#include "catch.hpp"
#include "int8_codec_checks.hpp"
#include "tqlib/codec/ternary.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

// BitNet b1.58 absmean from the paper's formula, in double: per group of 64, gamma = mean|w|,
// t = clamp(round(w / gamma), -1, 1). Returns the trits and writes the group scales.
std::vector<int> absmean_by_hand(const float* w, std::size_t cols, std::vector<double>& gamma) {
  std::vector<int> t(cols);
  gamma.clear();
  for (std::size_t g = 0; g * 64 < cols; ++g) {
    const std::size_t n = std::min<std::size_t>(64, cols - 64 * g);
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += std::abs(double(w[64 * g + i]));
    gamma.push_back(s / double(n));
    for (std::size_t i = 0; i < n; ++i) {
      const double q = double(w[64 * g + i]) / gamma.back();
      t[64 * g + i] = q >= 0.5 ? 1 : q <= -0.5 ? -1 : 0;
    }
  }
  return t;
}

bool near_rounding_boundary(float w, double gamma) { return std::abs(std::abs(double(w) / gamma) - 0.5) < 1e-4; }

// Seed 002's published packing: {-1,0,1} -> {0,1,2}, byte = v0 + 3 v1 + 9 v2 + 27 v3.
std::vector<std::uint8_t> seed_pack(const std::vector<int>& t) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < t.size(); i += 4)
    out.push_back(std::uint8_t((t[i] + 1) + 3 * (t[i + 1] + 1) + 9 * (t[i + 2] + 1) + 27 * (t[i + 3] + 1)));
  return out;
}

}  // namespace

TEST_CASE("bitnet and ternary decode to absmean ternarization of each group of 64", "[codec][ternary]") {
  for (std::size_t cols : {7u, 64u, 100u, 896u}) {
    const auto w = int8_checks::random_matrix(3, cols, cols);
    for (const codec_ops* ops : {&bitnet_ops(), &ternary_ops()}) {
      auto blob = ops->encode(w.data(), 3, cols, {});
      REQUIRE(blob.ok());
      REQUIRE(ops->validate(*blob, 3, cols).ok());
      std::vector<float> dec(cols);
      for (std::size_t r = 0; r < 3; ++r) {
        std::vector<double> gamma;
        const auto t = absmean_by_hand(w.data() + r * cols, cols, gamma);
        ops->decode_row(*blob, 3, cols, r, dec.data());
        for (std::size_t i = 0; i < cols; ++i) {
          if (near_rounding_boundary(w[r * cols + i], gamma[i / 64])) continue;
          INFO(ops->name << " cols " << cols << " i " << i);
          REQUIRE(dec[i] == f16_to_f32(f32_to_f16(float(gamma[i / 64]))) * float(t[i]));
        }
      }
    }
  }
}

TEST_CASE("bitnet bytes are seed 002's packing, and seed checkpoints load as they are", "[codec][ternary]") {
  const std::size_t rows = 4, cols = 192;
  const auto w = int8_checks::random_matrix(rows, cols, 77);
  std::vector<std::uint8_t> packed;
  std::vector<float> scales;
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<double> gamma;
    const auto t = absmean_by_hand(w.data() + r * cols, cols, gamma);
    const auto p = seed_pack(t);
    packed.insert(packed.end(), p.begin(), p.end());
    for (double g : gamma) scales.push_back(float(g));
  }
  auto from_seed = bitnet_from_seed(packed, scales, rows, cols);
  REQUIRE(from_seed.ok());
  REQUIRE(bitnet_ops().validate(*from_seed, rows, cols).ok());
  auto encoded = bitnet_ops().encode(w.data(), rows, cols, {});
  REQUIRE(*from_seed == *encoded);
  // The packed bytes sit unchanged after each row's scales.
  for (std::size_t r = 0; r < rows; ++r)
    REQUIRE(std::memcmp(from_seed->data() + r * bitnet_layout::row_bytes(cols) + 2 * 3, packed.data() + r * cols / 4, cols / 4) == 0);

  auto bad = packed;
  bad[5] = 81;
  auto e = bitnet_from_seed(bad, scales, rows, cols);
  REQUIRE(!e.ok());
  REQUIRE(e.err().message.find("81") != std::string::npos);
  auto nan_scales = scales;
  nan_scales[2] = std::nanf("");
  REQUIRE(!bitnet_from_seed(packed, nan_scales, rows, cols).ok());
  REQUIRE(!bitnet_from_seed(packed, scales, rows, cols + 64).ok());
  REQUIRE(!bitnet_from_seed(packed, scales, 8, 96).ok());  // groups would straddle rows
}

TEST_CASE("bitnet and ternary bits per weight", "[codec][ternary]") {
  REQUIRE(bitnet_traits::bits_per_weight == 2.25);
  REQUIRE(ternary_traits::bits_per_weight == Approx(1.85));
  const auto w = int8_checks::random_matrix(2, 4864, 1);
  REQUIRE(bitnet_ops().bits_per_weight(*bitnet_ops().encode(w.data(), 2, 4864, {}), 2, 4864) == 2.25);
  // 896 weights: 14 f16 scales + 28 trit blocks = 5 packs of 32 bytes + 96 trits in 20 bytes.
  REQUIRE(*ternary_ops().packed_size(1, 896) == 28 + 160 + 20);
  REQUIRE(ternary_ops().bits_per_weight(*ternary_ops().encode(w.data(), 1, 896, {}), 1, 896) == Approx(208.0 * 8 / 896));
  // 4864 weights: 76 scales + 152 blocks = 30 packs + 64 trits in 13 bytes.
  REQUIRE(*ternary_ops().packed_size(1, 4864) == 152 + 960 + 13);
  REQUIRE(ternary_ops().bits_per_weight(*ternary_ops().encode(w.data(), 2, 4864, {}), 2, 4864) < 1.851);
}

TEST_CASE("bitnet and ternary kernels match the scalar integer reference on every architecture", "[codec][ternary]") {
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 1}, {3, 33}, {5, 100}, {6, 161}, {17, 320}, {9, 896}, {13, 4864}}) {
    int8_checks::kernels_match_integer_reference<bitnet_kernels, bitnet_layout>(bitnet_ops(), rows, cols, rows + cols);
    int8_checks::kernels_match_integer_reference<ternary_kernels, ternary_layout>(ternary_ops(), rows, cols, rows * 7 + cols);
  }
  int8_checks::ops_matvec_close_to_float(bitnet_ops(), 9, 896, 2);
  int8_checks::ops_matvec_close_to_float(ternary_ops(), 9, 896, 2);
}

TEST_CASE("bitnet and ternary reject hostile blobs", "[codec][ternary]") {
  const auto w = int8_checks::random_matrix(2, 896, 9);
  for (const codec_ops* ops : {&bitnet_ops(), &ternary_ops()}) {
    auto blob = *ops->encode(w.data(), 2, 896, {});
    REQUIRE(ops->validate(std::span<const std::byte>(blob).first(blob.size() - 1), 2, 896).err().code == errc::truncated);
    auto nan_scale = blob;
    store_le(nan_scale.data() + blob.size() / 2 + 6, std::uint16_t(0x7c00));  // row 1, scale 3 = Inf
    auto v = ops->validate(nan_scale, 2, 896);
    REQUIRE(!v.ok());
    REQUIRE(v.err().message.find("row 1") != std::string::npos);
  }
  auto b = *bitnet_ops().encode(w.data(), 1, 896, {});
  b[40] = std::byte(81);
  REQUIRE(bitnet_ops().validate(b, 1, 896).err().code == errc::corrupt);
  auto t = *ternary_ops().encode(w.data(), 1, 896, {});
  t[40] = std::byte(1);  // not ceil(q * 256 / 243) for any q < 243
  REQUIRE(ternary_ops().validate(t, 1, 896).err().code == errc::corrupt);
}
