#pragma once
// Which codec each tensor of a Hugging Face Qwen checkpoint gets when it is quantized
// (`tq quantize`). The default follows the model cards: the 2-D weights of linear layers
// (q/k/v/o, gate/up/down projections) are encoded with the chosen codec; embeddings, lm_head,
// norm weights and biases are kept as f16.
//
// Precedence, first match wins:
//   1. overrides   PATTERN=CODEC (`--override`), in the order given;
//   2. keep        PATTERN (`--keep`): the tensor is kept as keep_codec (f16);
//   3. the role:   linear -> linear_codec; embedding / lm_head -> embed_codec (keep_codec unless
//                  set); norm, bias and anything else (1-D, unknown) -> keep_codec.
// Patterns: with '*' (any run of characters, dots included) or '?' (one character) a pattern must
// match the whole name ("model.layers.*.mlp.down_proj.weight"); without them it matches any name
// that contains it ("lm_head", "layers.0.").
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tqlib::model {

enum class tensor_role { linear, embedding, lm_head, norm, bias, other };

inline std::string_view role_name(tensor_role r) {
  switch (r) {
    case tensor_role::linear: return "linear";
    case tensor_role::embedding: return "embedding";
    case tensor_role::lm_head: return "lm_head";
    case tensor_role::norm: return "norm";
    case tensor_role::bias: return "bias";
    case tensor_role::other: return "other";
  }
  return "other";
}

// '*' matches any run (dots included), '?' one character; the whole name must match.
inline bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p, ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// A --keep / --override pattern against a tensor name (see the top of this file).
inline bool pattern_matches(std::string_view pattern, std::string_view name) {
  if (pattern.find_first_of("*?") != std::string_view::npos) return glob_match(pattern, name);
  return name.find(pattern) != std::string_view::npos;
}

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// What a tensor is, from its Hugging Face name and shape.
inline tensor_role classify(std::string_view name, std::span<const std::uint64_t> shape) {
  if (ends_with(name, ".bias")) return tensor_role::bias;
  if (name.find("embed_tokens") != std::string_view::npos) return tensor_role::embedding;
  if (name.find("lm_head") != std::string_view::npos) return tensor_role::lm_head;
  if (name.find("norm") != std::string_view::npos) return tensor_role::norm;
  if (shape.size() == 2 && ends_with(name, ".weight") && shape[0] > 1 && shape[1] > 1) return tensor_role::linear;
  return tensor_role::other;
}

struct quantize_rule {
  std::string pattern;
  std::string codec;
};

struct quantize_policy {
  std::string linear_codec;                // required: codec of the linear layers' weights
  std::string keep_codec = "f16";          // what "kept" tensors are stored as
  std::optional<std::string> embed_codec;  // embeddings and lm_head (default keep_codec)
  std::vector<std::string> keep;           // --keep patterns
  std::vector<quantize_rule> overrides;    // --override PATTERN=CODEC

  // Parses "PATTERN=CODEC"; nullopt when there is no '=' or either side is empty.
  static std::optional<quantize_rule> parse_override(std::string_view s) {
    const auto eq = s.rfind('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == s.size()) return std::nullopt;
    return quantize_rule{std::string(s.substr(0, eq)), std::string(s.substr(eq + 1))};
  }
};

// Where a tensor's codec came from: the precedence above (override, keep, role), or, when a
// model is quantized (api/quantize.hpp), an imported checkpoint layer kept as stored, or the
// fallback codec after the chosen one refused the tensor.
enum class decision_source { role, keep_pattern, override_pattern, imported, fallback };

inline std::string_view source_name(decision_source s) {
  switch (s) {
    case decision_source::role: return "role";
    case decision_source::keep_pattern: return "keep";
    case decision_source::override_pattern: return "override";
    case decision_source::imported: return "imported";
    case decision_source::fallback: return "fallback";
  }
  return "role";
}

struct quantize_decision {
  std::string codec;
  tensor_role role = tensor_role::other;
  decision_source source = decision_source::role;
  std::string pattern;  // the keep pattern or override rule (PATTERN=CODEC) that matched
  std::string reason;  // "linear", "keep 'lm_head'", "override 'layers.0.*=q8'", ...
  bool quantized = false;  // the codec is linear_codec / an override, not a plain keep
};

inline quantize_decision decide(const quantize_policy& p, std::string_view name, std::span<const std::uint64_t> shape) {
  quantize_decision d;
  d.role = classify(name, shape);
  for (const auto& r : p.overrides) {
    if (pattern_matches(r.pattern, name)) {
      d.codec = r.codec;
      d.source = decision_source::override_pattern;
      d.pattern = r.pattern + "=" + r.codec;
      d.reason = "override '" + d.pattern + "'";
      d.quantized = r.codec != p.keep_codec;
      return d;
    }
  }
  for (const auto& k : p.keep) {
    if (pattern_matches(k, name)) {
      d.codec = p.keep_codec;
      d.source = decision_source::keep_pattern;
      d.pattern = k;
      d.reason = "keep '" + k + "'";
      return d;
    }
  }
  d.reason = std::string(role_name(d.role));
  switch (d.role) {
    case tensor_role::linear:
      d.codec = p.linear_codec;
      d.quantized = true;
      break;
    case tensor_role::embedding:
    case tensor_role::lm_head:
      d.codec = p.embed_codec.value_or(p.keep_codec);
      d.quantized = p.embed_codec.has_value() && *p.embed_codec != p.keep_codec;
      break;
    default:
      d.codec = p.keep_codec;
      break;
  }
  return d;
}

// The policy in words, for `tq quantize` to print before it starts.
inline std::string describe(const quantize_policy& p) {
  std::string s = "policy: linear layers -> " + p.linear_codec + "; embeddings, lm_head -> " +
                  p.embed_codec.value_or(p.keep_codec) + "; norms, biases, other -> " + p.keep_codec;
  for (const auto& k : p.keep) s += "; keep '" + k + "' -> " + p.keep_codec;
  for (const auto& r : p.overrides) s += "; override '" + r.pattern + "' -> " + r.codec;
  return s;
}

}  // namespace tqlib::model
