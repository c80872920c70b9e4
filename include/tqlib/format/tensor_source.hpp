#pragma once
// Where a model's tensors come from: an MV2 file, a safetensors file or a sharded Hugging Face
// folder. The model loader asks for tensors by their Hugging Face name
// ("model.layers.0.self_attn.q_proj.weight") and gets a typed, validated, zero-copy view.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/core/result.hpp"

namespace tqlib::format {

struct tensor_view {
  std::string name;
  codec::codec_id codec = codec::codec_id::f32;
  std::vector<std::size_t> shape;  // as stored (PyTorch order); 1-D for norms and biases
  std::span<const std::byte> bytes;  // validated: size matches codec and shape

  std::size_t rows() const { return shape.empty() ? 0 : shape[0]; }
  std::size_t cols() const {
    std::size_t c = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) c *= shape[i];
    return shape.size() == 1 ? shape[0] : c;
  }
};

class tensor_source {
 public:
  virtual ~tensor_source() = default;
  virtual std::vector<std::string> tensor_names() const = 0;
  // Not found is not an error here (optional tensors such as biases); a tensor that exists but
  // cannot be read (bad zstd frame, wrong size) is.
  virtual result<std::optional<tensor_view>> tensor(std::string_view name) const = 0;
  // Text of an embedded file ("config.json", "tokenizer.json", ...), if the source has it.
  virtual std::optional<std::string> file(std::string_view name) const = 0;
};

}  // namespace tqlib::format
