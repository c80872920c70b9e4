// ggml's Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K blocks (codecs q4_1 ... q6_k): decoding against
// dequantizers written here in ggml's own loop order (ggml-quants.c dequantize_row_*), the
// encoders' error, every architecture's kernels against the scalar integer reference, and
// hostile blobs. Values from llama.cpp itself are checked in tests/model/test_gguf_llama_reference.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "catch.hpp"
#include "int8_codec_checks.hpp"
#include "tqlib/codec/registry.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

float f16(const unsigned char* p) { return f16_to_f32(std::uint16_t(p[0] | p[1] << 8)); }

// ggml's dequantize_row_q4_1 / q5_0 / q5_1, one 32-block.
void ggml_block32(codec_id id, const unsigned char* x, float* y) {
  const bool has_min = id != codec_id::q5_0, fifth = id != codec_id::q4_1;
  const float d = f16(x), m = has_min ? f16(x + 2) : 0.f;
  const unsigned char* qh_p = x + (has_min ? 4 : 2);
  const std::uint32_t qh = fifth ? std::uint32_t(qh_p[0] | qh_p[1] << 8 | qh_p[2] << 16 | std::uint32_t(qh_p[3]) << 24) : 0;
  const unsigned char* qs = qh_p + (fifth ? 4 : 0);
  for (int j = 0; j < 16; ++j) {
    const int xh0 = ((qh >> j) << 4) & 0x10, xh1 = (qh >> (j + 12)) & 0x10;
    int x0 = (qs[j] & 0x0f) | xh0, x1 = (qs[j] >> 4) | xh1;
    if (id == codec_id::q5_0) {
      y[j] = float(x0 - 16) * d;
      y[j + 16] = float(x1 - 16) * d;
    } else {
      y[j] = float(x0) * d + m;
      y[j + 16] = float(x1) * d + m;
    }
  }
}

void scale_min_k4(int j, const unsigned char* q, int& d, int& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

// ggml's dequantize_row_q4_K / q5_K / q6_K, one super-block of 256.
void ggml_super_block(codec_id id, const unsigned char* x, float* y) {
  if (id == codec_id::q6_k) {
    const float d = f16(x + 208);
    const unsigned char *ql = x, *qh = x + 128;
    const signed char* sc = reinterpret_cast<const signed char*>(x + 192);
    for (int n = 0; n < 256; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        y[l + 0] = d * sc[is + 0] * float(((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32);
        y[l + 32] = d * sc[is + 2] * float(((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32);
        y[l + 64] = d * sc[is + 4] * float(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
        y[l + 96] = d * sc[is + 6] * float(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
      }
      y += 128, ql += 64, qh += 32, sc += 8;
    }
    return;
  }
  const bool fifth = id == codec_id::q5_k;
  const float d = f16(x), dmin = f16(x + 2);
  const unsigned char* scales = x + 4;
  const unsigned char* qh = x + 16;
  const unsigned char* q = x + (fifth ? 48 : 16);
  int is = 0, u1 = 1, u2 = 2;
  for (int j = 0; j < 256; j += 64) {
    int sc, m;
    scale_min_k4(is + 0, scales, sc, m);
    const float d1 = d * float(sc), m1 = dmin * float(m);
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * float((q[l] & 0xF) + (fifth && (qh[l] & u1) ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * float((q[l] >> 4) + (fifth && (qh[l] & u2) ? 16 : 0)) - m2;
    q += 32, is += 2, u1 <<= 2, u2 <<= 2;
  }
}

struct block_shape {
  std::size_t weights, bytes;
};
block_shape shape_of(codec_id id) {
  switch (id) {
    case codec_id::q4_1: return {32, 20};
    case codec_id::q5_0: return {32, 22};
    case codec_id::q5_1: return {32, 24};
    case codec_id::q4_k: return {256, 144};
    case codec_id::q5_k: return {256, 176};
    default: return {256, 210};
  }
}

// Every row through codec_ops::decode_row against ggml's loops over the same bytes.
void decodes_as_ggml(const codec_ops& ops, const std::vector<std::byte>& blob, std::size_t rows, std::size_t cols) {
  const auto [n, bytes] = shape_of(ops.id);
  std::vector<float> got(cols), want(cols);
  const auto* p = reinterpret_cast<const unsigned char*>(blob.data());
  for (std::size_t r = 0; r < rows; ++r) {
    ops.decode_row(blob, rows, cols, r, got.data());
    for (std::size_t b = 0; b < cols / n; ++b) {
      const unsigned char* blk = p + (r * (cols / n) + b) * bytes;
      if (n == 32) ggml_block32(ops.id, blk, want.data() + 32 * b);
      else ggml_super_block(ops.id, blk, want.data() + 256 * b);
    }
    // The same products in float, but tqlib folds a block's min into one offset per block
    // (centre * d * sc - dmin * m, digits c - centre): a few roundings of terms no larger than
    // a few times the row's largest weight.
    float row_max = 0.f;
    for (float v : want) row_max = std::max(row_max, std::abs(v));
    for (std::size_t i = 0; i < cols; ++i) {
      INFO(ops.name << " row " << r << " element " << i);
      REQUIRE(std::abs(got[i] - want[i]) <= 1e-6f * row_max);
    }
  }
}

const codec_id all_ids[] = {codec_id::q4_1, codec_id::q5_0, codec_id::q5_1, codec_id::q4_k, codec_id::q5_k, codec_id::q6_k};

// Random bytes that are a valid block: scales replaced by small finite f16 values.
std::vector<std::byte> random_valid_blob(codec_id id, std::size_t rows, std::size_t cols, std::uint64_t seed) {
  const auto [n, bytes] = shape_of(id);
  xoshiro256ss rng(seed);
  std::vector<std::byte> blob(rows * cols / n * bytes);
  for (auto& b : blob) b = std::byte(rng.next() & 0xff);
  for (std::size_t k = 0; k < blob.size() / bytes; ++k) {
    std::byte* blk = blob.data() + k * bytes;
    auto put = [&](std::size_t at) { store_le(blk + at, f32_to_f16(float(rng.normal()) * 0.01f)); };
    if (id == codec_id::q6_k) put(208);
    else put(0);
    if (id == codec_id::q4_1 || id == codec_id::q5_1 || id == codec_id::q4_k || id == codec_id::q5_k) put(2);
  }
  return blob;
}

}  // namespace

TEST_CASE("ggml block codecs decode every code as ggml's dequantizers do", "[codec][ggml_quants]") {
  for (codec_id id : all_ids) {
    const codec_ops& ops = *find(id);
    const std::size_t cols = 512, rows = 3;
    const auto blob = random_valid_blob(id, rows, cols, 77 + int(id));
    REQUIRE(ops.validate(blob, rows, cols).ok());
    decodes_as_ggml(ops, blob, rows, cols);
  }
}

TEST_CASE("ggml block encoders: what they write decodes as ggml's dequantizers read it, within the level spacing", "[codec][ggml_quants]") {
  for (codec_id id : all_ids) {
    const codec_ops& ops = *find(id);
    const std::size_t rows = 4, cols = 1024;
    const auto w = int8_checks::random_matrix(rows, cols, 5 + int(id));
    auto blob = ops.encode(w.data(), rows, cols, {});
    REQUIRE(blob.ok());
    REQUIRE(blob->size() == rows * cols / shape_of(id).weights * shape_of(id).bytes);
    decodes_as_ggml(ops, *blob, rows, cols);
    // Relative RMS error of a Gaussian matrix: 4-bit codes near 0.1, 5-bit near 0.05, 6-bit
    // near 0.025 (each extra bit halves the step).
    std::vector<float> dec(cols);
    double err = 0, ref = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      ops.decode_row(*blob, rows, cols, r, dec.data());
      for (std::size_t i = 0; i < cols; ++i) err += std::pow(dec[i] - w[r * cols + i], 2), ref += std::pow(w[r * cols + i], 2);
    }
    const double rel = std::sqrt(err / ref);
    const double limit = id == codec_id::q6_k ? 0.03 : (id == codec_id::q4_1 || id == codec_id::q4_k) ? 0.12 : 0.06;
    INFO(ops.name << " relative RMS error " << rel);
    REQUIRE(rel < limit);
    REQUIRE(rel > limit / 4);  // it is a 4/5/6-bit code, not a lossless copy
  }
}

TEST_CASE("q5_0, q4_1 and q5_1 blocks are the bytes ggml's reference quantizers write", "[codec][ggml_quants]") {
  // quantize_row_q5_0_ref: d = max / -16 (max: the signed element of largest magnitude),
  // q = min(31, (int8)(x / d + 16.5)); q4_1 / q5_1: d = (max - min) / levels-1, m = min,
  // q = min(top, (int8)((x - min) / d + 0.5)).
  const auto w = int8_checks::random_matrix(1, 64, 3);
  for (codec_id id : {codec_id::q4_1, codec_id::q5_0, codec_id::q5_1}) {
    auto blob = find(id)->encode(w.data(), 1, 64, {});
    REQUIRE(blob.ok());
    const auto [n, bytes] = shape_of(id);
    for (std::size_t b = 0; b < 2; ++b) {
      const float* x = w.data() + 32 * b;
      std::vector<unsigned char> expect(bytes, 0);
      int q[32];
      float d, m = 0;
      if (id == codec_id::q5_0) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; ++j)
          if (amax < std::fabs(x[j])) amax = std::fabs(x[j]), max = x[j];
        d = max / -16;
        const float idd = d ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; ++j) q[j] = std::min(31, int(static_cast<signed char>(x[j] * idd + 16.5f)));
      } else {
        float mn = x[0], mx = x[0];
        for (int j = 1; j < 32; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
        const int top = id == codec_id::q4_1 ? 15 : 31;
        d = (mx - mn) / float(top);
        m = mn;
        const float idd = d ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; ++j) q[j] = std::min(top, int(static_cast<signed char>((x[j] - mn) * idd + 0.5f)));
      }
      std::size_t at = 0;
      auto put16 = [&](std::uint16_t h) { expect[at++] = h & 0xff, expect[at++] = h >> 8; };
      put16(f32_to_f16(d));
      if (id != codec_id::q5_0) put16(f32_to_f16(m));
      if (id != codec_id::q4_1) {
        std::uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) qh |= std::uint32_t((q[j] & 0x10) >> 4) << j | std::uint32_t((q[j + 16] & 0x10) >> 4) << (j + 16);
        for (int k = 0; k < 4; ++k) expect[at++] = (qh >> (8 * k)) & 0xff;
      }
      for (int j = 0; j < 16; ++j) expect[at++] = (q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4;
      INFO(find(id)->name << " block " << b);
      REQUIRE(std::memcmp(blob->data() + b * bytes, expect.data(), bytes) == 0);
    }
  }
}

TEST_CASE("ggml block codecs: kernels match the scalar integer reference on every architecture", "[codec][ggml_quants]") {
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 256}, {5, 512}, {17, 1024}, {9, 4864}}) {
    int8_checks::kernels_match_integer_reference<q4_1_kernels, q4_1_layout>(q4_1_ops(), rows, cols, rows + cols);
    int8_checks::kernels_match_integer_reference<q5_0_kernels, q5_0_layout>(q5_0_ops(), rows, cols, rows + cols);
    int8_checks::kernels_match_integer_reference<q5_1_kernels, q5_1_layout>(q5_1_ops(), rows, cols, rows + cols);
    int8_checks::kernels_match_integer_reference<q4_k_kernels, q4_k_layout>(q4_k_ops(), rows, cols, rows + cols);
    int8_checks::kernels_match_integer_reference<q5_k_kernels, q5_k_layout>(q5_k_ops(), rows, cols, rows + cols);
    int8_checks::kernels_match_integer_reference<q6_k_kernels, q6_k_layout>(q6_k_ops(), rows, cols, rows + cols);
  }
  // The 32-block codecs pad a row's last block.
  for (std::size_t cols : {1u, 33u, 95u})
    int8_checks::kernels_match_integer_reference<q5_1_kernels, q5_1_layout>(q5_1_ops(), 5, cols, cols);
}

TEST_CASE("ggml block codecs: matvec with int8 activations stays within the activation rounding bound", "[codec][ggml_quants]") {
  for (codec_id id : all_ids) {
    int8_checks::ops_matvec_close_to_float(*find(id), 11, 1024, 3);
    int8_checks::ops_matvec_close_to_float(*find(id), 6, 256, 4);
  }
}

TEST_CASE("ggml block codecs reject hostile blobs by name", "[codec][ggml_quants]") {
  for (codec_id id : all_ids) {
    const codec_ops& ops = *find(id);
    INFO(ops.name);
    const auto [n, bytes] = shape_of(id);
    auto blob = random_valid_blob(id, 2, 512, 9);
    REQUIRE(ops.validate(blob, 2, 512).ok());
    std::vector<std::byte> short_blob(blob.begin(), blob.end() - 1);
    auto r = ops.validate(short_blob, 2, 512);
    REQUIRE(!r.ok());
    REQUIRE(r.err().code == errc::truncated);
    // A NaN scale (and, where there is one, a NaN min) in row 1.
    const std::size_t last = blob.size() - bytes;
    for (std::size_t at : {std::size_t(id == codec_id::q6_k ? 208 : 0), std::size_t(id == codec_id::q5_0 || id == codec_id::q6_k ? 999 : 2)}) {
      if (at == 999) continue;
      auto copy = blob;
      store_le(copy.data() + last + at, std::uint16_t(0x7e01));
      auto v = ops.validate(copy, 2, 512);
      REQUIRE(!v.ok());
      REQUIRE(v.err().message.find("not finite") != std::string::npos);
      REQUIRE(v.err().message.find(std::string(ops.name)) != std::string::npos);
    }
    if (n == 256) {
      const auto w = int8_checks::random_matrix(1, 300, 1);
      auto e = ops.encode(w.data(), 1, 300, {});
      REQUIRE(!e.ok());
      REQUIRE(e.err().message.find("multiple of 256") != std::string::npos);
      REQUIRE(!ops.validate(blob, 4, 256 + 32).ok());
    }
  }
}
