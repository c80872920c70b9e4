#pragma once
// TurboQuant-compressed head vectors for the KV cache: each key or value head vector is stored
// as its scale (norm / sqrt(d), float) and one b-bit Lloyd-Max index per coordinate of the
// randomly rotated vector (codec::turbo_mse_vector_quantizer, TurboQuant_mse), packed 8 indices
// into b bytes: 4 + d b / 8 bytes instead of 2 head_dim for f16. d is head_dim (64, 128 in real
// Qwen models), or, when head_dim is not a power of two, the next one (>= 8) with the vector
// zero-padded: the rotation and codebook need a power of two, and padding keeps dot products
// exact (the padded query coordinates are zero too).
//
// Why attention never decodes a vector: the rotation R is orthonormal, so <q, k> = <R q, R k>,
// and coordinate i of R k is norm / sqrt(d) * level[index_i]. A query is rotated once per head,
// then every score is a dot product with table-looked-up levels; values are summed in the
// rotated domain (sum_s p_s R v_s = R sum_s p_s v_s) and rotated back once per head. One
// rotation per query head instead of one inverse rotation per cached position.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "tqlib/codec/hadamard.hpp"
#include "tqlib/codec/turboquant.hpp"
#include "tqlib/core/result.hpp"

namespace tqlib::model {

// Rotation seed of every compressed KV cache ("KVTURBO" in ASCII). In memory only, never in a file.
inline constexpr std::uint64_t kv_turbo_seed = 0x004b'5654'5552'424full;

class turbo_kv_codec {
 public:
  // Bits 2..4 and head_dim 1..4096 (padded, the rotation's range); anything else is an error
  // naming the value.
  static result<void> check(std::size_t head_dim, int bits) {
    if (bits < 2 || bits > 4)
      return make_error(errc::invalid_argument, "KV cache bits must be 2, 3 or 4, not " + std::to_string(bits));
    if (head_dim < 1 || head_dim > codec::max_rht_block)
      return make_error(errc::unsupported,
                        "a TurboQuant KV cache needs head_dim in 1..4096, not " + std::to_string(head_dim));
    return {};
  }

  // The rotated dimension for a head_dim: the next power of two, at least 8 (one packing group).
  static constexpr std::size_t padded_dim(std::size_t head_dim) noexcept {
    std::size_t d = 8;
    while (d < head_dim) d *= 2;
    return d;
  }

  turbo_kv_codec(std::size_t head_dim, int bits)
      : q_(padded_dim(head_dim), bits, kv_turbo_seed), head_dim_(head_dim), d_(padded_dim(head_dim)), bits_(bits),
        inv_sqrt_d_(codec::inverse_sqrt_power_of_two(d_)) {}

  std::size_t head_dim() const noexcept { return head_dim_; }
  std::size_t dim() const noexcept { return d_; }  // rotated (padded) dimension
  int bits() const noexcept { return bits_; }
  std::size_t code_bytes() const noexcept { return d_ * std::size_t(bits_) / 8; }  // d is a multiple of 8
  std::size_t scratch_floats() const noexcept { return 3 * d_; }

  // Packs x[head_dim] into code[code_bytes()]; returns the scale s = ||x|| / sqrt(d), so that
  // coordinate i of R x is s * levels()[index_i]. scratch holds scratch_floats() floats.
  float encode(const float* x, float* scratch, std::uint8_t* code) const {
    float* padded = scratch;
    float* rotated = scratch + d_;
    std::uint8_t* index = reinterpret_cast<std::uint8_t*>(scratch + 2 * d_);
    std::copy(x, x + head_dim_, padded);
    std::fill(padded + head_dim_, padded + d_, 0.0f);
    const float norm = q_.encode_to(padded, rotated, index);
    pack(index, code);
    return norm * inv_sqrt_d_;
  }

  // out[i] = levels()[index_i]: the rotated vector divided by its scale.
  void unpack_levels(const std::uint8_t* code, float* out) const noexcept {
    const float* lv = q_.levels().data();
    const unsigned b = unsigned(bits_), mask = (1u << b) - 1u;
    for (std::size_t g = 0; g < d_ / 8; ++g, code += b) {
      std::uint32_t w = 0;
      for (unsigned j = 0; j < b; ++j) w |= std::uint32_t(code[j]) << (8 * j);
      for (unsigned j = 0; j < 8; ++j) out[8 * g + j] = lv[(w >> (j * b)) & mask];
    }
  }

  // out[d] = R x for x[head_dim] zero-padded (queries, before scoring).
  void rotate(const float* x, float* out) const noexcept {
    std::copy(x, x + head_dim_, out);
    std::fill(out + head_dim_, out + d_, 0.0f);
    codec::rht_forward(out, d_, q_.sign_words().data());
  }
  // out[head_dim] = the first head_dim coordinates of R^-1 x; x[d] is overwritten (value sums,
  // after accumulating; the padded coordinates are quantization noise and are dropped).
  void unrotate(float* x, float* out) const noexcept {
    codec::rht_inverse(x, d_, q_.sign_words().data());
    std::copy(x, x + head_dim_, out);
  }

 private:
  void pack(const std::uint8_t* index, std::uint8_t* code) const noexcept {
    const unsigned b = unsigned(bits_);
    for (std::size_t g = 0; g < d_ / 8; ++g, code += b) {
      std::uint32_t w = 0;
      for (unsigned j = 0; j < 8; ++j) w |= std::uint32_t(index[8 * g + j]) << (j * b);
      for (unsigned j = 0; j < b; ++j) code[j] = std::uint8_t(w >> (8 * j));
    }
  }

  codec::turbo_mse_vector_quantizer q_;
  std::size_t head_dim_, d_;
  int bits_;
  float inv_sqrt_d_;
};

}  // namespace tqlib::model
