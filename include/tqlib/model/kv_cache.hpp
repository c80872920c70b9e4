#pragma once
// Keys and values of every past position, per layer: [layer][position][kv_dim]. Stored as f16
// by default (half the memory and bandwidth of f32; attention converts on the fly through a
// 64K-entry table) or as f32 (exact, for tests against float64 references).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tqlib/core/float16.hpp"

namespace tqlib::model {

enum class kv_type { f16, f32 };

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
  kv_cache() = default;
  kv_cache(int n_layers, int capacity, int kv_dim, kv_type type)
      : n_layers_(n_layers), capacity_(capacity), kv_dim_(kv_dim), type_(type) {
    const std::size_t n = std::size_t(n_layers) * std::size_t(capacity) * std::size_t(kv_dim);
    if (type == kv_type::f16) {
      k16_.resize(n);
      v16_.resize(n);
      f16_table();
    } else {
      k32_.resize(n);
      v32_.resize(n);
    }
  }

  int n_layers() const noexcept { return n_layers_; }
  int capacity() const noexcept { return capacity_; }
  kv_type type() const noexcept { return type_; }
  int kv_dim() const noexcept { return kv_dim_; }

  // Stores one position's keys and values (kv_dim floats each) for a layer.
  void store(int layer, int pos, const float* k, const float* v) {
    const std::size_t off = index(layer, pos);
    if (type_ == kv_type::f16) {
      for (int i = 0; i < kv_dim_; ++i) {
        k16_[off + std::size_t(i)] = f32_to_f16(k[i]);
        v16_[off + std::size_t(i)] = f32_to_f16(v[i]);
      }
    } else {
      for (int i = 0; i < kv_dim_; ++i) {
        k32_[off + std::size_t(i)] = k[i];
        v32_[off + std::size_t(i)] = v[i];
      }
    }
  }

  // Row of position `pos` of a layer, offset to a head's first element.
  const std::uint16_t* key16(int layer, int pos) const { return k16_.data() + index(layer, pos); }
  const std::uint16_t* value16(int layer, int pos) const { return v16_.data() + index(layer, pos); }
  const float* key32(int layer, int pos) const { return k32_.data() + index(layer, pos); }
  const float* value32(int layer, int pos) const { return v32_.data() + index(layer, pos); }

  std::size_t bytes() const {
    return (k16_.size() + v16_.size()) * 2 + (k32_.size() + v32_.size()) * 4;
  }

 private:
  std::size_t index(int layer, int pos) const {
    return (std::size_t(layer) * std::size_t(capacity_) + std::size_t(pos)) * std::size_t(kv_dim_);
  }
  int n_layers_ = 0, capacity_ = 0, kv_dim_ = 0;
  kv_type type_ = kv_type::f16;
  std::vector<std::uint16_t> k16_, v16_;
  std::vector<float> k32_, v32_;
};

}  // namespace tqlib::model
