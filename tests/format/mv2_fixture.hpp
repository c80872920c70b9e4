#pragma once
// A tiny model used by the format tests: three tensors of two codecs, a config and a tokenizer.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "tqlib/core/float16.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/format/mv2_writer.hpp"

namespace mv2_fixture {

using namespace tqlib;
using namespace tqlib::format;

inline std::vector<std::byte> floats(std::size_t n, std::uint64_t seed) {
  xoshiro256ss rng(seed);
  std::vector<std::byte> b(n * 4);
  for (std::size_t i = 0; i < n; ++i) {
    const float f = float(std::round(rng.normal() * 8) / 8);
    std::memcpy(b.data() + 4 * i, &f, 4);
  }
  return b;
}

// Random finite f16 values: incompressible, and valid for the f16 codec (which rejects NaN/Inf).
inline std::vector<std::byte> noise(std::size_t n, std::uint64_t seed) {
  xoshiro256ss rng(seed);
  std::vector<std::byte> b(n);
  for (std::size_t i = 0; i + 1 < n; i += 2) {
    const std::uint16_t h = f32_to_f16(float(rng.normal()));
    b[i] = std::byte(h & 0xff);
    b[i + 1] = std::byte(h >> 8);
  }
  return b;
}

struct model {
  std::vector<std::byte> embed = floats(16 * 8, 1);
  std::vector<std::byte> norm = floats(8, 2);
  std::vector<std::byte> proj = noise(4 * 8 * 2, 3);
  std::string tokenizer = R"({"model":{"type":"BPE"}})";
  mv2::json config = {{"model_type", "qwen2"}, {"hidden_size", 8}};
  std::vector<mv2::tensor_input> tensors() const {
    return {{"model.embed_tokens.weight", "f32", {16, 8}, embed},
            {"model.norm.weight", "f32", {8}, norm},
            {"model.layers.0.mlp.up_proj.weight", "f16", {4, 8}, proj}};
  }
  std::vector<mv2::file_input> files() const { return {{"tokenizer.json", as_bytes_of(tokenizer)}}; }
  std::vector<std::byte> build(const mv2::writer_options& o = {}) const {
    auto r = mv2::build(config, files(), tensors(), o);
    if (!r) throw std::runtime_error(r.err().what());
    return std::move(*r);
  }
};

inline bool same(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace mv2_fixture
