#include <cmath>
#include <cstring>
#include <vector>

#include "catch.hpp"
#include "int8_codec_checks.hpp"
#include "tqlib/codec/tq1_0.hpp"
#include "tqlib/codec/tq2_0.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

// The published ggml algorithms (quantize_row_tq1_0_ref, quantize_row_tq2_0_ref) followed step by
// step, loop for loop, independent of the codec: 256-element blocks, d = amax, xi = lround(x/d) + 1.
std::vector<unsigned char> ggml_tq1_0_by_hand(const float* x, std::size_t n) {
  std::vector<unsigned char> out;
  for (std::size_t i = 0; i < n; i += 256, x += 256) {
    float amax = 0;
    for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float id = amax ? 1.0f / amax : 0.0f;
    unsigned char qs[48], qh[4];
    const float* p = x;
    for (int m = 0; m < 32; ++m) {  // 5 elements per byte, along 32 bytes
      unsigned char q = 0;
      for (int k = 0; k < 5; ++k) q = static_cast<unsigned char>(q * 3 + (std::lround(p[m + k * 32] * id) + 1));
      qs[m] = static_cast<unsigned char>((q * 256 + 242) / 243);
    }
    p += 160;
    for (int m = 0; m < 16; ++m) {  // along 16 bytes
      unsigned char q = 0;
      for (int k = 0; k < 5; ++k) q = static_cast<unsigned char>(q * 3 + (std::lround(p[m + k * 16] * id) + 1));
      qs[32 + m] = static_cast<unsigned char>((q * 256 + 242) / 243);
    }
    p += 80;
    for (int j = 0; j < 4; ++j) {  // 4 elements per byte, then shifted to the top trit
      unsigned char q = 0;
      for (int k = 0; k < 4; ++k) q = static_cast<unsigned char>(q * 3 + (std::lround(p[j + k * 4] * id) + 1));
      q = static_cast<unsigned char>(q * 3);
      qh[j] = static_cast<unsigned char>((q * 256 + 242) / 243);
    }
    out.insert(out.end(), qs, qs + 48);
    out.insert(out.end(), qh, qh + 4);
    const std::uint16_t h = f32_to_f16(amax);
    out.push_back(static_cast<unsigned char>(h & 0xff));
    out.push_back(static_cast<unsigned char>(h >> 8));
  }
  return out;
}

std::vector<unsigned char> ggml_tq2_0_by_hand(const float* x, std::size_t n) {
  std::vector<unsigned char> out;
  for (std::size_t i = 0; i < n; i += 256, x += 256) {
    float amax = 0;
    for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float id = amax ? 1.0f / amax : 0.0f;
    for (int j = 0; j < 64; j += 32)
      for (int m = 0; m < 32; ++m) {
        unsigned q = 0;
        for (int k = 0; k < 4; ++k) q += unsigned((std::lround(x[j * 4 + m + k * 32] * id) + 1) & 3) << (2 * k);
        out.push_back(static_cast<unsigned char>(q));
      }
    const std::uint16_t h = f32_to_f16(amax);
    out.push_back(static_cast<unsigned char>(h & 0xff));
    out.push_back(static_cast<unsigned char>(h >> 8));
  }
  return out;
}

// ggml's dequantize_row_tq1_0, step by step.
std::vector<float> ggml_tq1_0_dequantize_by_hand(const unsigned char* blk) {
  const unsigned char pow3[6] = {1, 3, 9, 27, 81, 243};
  const float d = f16_to_f32(std::uint16_t(blk[52] | (blk[53] << 8)));
  std::vector<float> y;
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 32; ++m) y.push_back(float(((unsigned char)(blk[m] * pow3[n]) * 3 >> 8) - 1) * d);
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 16; ++m) y.push_back(float(((unsigned char)(blk[32 + m] * pow3[n]) * 3 >> 8) - 1) * d);
  for (int n = 0; n < 4; ++n)
    for (int j = 0; j < 4; ++j) y.push_back(float(((unsigned char)(blk[48 + j] * pow3[n]) * 3 >> 8) - 1) * d);
  return y;
}

}  // namespace

TEST_CASE("tq1_0 and tq2_0 blocks are byte-identical to ggml's published algorithms", "[codec][tq]") {
  const auto w = int8_checks::random_matrix(3, 768, 31);
  auto b1 = tq1_0_ops().encode(w.data(), 3, 768, {});
  auto b2 = tq2_0_ops().encode(w.data(), 3, 768, {});
  REQUIRE(b1.ok());
  REQUIRE(b2.ok());
  const auto e1 = ggml_tq1_0_by_hand(w.data(), w.size());
  const auto e2 = ggml_tq2_0_by_hand(w.data(), w.size());
  REQUIRE(b1->size() == e1.size());
  REQUIRE(b2->size() == e2.size());
  REQUIRE(std::memcmp(b1->data(), e1.data(), e1.size()) == 0);
  REQUIRE(std::memcmp(b2->data(), e2.data(), e2.size()) == 0);
  // And decoding follows ggml's element order.
  std::vector<float> dec(768);
  tq1_0_ops().decode_row(*b1, 3, 768, 1, dec.data());
  for (std::size_t k = 0; k < 3; ++k) {
    const auto expect = ggml_tq1_0_dequantize_by_hand(e1.data() + (3 + k) * 54);
    for (std::size_t e = 0; e < 256; ++e) REQUIRE(dec[256 * k + e] == expect[e]);
  }
}

TEST_CASE("tq1_0 and tq2_0 decode to the ternary rounding of w / max|w|", "[codec][tq]") {
  const auto w = int8_checks::random_matrix(2, 512, 5);
  for (const codec_ops* ops : {&tq1_0_ops(), &tq2_0_ops()}) {
    auto blob = ops->encode(w.data(), 2, 512, {});
    std::vector<float> dec(512);
    for (std::size_t r = 0; r < 2; ++r) {
      ops->decode_row(*blob, 2, 512, r, dec.data());
      for (std::size_t k = 0; k < 2; ++k) {
        float amax = 0;
        for (std::size_t j = 0; j < 256; ++j) amax = std::max(amax, std::abs(w[r * 512 + 256 * k + j]));
        const float d = f16_to_f32(f32_to_f16(amax));
        for (std::size_t j = 0; j < 256; ++j) {
          const float x = w[r * 512 + 256 * k + j] / amax;
          const float t = x >= 0.5f ? 1.f : x <= -0.5f ? -1.f : 0.f;
          REQUIRE(dec[256 * k + j] == t * d);
        }
      }
    }
  }
}

TEST_CASE("tq1_0 and tq2_0 bits per weight", "[codec][tq]") {
  REQUIRE(tq1_0_traits::bits_per_weight == 1.6875);
  REQUIRE(tq2_0_traits::bits_per_weight == 2.0625);
  REQUIRE(*tq1_0_ops().packed_size(4, 4864) == 4 * 19 * 54);
  REQUIRE(*tq2_0_ops().packed_size(4, 4864) == 4 * 19 * 66);
  const auto w = int8_checks::random_matrix(2, 1024, 1);
  REQUIRE(tq1_0_ops().bits_per_weight(*tq1_0_ops().encode(w.data(), 2, 1024, {}), 2, 1024) == 1.6875);
  REQUIRE(tq2_0_ops().bits_per_weight(*tq2_0_ops().encode(w.data(), 2, 1024, {}), 2, 1024) == 2.0625);
}

TEST_CASE("tq1_0 and tq2_0 kernels match the scalar integer reference on every architecture", "[codec][tq]") {
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 256}, {5, 512}, {17, 768}, {13, 4864}}) {
    int8_checks::kernels_match_integer_reference<tq1_0_kernels, tq1_0_layout>(tq1_0_ops(), rows, cols, rows + cols);
    int8_checks::kernels_match_integer_reference<tq2_0_kernels, tq2_0_layout>(tq2_0_ops(), rows, cols, rows * 3 + cols);
  }
  int8_checks::ops_matvec_close_to_float(tq1_0_ops(), 9, 1024, 2);
  int8_checks::ops_matvec_close_to_float(tq2_0_ops(), 9, 1024, 2);
}

TEST_CASE("tq1_0 and tq2_0 reject rows that are not a multiple of 256 and hostile blobs", "[codec][tq]") {
  const auto w = int8_checks::random_matrix(2, 896, 9);
  for (const codec_ops* ops : {&tq1_0_ops(), &tq2_0_ops()}) {
    auto e = ops->encode(w.data(), 2, 896, {});
    REQUIRE(!e.ok());
    REQUIRE(e.err().message.find("multiple of 256") != std::string::npos);
    REQUIRE(!ops->packed_size(2, 896));
    REQUIRE(!ops->validate(std::vector<std::byte>(1000), 2, 896).ok());
    auto blob = *ops->encode(w.data(), 1, 768, {});
    REQUIRE(ops->validate(blob, 1, 768).ok());
    REQUIRE(ops->validate(std::span<const std::byte>(blob).first(blob.size() - 1), 1, 768).err().code == errc::truncated);
    const std::size_t bb = blob.size() / 3;
    auto nan_scale = blob;
    nan_scale[bb + bb - 1] = std::byte(0x7c);  // block 1's f16 scale high byte: Inf / NaN
    REQUIRE(ops->validate(nan_scale, 1, 768).err().message.find("not finite") != std::string::npos);
  }
  auto b2 = *tq2_0_ops().encode(w.data(), 1, 256, {});
  b2[10] = std::byte(0x0c);  // pair 1 = binary 11
  REQUIRE(tq2_0_ops().validate(b2, 1, 256).err().code == errc::corrupt);
  auto b1 = *tq1_0_ops().encode(w.data(), 1, 256, {});
  // 255 is canonical (ceil(242 * 256 / 243)); 1 is not (q = 0 gives 0, q = 1 gives 2).
  b1[3] = std::byte(1);
  REQUIRE(tq1_0_ops().validate(b1, 1, 256).err().message.find("not a packed base-3") != std::string::npos);
  b1[3] = std::byte(255);
  REQUIRE(tq1_0_ops().validate(b1, 1, 256).ok());
  b1[49] = std::byte(255);  // qh bytes carry only 4 digits: the fifth must be 0
  REQUIRE(!tq1_0_ops().validate(b1, 1, 256).ok());
}
