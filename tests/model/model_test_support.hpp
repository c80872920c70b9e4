#pragma once
// Test helpers for the model tests: a minimal in-memory tensor_source read from a safetensors
// file (f32/f16/bf16 tensors only), independent of the format library, and a scalar f32 codec
// used when the registry does not have one yet.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tqlib/codec/registry.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/model/weights.hpp"

namespace model_test {

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Tensors held in memory, each in its own aligned buffer.
class memory_source : public tqlib::format::tensor_source {
 public:
  struct entry {
    tqlib::codec::codec_id codec;
    std::vector<std::size_t> shape;
    std::vector<float> storage;  // float-aligned bytes
    std::size_t size = 0;
  };
  std::map<std::string, entry, std::less<>> tensors;
  std::map<std::string, std::string, std::less<>> files;

  void add(const std::string& name, tqlib::codec::codec_id codec, std::vector<std::size_t> shape, const void* data,
           std::size_t bytes) {
    entry e{codec, std::move(shape), std::vector<float>((bytes + 3) / 4), bytes};
    std::memcpy(e.storage.data(), data, bytes);
    tensors[name] = std::move(e);
  }

  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> out;
    for (auto& [k, v] : tensors) out.push_back(k);
    return out;
  }
  tqlib::result<std::optional<tqlib::format::tensor_view>> tensor(std::string_view name) const override {
    auto it = tensors.find(name);
    if (it == tensors.end()) return std::optional<tqlib::format::tensor_view>{};
    tqlib::format::tensor_view v;
    v.name = std::string(name);
    v.codec = it->second.codec;
    v.shape = it->second.shape;
    v.bytes = {reinterpret_cast<const std::byte*>(it->second.storage.data()), it->second.size};
    return std::optional<tqlib::format::tensor_view>(std::move(v));
  }
  std::optional<std::string> file(std::string_view name) const override {
    auto it = files.find(name);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
};

inline std::unique_ptr<memory_source> load_safetensors(const std::string& path) {
  const std::string raw = read_text(path);
  if (raw.size() < 8) return nullptr;
  std::uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  auto header = nlohmann::json::parse(raw.substr(8, n));
  const char* data = raw.data() + 8 + n;
  auto src = std::make_unique<memory_source>();
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string dt = info["dtype"];
    auto codec = dt == "F32" ? tqlib::codec::codec_id::f32 : dt == "F16" ? tqlib::codec::codec_id::f16 : tqlib::codec::codec_id::bf16;
    std::vector<std::size_t> shape = info["shape"].get<std::vector<std::size_t>>();
    const std::size_t b = info["data_offsets"][0], e = info["data_offsets"][1];
    src->add(name, codec, shape, data + b, e - b);
  }
  return src;
}

// A scalar f32 codec (row-major floats), for when the registry has none.
inline void f32_decode_row(std::span<const std::byte> blob, std::size_t, std::size_t cols, std::size_t row, float* out) {
  std::memcpy(out, blob.data() + row * cols * 4, cols * 4);
}
inline void f32_matvec(std::span<const std::byte> blob, std::size_t, std::size_t cols, const float* x, float* y,
                       std::size_t r0, std::size_t r1) {
  const float* w = reinterpret_cast<const float*>(blob.data());
  for (std::size_t r = r0; r < r1; ++r) {
    double s = 0;
    for (std::size_t c = 0; c < cols; ++c) s += double(w[r * cols + c]) * x[c];
    y[r] = float(s);
  }
}
inline void f32_matmul(std::span<const std::byte> blob, std::size_t rows, std::size_t cols, const float* X,
                       std::size_t T, float* Y, std::size_t r0, std::size_t r1) {
  std::vector<float> y(rows);
  for (std::size_t t = 0; t < T; ++t) {
    f32_matvec(blob, rows, cols, X + t * cols, y.data(), r0, r1);
    for (std::size_t r = r0; r < r1; ++r) Y[t * rows + r] = y[r];
  }
}
inline const tqlib::codec::codec_ops& test_f32_ops() {
  static const tqlib::codec::codec_ops ops{tqlib::codec::codec_id::f32, "f32-test",
                                           [](std::size_t r, std::size_t c) -> std::optional<std::size_t> { return r * c * 4; },
                                           nullptr, nullptr, f32_decode_row, f32_matvec, f32_matmul, nullptr};
  return ops;
}
inline const tqlib::codec::codec_ops* lookup(tqlib::codec::codec_id id) {
  if (const auto* c = tqlib::codec::find(id)) return c;
  return id == tqlib::codec::codec_id::f32 ? &test_f32_ops() : nullptr;
}

}  // namespace model_test
