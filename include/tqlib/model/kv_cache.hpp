#pragma once
// Keys and values of every past position, per layer: [layer][position][kv_dim]. Stored as f16
// by default (half the memory and bandwidth of f32; attention converts on the fly through a
// 64K-entry table), as f32 (exact, for tests against float64 references), or TurboQuant-
// compressed at 2, 3 or 4 bits per coordinate (model/turbo_kv.hpp: per head vector a scale and
// packed indices, read by attention without decoding).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tqlib/core/float16.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/model/turbo_kv.hpp"

namespace tqlib::model {

enum class kv_type { f16, f32, turbo2, turbo3, turbo4 };

// Bits per stored coordinate: 16, 32, or the TurboQuant index width.
constexpr int kv_bits(kv_type t) noexcept {
  switch (t) {
    case kv_type::f32: return 32;
    case kv_type::turbo2: return 2;
    case kv_type::turbo3: return 3;
    case kv_type::turbo4: return 4;
    case kv_type::f16: break;
  }
  return 16;
}
constexpr bool is_turbo(kv_type t) noexcept { return kv_bits(t) < 16; }

// The cache type for a bit count as a user gives it (`--kv-bits`): 2, 3, 4 (TurboQuant), 16, 32.
inline result<kv_type> kv_type_for_bits(int bits) {
  switch (bits) {
    case 2: return kv_type::turbo2;
    case 3: return kv_type::turbo3;
    case 4: return kv_type::turbo4;
    case 16: return kv_type::f16;
    case 32: return kv_type::f32;
    default: break;
  }
  return make_error(errc::invalid_argument,
                    "KV cache bits must be 2, 3 or 4 (TurboQuant), 16 (f16) or 32 (f32), not " + std::to_string(bits));
}

// f16 -> f32 for every bit pattern, built once.
inline const float* f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (std::uint32_t i = 0; i < 65536; ++i) t[i] = f16_to_f32(std::uint16_t(i));
    return t;
  }();
  return table.data();
}

class kv_cache {
 public:
  // Whether a model with this head_dim can use the cache type.
  static result<void> check(kv_type type, int head_dim) {
    if (is_turbo(type)) return turbo_kv_codec::check(std::size_t(head_dim), kv_bits(type));
    return {};
  }

  kv_cache() = default;
  // type must have passed check() for head_dim.
  kv_cache(int n_layers, int capacity, int n_kv_heads, int head_dim, kv_type type)
      : n_layers_(n_layers), capacity_(capacity), n_kv_heads_(n_kv_heads), head_dim_(head_dim),
        kv_dim_(n_kv_heads * head_dim), type_(type) {
    const std::size_t n = std::size_t(n_layers) * std::size_t(capacity) * std::size_t(kv_dim_);
    if (type == kv_type::f16) {
      k16_.resize(n);
      v16_.resize(n);
      f16_table();
    } else if (type == kv_type::f32) {
      k32_.resize(n);
      v32_.resize(n);
    } else {
      turbo_.emplace(std::size_t(head_dim), kv_bits(type));
      const std::size_t heads = std::size_t(n_layers) * std::size_t(capacity) * std::size_t(n_kv_heads);
      kcode_.resize(heads * turbo_->code_bytes());
      vcode_.resize(heads * turbo_->code_bytes());
      kscale_.resize(heads);
      vscale_.resize(heads);
      scratch_.resize(turbo_->scratch_floats());
    }
  }

  int n_layers() const noexcept { return n_layers_; }
  int capacity() const noexcept { return capacity_; }
  kv_type type() const noexcept { return type_; }
  int kv_dim() const noexcept { return kv_dim_; }
  int head_dim() const noexcept { return head_dim_; }

  // Stores one position's keys and values (kv_dim floats each) for a layer.
  void store(int layer, int pos, const float* k, const float* v) {
    const std::size_t off = index(layer, pos);
    if (type_ == kv_type::f16) {
      for (int i = 0; i < kv_dim_; ++i) {
        k16_[off + std::size_t(i)] = f32_to_f16(k[i]);
        v16_[off + std::size_t(i)] = f32_to_f16(v[i]);
      }
    } else if (type_ == kv_type::f32) {
      for (int i = 0; i < kv_dim_; ++i) {
        k32_[off + std::size_t(i)] = k[i];
        v32_[off + std::size_t(i)] = v[i];
      }
    } else {
      const std::size_t cb = turbo_->code_bytes();
      for (int h = 0; h < n_kv_heads_; ++h) {
        const std::size_t hi = head_index(layer, pos, h);
        kscale_[hi] = turbo_->encode(k + h * head_dim_, scratch_.data(), kcode_.data() + hi * cb);
        vscale_[hi] = turbo_->encode(v + h * head_dim_, scratch_.data(), vcode_.data() + hi * cb);
      }
    }
  }

  // f16 / f32: row of position `pos` of a layer (kv_dim values; a head starts at h * head_dim).
  const std::uint16_t* key16(int layer, int pos) const { return k16_.data() + index(layer, pos); }
  const std::uint16_t* value16(int layer, int pos) const { return v16_.data() + index(layer, pos); }
  const float* key32(int layer, int pos) const { return k32_.data() + index(layer, pos); }
  const float* value32(int layer, int pos) const { return v32_.data() + index(layer, pos); }

  // TurboQuant: the codec, and per (layer, position, kv head) the packed indices and the scale.
  const turbo_kv_codec* turbo() const noexcept { return turbo_ ? &*turbo_ : nullptr; }
  const std::uint8_t* key_code(int layer, int pos, int h) const {
    return kcode_.data() + head_index(layer, pos, h) * turbo_->code_bytes();
  }
  const std::uint8_t* value_code(int layer, int pos, int h) const {
    return vcode_.data() + head_index(layer, pos, h) * turbo_->code_bytes();
  }
  float key_scale(int layer, int pos, int h) const { return kscale_[head_index(layer, pos, h)]; }
  float value_scale(int layer, int pos, int h) const { return vscale_[head_index(layer, pos, h)]; }

  // Bytes held for keys and values (all capacity positions, allocated up front).
  std::size_t bytes() const {
    return (k16_.size() + v16_.size()) * 2 + (k32_.size() + v32_.size()) * 4 + kcode_.size() + vcode_.size() +
           (kscale_.size() + vscale_.size()) * 4;
  }

 private:
  std::size_t index(int layer, int pos) const {
    return (std::size_t(layer) * std::size_t(capacity_) + std::size_t(pos)) * std::size_t(kv_dim_);
  }
  std::size_t head_index(int layer, int pos, int h) const {
    return (std::size_t(layer) * std::size_t(capacity_) + std::size_t(pos)) * std::size_t(n_kv_heads_) + std::size_t(h);
  }
  int n_layers_ = 0, capacity_ = 0, n_kv_heads_ = 0, head_dim_ = 0, kv_dim_ = 0;
  kv_type type_ = kv_type::f16;
  std::vector<std::uint16_t> k16_, v16_;
  std::vector<float> k32_, v32_;
  std::optional<turbo_kv_codec> turbo_;
  std::vector<std::uint8_t> kcode_, vcode_;
  std::vector<float> kscale_, vscale_;
  std::vector<float> scratch_;  // store() runs on one thread
};

}  // namespace tqlib::model
