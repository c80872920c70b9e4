#pragma once
// The one interface between weight codecs and everything above them (formats, model, tools).
//
// A quantized tensor is a 2-D matrix [rows x cols] (a linear layer's weight, out x in, as
// PyTorch stores it), encoded row by row into one contiguous byte blob. Codecs whose parameters
// are not implied by the codec id (AQLM's codebooks) keep them inside the blob behind a small
// header, so (codec id, rows, cols, bytes) is all any reader needs.
//
// The model never names a codec: it calls ops(id).matvec / matmul on row ranges, which lets the
// thread pool split rows across cores with results independent of the split.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tqlib/core/result.hpp"

namespace tqlib::codec {

enum class codec_id : std::uint16_t {
  f32 = 0,
  f16 = 1,
  bf16 = 2,
  q8 = 3,        // int8, one f16 scale per 32 (llama.cpp Q8_0 blocks)
  tq4_1s = 4,    // seed 000: RHT-256 + 16-level Gaussian Lloyd-Max, sign plane + 3-bit magnitudes
  turbo1 = 5,    // seed 001: TurboQuant_mse, 1..4 bits
  turbo2 = 6,
  turbo3 = 7,
  turbo4 = 8,
  ternary = 9,   // BitNet b1.58 absmean, dense 5 trits per byte
  bitnet = 10,   // seed 002's own layout: 4 trits per byte (v0 + 3v1 + 9v2 + 27v3), group 64
  tq1_0 = 11,    // llama.cpp TQ1_0 blocks (QK_K = 256)
  tq2_0 = 12,    // llama.cpp TQ2_0 blocks
  trit2 = 13,    // seed 004: depth-2 balanced trits (9 levels), group 16
  aqlm = 14,     // seed 003: additive codebooks, configuration in the blob header
  q4_0 = 15,     // llama.cpp Q4_0 (benchmark baseline)
  q4_1 = 16,     // llama.cpp Q4_1, Q5_0, Q5_1 (GGUF files: llama-quantize's fallback for rows
  q5_0 = 17,     //   that are not whole 256-weight super-blocks)
  q5_1 = 18,
  q4_k = 19,     // llama.cpp K-quants (Q4_K_M and friends), 256-weight super-blocks
  q5_k = 20,
  q6_k = 21,
};

// Options that change how a matrix is encoded (not how it is decoded).
struct encode_options {
  std::uint64_t seed = 0x7471'6c69'6200'0001ull;  // rotations / random init; recorded in the blob where needed
  // AQLM: configuration of the additive codebooks.
  int aqlm_num_codebooks = 2;
  int aqlm_nbits = 8;
  int aqlm_in_group = 8;
  int aqlm_out_group = 1;
  int aqlm_beam = 8;
};

struct codec_ops {
  codec_id id;
  std::string_view name;  // as on the command line and in MV2 headers
  // Exact size of a [rows x cols] blob, or nullopt when it depends on the blob's own header
  // (then validate() decides).
  std::optional<std::size_t> (*packed_size)(std::size_t rows, std::size_t cols);
  // Every check a reader needs before trusting the bytes: size, header fields, finite scales,
  // in-range codes. Names what is wrong.
  result<void> (*validate)(std::span<const std::byte> blob, std::size_t rows, std::size_t cols);
  result<std::vector<std::byte>> (*encode)(const float* w, std::size_t rows, std::size_t cols, const encode_options&);
  // Decodes one row into out[cols] (used by embeddings lookup and tests; not on the matvec path).
  void (*decode_row)(std::span<const std::byte> blob, std::size_t rows, std::size_t cols, std::size_t row, float* out);
  // y[r] = dot(W[r, :], x) for r in [r0, r1); y is indexed by absolute row.
  void (*matvec)(std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* x, float* y,
                 std::size_t r0, std::size_t r1);
  // Y[t, r] = dot(W[r, :], X[t, :]) for t < T, r in [r0, r1); X is T x cols, Y is T x rows.
  void (*matmul)(std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* X, std::size_t T,
                 float* Y, std::size_t r0, std::size_t r1);
  // Bits per weight all-in (scales, headers) for a [rows x cols] matrix.
  double (*bits_per_weight)(std::span<const std::byte> blob, std::size_t rows, std::size_t cols);
};

}  // namespace tqlib::codec
