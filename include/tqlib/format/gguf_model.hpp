#pragma once
// A GGUF file (llama.cpp's convert_hf_to_gguf.py + llama-quantize) as a model source: its tensors
// under their Hugging Face names, and the files the model loader reads (config.json,
// tokenizer.json, tokenizer_config.json) made from its metadata, so every command that takes an
// MV2 file or an HF folder takes a .gguf the same way.
//
// Supported: general.architecture "qwen2" or "qwen3", a "gpt2" (byte-level BPE) tokenizer with
// llama.cpp's "qwen2" pre-tokenizer. Anything else is refused by name. Tensor names follow
// gguf-py's constants (MODEL_TENSOR -> "blk.{bid}.attn_q" ...); convert_hf_to_gguf.py stores
// Qwen's q/k projections as they are (no RoPE permutation: Qwen uses the NeoX rotation), and
// reverses the dimension order, which the reader undoes (gguf.hpp).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "tqlib/core/result.hpp"
#include "tqlib/format/gguf.hpp"
#include "tqlib/format/mapped_file.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/tokenizer/tokenizer_files.hpp"

namespace tqlib::format::gguf {

// llama.cpp's name (gguf-py constants.py, TENSOR_NAMES) and the Hugging Face name of each Qwen2 /
// Qwen3 tensor; per-block names are "blk.{i}." + gguf and "model.layers.{i}." + hf.
struct tensor_name_rule {
  std::string_view gguf, hf;
  bool per_block;
};
inline constexpr tensor_name_rule qwen_tensor_names[] = {
    {"token_embd", "model.embed_tokens", false},
    {"output_norm", "model.norm", false},
    {"output", "lm_head", false},
    {"attn_norm", "input_layernorm", true},
    {"attn_q", "self_attn.q_proj", true},
    {"attn_k", "self_attn.k_proj", true},
    {"attn_v", "self_attn.v_proj", true},
    {"attn_output", "self_attn.o_proj", true},
    {"attn_q_norm", "self_attn.q_norm", true},
    {"attn_k_norm", "self_attn.k_norm", true},
    {"ffn_norm", "post_attention_layernorm", true},
    {"ffn_gate", "mlp.gate_proj", true},
    {"ffn_up", "mlp.up_proj", true},
    {"ffn_down", "mlp.down_proj", true},
};

// llama.cpp's token types (llama_token_type / gguf-py TokenType).
enum class token_type : std::int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

namespace detail {

// "blk.12.attn_q.weight" -> {12, "attn_q", ".weight"}; the parameter suffix is ".weight" or ".bias".
struct split_name {
  std::optional<std::size_t> block;
  std::string_view stem, suffix;
};

inline std::optional<split_name> split(std::string_view name, std::string_view block_prefix) {
  split_name s;
  for (std::string_view suffix : {".weight", ".bias"})
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      s.suffix = suffix;
      name.remove_suffix(suffix.size());
      break;
    }
  if (s.suffix.empty()) return std::nullopt;
  if (name.substr(0, block_prefix.size()) == block_prefix) {
    name.remove_prefix(block_prefix.size());
    const std::size_t dot = name.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot > 6) return std::nullopt;
    std::size_t b = 0;
    for (char c : name.substr(0, dot)) {
      if (c < '0' || c > '9') return std::nullopt;
      b = 10 * b + std::size_t(c - '0');
    }
    if (dot > 1 && name[0] == '0') return std::nullopt;  // one spelling per block number
    s.block = b;
    name.remove_prefix(dot + 1);
  }
  s.stem = name;
  return s;
}

}  // namespace detail

// The Hugging Face name of a GGUF tensor name, or nullopt when it is not a Qwen tensor.
inline std::optional<std::string> hf_name_of(std::string_view gguf_name) {
  const auto s = detail::split(gguf_name, "blk.");
  if (!s) return std::nullopt;
  for (const auto& r : qwen_tensor_names)
    if (r.gguf == s->stem && r.per_block == s->block.has_value())
      return r.per_block ? "model.layers." + std::to_string(*s->block) + "." + std::string(r.hf) + std::string(s->suffix)
                         : std::string(r.hf) + std::string(s->suffix);
  return std::nullopt;
}

// The GGUF name of a Hugging Face tensor name, or nullopt when llama.cpp has none for it.
inline std::optional<std::string> gguf_name_of(std::string_view hf_name) {
  const auto s = detail::split(hf_name, "model.layers.");
  if (!s) return std::nullopt;
  for (const auto& r : qwen_tensor_names)
    if (r.hf == s->stem && r.per_block == s->block.has_value())
      return r.per_block ? "blk." + std::to_string(*s->block) + "." + std::string(r.gguf) + std::string(s->suffix)
                         : std::string(r.gguf) + std::string(s->suffix);
  return std::nullopt;
}

namespace detail {

inline error metadata_error(errc code, const std::string& what) { return make_error(code, "GGUF metadata: " + what); }

inline result<std::string> architecture_of(const view& v) {
  auto arch = v.get_string("general.architecture");
  if (!arch) return std::move(arch).err();
  if (*arch != "qwen2" && *arch != "qwen3")
    return metadata_error(errc::unsupported, "general.architecture '" + std::string(*arch) + "' is not supported (qwen2, qwen3)");
  return std::string(*arch);
}

}  // namespace detail

// config.json (Hugging Face's Qwen2Config / Qwen3Config fields) from the GGUF's hyperparameters
// ({arch}.block_count, embedding_length, ... as convert_hf_to_gguf.py writes them). Checks of the
// values themselves are model::parse_config's, as for any config.json.
inline result<std::string> hf_config_json(const view& v) {
  auto arch = detail::architecture_of(v);
  if (!arch) return std::move(arch).err();
  const std::string a = *arch + ".";
  nlohmann::json j;
  j["model_type"] = *arch;
  j["architectures"] = {*arch == "qwen2" ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM"};
  j["hidden_act"] = "silu";
  const auto need_uint = [&](const std::string& key, const char* field) -> result<void> {
    auto x = v.get_uint(a + key);
    if (!x) return std::move(x).err();
    j[field] = *x;
    return {};
  };
  TQLIB_TRY(need_uint("block_count", "num_hidden_layers"));
  TQLIB_TRY(need_uint("embedding_length", "hidden_size"));
  TQLIB_TRY(need_uint("feed_forward_length", "intermediate_size"));
  TQLIB_TRY(need_uint("attention.head_count", "num_attention_heads"));
  TQLIB_TRY(need_uint("context_length", "max_position_embeddings"));
  if (v.has(a + "attention.head_count_kv")) TQLIB_TRY(need_uint("attention.head_count_kv", "num_key_value_heads"));
  if (v.has(a + "attention.key_length")) {
    TQLIB_TRY(need_uint("attention.key_length", "head_dim"));
    if (v.has(a + "attention.value_length")) {
      auto vl = v.get_uint(a + "attention.value_length");
      if (!vl) return std::move(vl).err();
      if (*vl != j["head_dim"].get<std::uint64_t>())
        return detail::metadata_error(errc::unsupported, a + "attention.value_length differs from key_length");
    }
  }
  if (v.has(a + "rope.freq_base")) {
    auto x = v.get_float(a + "rope.freq_base");
    if (!x) return std::move(x).err();
    j["rope_theta"] = *x;
  }
  auto eps = v.get_float(a + "attention.layer_norm_rms_epsilon");
  if (!eps) return std::move(eps).err();
  j["rms_norm_eps"] = *eps;
  // RoPE scaling (YaRN, linear) is not implemented: passed on for parse_config to refuse by name.
  if (v.has(a + "rope.scaling.type")) {
    auto t = v.get_string(a + "rope.scaling.type");
    if (!t) return std::move(t).err();
    if (*t != "none") j["rope_scaling"] = {{"type", std::string(*t)}};
  }
  const tensor_info* embd = v.find_tensor("token_embd.weight");
  if (!embd) return detail::metadata_error(errc::corrupt, "no token_embd.weight tensor");
  j["vocab_size"] = embd->shape().front();
  j["tie_word_embeddings"] = v.find_tensor("output.weight") == nullptr;
  for (const auto& [key, field] : {std::pair{"tokenizer.ggml.eos_token_id", "eos_token_id"}, std::pair{"tokenizer.ggml.bos_token_id", "bos_token_id"}}) {
    if (!v.has(key)) continue;
    auto id = v.get_uint(key);
    if (!id) return std::move(id).err();
    j[field] = *id;
  }
  return j.dump();
}

// tokenizer.json (Hugging Face tokenizers' byte-level BPE, as Qwen2.5 ships it) from
// tokenizer.ggml.tokens / token_type / merges; nullopt when the file has no tokenizer. Normal
// tokens form the BPE vocabulary, control and user-defined ones the added tokens (special for
// control), unused ones (llama.cpp's padding up to the embedding rows) neither. NFC: Qwen2's own
// normalizer, which convert_hf_to_gguf.py does not record.
inline result<std::optional<std::string>> hf_tokenizer_json(const view& v) {
  if (!v.has("tokenizer.ggml.tokens")) return std::optional<std::string>();
  auto model = v.get_string("tokenizer.ggml.model");
  if (!model) return std::move(model).err();
  if (*model != "gpt2")
    return detail::metadata_error(errc::unsupported, "tokenizer.ggml.model '" + std::string(*model) + "' is not supported (gpt2: byte-level BPE)");
  auto pre = v.get_string("tokenizer.ggml.pre");
  if (!pre) return make_error(errc::unsupported, "GGUF metadata: tokenizer.ggml.pre is missing (qwen2 is supported)");
  if (*pre != "qwen2")
    return detail::metadata_error(errc::unsupported, "tokenizer.ggml.pre '" + std::string(*pre) + "' is not supported (qwen2)");
  auto tokens = v.get_strings("tokenizer.ggml.tokens");
  if (!tokens) return std::move(tokens).err();
  if (tokens->size() >= tokenizer::bpe_model::max_vocab)
    return detail::metadata_error(errc::corrupt, "tokenizer.ggml.tokens has " + std::to_string(tokens->size()) + " entries");
  std::vector<std::int64_t> types(tokens->size(), std::int64_t(token_type::normal));
  if (v.has("tokenizer.ggml.token_type")) {
    auto t = v.get_ints("tokenizer.ggml.token_type");
    if (!t) return std::move(t).err();
    if (t->size() != tokens->size())
      return detail::metadata_error(errc::corrupt, "tokenizer.ggml.token_type has " + std::to_string(t->size()) + " entries for " +
                                                       std::to_string(tokens->size()) + " tokens");
    types = std::move(*t);
  }
  auto merges = v.get_strings("tokenizer.ggml.merges");
  if (!merges) return std::move(merges).err();

  nlohmann::json vocab = nlohmann::json::object(), added = nlohmann::json::array();
  for (std::size_t id = 0; id < tokens->size(); ++id) {
    const std::string text((*tokens)[id]);
    switch (token_type(types[id])) {
      case token_type::normal:
        vocab[text] = id;
        break;
      case token_type::control:
      case token_type::user_defined:
        added.push_back({{"id", id}, {"content", text}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                         {"normalized", false}, {"special", token_type(types[id]) == token_type::control}});
        break;
      case token_type::unused:
        break;
      default:
        return detail::metadata_error(errc::unsupported, "token " + std::to_string(id) + " has type " + std::to_string(types[id]) +
                                                             " (byte-level BPE has normal, control, user-defined and unused tokens)");
    }
  }
  nlohmann::json merge_list = nlohmann::json::array();
  for (std::string_view m : *merges) merge_list.push_back(std::string(m));
  nlohmann::json j;
  j["version"] = "1.0";
  j["added_tokens"] = std::move(added);
  j["normalizer"] = {{"type", "NFC"}};
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", std::string(tokenizer::qwen2_split_pattern)}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}};
  j["model"] = {{"type", "BPE"}, {"vocab", std::move(vocab)}, {"merges", std::move(merge_list)}};
  return std::optional<std::string>(j.dump());
}

// tokenizer_config.json: the chat template (tokenizer.chat_template) and the eos token's text.
inline result<std::optional<std::string>> hf_tokenizer_config_json(const view& v) {
  if (!v.has("tokenizer.ggml.tokens")) return std::optional<std::string>();
  nlohmann::json j = nlohmann::json::object();
  if (v.has("tokenizer.chat_template")) {
    auto t = v.get_string("tokenizer.chat_template");
    if (!t) return std::move(t).err();
    j["chat_template"] = std::string(*t);
  }
  if (v.has("tokenizer.ggml.eos_token_id")) {
    auto id = v.get_uint("tokenizer.ggml.eos_token_id");
    if (!id) return std::move(id).err();
    auto tokens = v.get_strings("tokenizer.ggml.tokens");
    if (!tokens) return std::move(tokens).err();
    if (*id >= tokens->size()) return detail::metadata_error(errc::corrupt, "tokenizer.ggml.eos_token_id " + std::to_string(*id) + " is not a token");
    j["eos_token"] = std::string((*tokens)[std::size_t(*id)]);
  }
  return std::optional<std::string>(j.dump());
}

// A GGUF model, its file mapped (or bytes the caller keeps alive), as a tensor_source.
class model_source final : public tensor_source {
 public:
  static result<std::unique_ptr<model_source>> open(const std::string& path) {
    auto m = mapped_file::open(path);
    if (!m) return std::move(m).err();
    std::unique_ptr<model_source> s(new model_source);
    s->map_ = std::move(*m);
    auto r = s->init(s->map_.bytes());
    if (!r) return make_error(r.err().code, path + ": " + r.err().message);
    return s;
  }
  // keep_alive: what owns the bytes (a download, an embedded resource), held as long as this lives.
  static result<std::unique_ptr<model_source>> over(std::span<const std::byte> bytes, std::shared_ptr<const void> keep_alive = {}) {
    std::unique_ptr<model_source> s(new model_source);
    s->keep_alive_ = std::move(keep_alive);
    TQLIB_TRY(s->init(bytes));
    return s;
  }

  const view& gguf() const noexcept { return view_; }

  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> out;
    out.reserve(hf_to_gguf_.size());
    for (const auto& t : view_.tensors()) out.push_back(*hf_name_of(t.name));
    return out;
  }
  result<std::optional<tensor_view>> tensor(std::string_view name) const override {
    const auto it = hf_to_gguf_.find(std::string(name));
    if (it == hf_to_gguf_.end()) return std::optional<tensor_view>();
    auto t = view_.tensor(it->second);
    if (!t) return std::move(t).err();
    if (*t) (*t)->name = std::string(name);
    return t;
  }
  std::optional<std::string> file(std::string_view name) const override {
    if (name == "config.json") return config_;
    if (name == "tokenizer.json") return tokenizer_;
    if (name == "tokenizer_config.json") return tokenizer_config_;
    return std::nullopt;
  }

 private:
  model_source() = default;

  result<void> init(std::span<const std::byte> bytes) {
    auto v = view::parse(bytes);
    if (!v) return std::move(v).err();
    view_ = std::move(*v);
    for (const auto& t : view_.tensors()) {
      auto hf = hf_name_of(t.name);
      if (!hf)
        return make_error(errc::unsupported, "GGUF tensor '" + std::string(t.name) + "' is not a Qwen2/Qwen3 tensor tqlib knows");
      hf_to_gguf_.emplace(std::move(*hf), std::string(t.name));
    }
    auto c = hf_config_json(view_);
    if (!c) return std::move(c).err();
    config_ = std::move(*c);
    auto tj = hf_tokenizer_json(view_);
    if (!tj) return std::move(tj).err();
    tokenizer_ = std::move(*tj);
    auto tc = hf_tokenizer_config_json(view_);
    if (!tc) return std::move(tc).err();
    tokenizer_config_ = std::move(*tc);
    return {};
  }

  mapped_file map_;
  std::shared_ptr<const void> keep_alive_;
  view view_;
  std::unordered_map<std::string, std::string> hf_to_gguf_;
  std::string config_;
  std::optional<std::string> tokenizer_, tokenizer_config_;
};

}  // namespace tqlib::format::gguf
