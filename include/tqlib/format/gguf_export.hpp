#pragma once
// A Qwen2 / Qwen3 model (any tensor_source: MV2 file, HF folder, GGUF) written as a GGUF file in
// the layout llama.cpp's convert_hf_to_gguf.py produces: gguf-py's tensor names
// (gguf_model.hpp), the {arch}.* hyperparameters, and the byte-level BPE tokenizer as
// tokenizer.ggml.tokens / token_type / merges (a pruned vocabulary as a tokenizer of its own).
// Tensors whose codec has a ggml type (f32, f16,
// bf16, q8 = Q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, tq1_0, tq2_0) are written as they are;
// any other codec is refused with the tensor's name (quantize to one of those first).
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "tqlib/core/json_depth.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/format/gguf_model.hpp"
#include "tqlib/format/gguf_writer.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/tokenizer/load.hpp"
#include "tqlib/tokenizer/tokenizer_files.hpp"

namespace tqlib::format::gguf {

namespace detail {

inline error export_error(errc code, const std::string& what) { return make_error(code, "export to GGUF: " + what); }

inline result<std::uint32_t> config_u32(const nlohmann::json& j, const char* field) {
  const auto it = j.find(field);
  if (it == j.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > 0xffffffffu)
    return export_error(errc::invalid_argument, std::string("config.json: ") + field + " is missing or not a 32-bit count");
  return std::uint32_t(it->get<std::uint64_t>());
}

// The first id of a config field that is an id or a list of ids.
inline std::optional<std::uint32_t> first_id(const nlohmann::json& j, const char* field) {
  const auto it = j.find(field);
  if (it == j.end()) return std::nullopt;
  const nlohmann::json& v = it->is_array() && !it->empty() ? (*it)[0] : *it;
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 0xffffffffu) return std::nullopt;
  return std::uint32_t(v.get<std::uint64_t>());
}

inline result<void> add_hyperparameters(writer& w, const std::string& config_text, std::uint32_t& vocab_size) {
  if (!json_depth_within(config_text)) return export_error(errc::corrupt, "config.json nests too deep");
  const auto j = nlohmann::json::parse(config_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return export_error(errc::corrupt, "config.json is not a JSON object");
  const std::string arch = j.value("model_type", "");
  if (arch != "qwen2" && arch != "qwen3")
    return export_error(errc::unsupported, "model_type '" + arch + "' (qwen2 and qwen3 are supported)");
  if (const auto rs = j.find("rope_scaling"); rs != j.end() && !rs->is_null())
    return export_error(errc::unsupported, "config.json has rope_scaling, which tqlib does not implement");
  const std::string a = arch + ".";
  w.add_string("general.architecture", arch);
  for (const auto& [field, key] : {std::pair{"num_hidden_layers", "block_count"}, std::pair{"hidden_size", "embedding_length"},
                                   std::pair{"intermediate_size", "feed_forward_length"},
                                   std::pair{"num_attention_heads", "attention.head_count"},
                                   std::pair{"max_position_embeddings", "context_length"}}) {
    auto v = config_u32(j, field);
    if (!v) return std::move(v).err();
    w.add_u32(a + key, *v);
  }
  auto heads = config_u32(j, "num_attention_heads");
  if (!heads) return std::move(heads).err();
  std::uint32_t kv_heads = *heads;
  if (j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()) {
    auto v = config_u32(j, "num_key_value_heads");
    if (!v) return std::move(v).err();
    kv_heads = *v;
  }
  w.add_u32(a + "attention.head_count_kv", kv_heads);
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    auto v = config_u32(j, "head_dim");
    if (!v) return std::move(v).err();
    w.add_u32(a + "attention.key_length", *v);
    w.add_u32(a + "attention.value_length", *v);
  }
  const auto number = [&](const char* field, double fallback) {
    const auto it = j.find(field);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
  };
  // rope_theta: top level (transformers 4) or in rope_parameters (transformers 5); 10000 is
  // Hugging Face's default.
  double theta = number("rope_theta", 10000.0);
  if (const auto rp = j.find("rope_parameters"); rp != j.end() && rp->is_object()) {
    if (rp->value("rope_type", "default") != "default")
      return export_error(errc::unsupported, "config.json rope_parameters.rope_type is not \"default\"");
    if (const auto t = rp->find("rope_theta"); t != rp->end() && t->is_number()) theta = t->get<double>();
  }
  w.add_f32(a + "rope.freq_base", float(theta));
  w.add_f32(a + "attention.layer_norm_rms_epsilon", float(number("rms_norm_eps", 1e-6)));
  auto v = config_u32(j, "vocab_size");
  if (!v) return std::move(v).err();
  vocab_size = *v;
  if (auto id = first_id(j, "eos_token_id")) w.add_u32("tokenizer.ggml.eos_token_id", *id);
  if (auto id = first_id(j, "bos_token_id")) w.add_u32("tokenizer.ggml.bos_token_id", *id);
  return {};
}

// A pruned vocabulary (vocab_remap.json: model id i is the tokenizer's token model_to_original[i])
// becomes a tokenizer of its own: token i is that token, and only the merges whose two parts and
// result are all kept remain, in their order. BPE over it never applies a merge whose result was
// dropped, which is how the pruned model was trained (models/README.md, "Compact vocabulary").
inline result<void> prune_vocabulary(const std::string& remap_text, std::vector<std::string>& tokens, std::vector<std::int32_t>& types,
                                     std::vector<std::string>& merges) {
  auto remap = tokenizer::parse_vocab_remap(remap_text);
  if (!remap) return export_error(remap.err().code, remap.err().message);
  std::vector<std::string> kept_tokens(remap->size());
  std::vector<std::int32_t> kept_types(remap->size());
  std::unordered_set<std::string> kept;
  for (std::size_t m = 0; m < remap->size(); ++m) {
    const std::size_t o = (*remap)[m];
    if (o >= tokens.size() || types[o] == std::int32_t(token_type::unused))
      return export_error(errc::corrupt, "vocab_remap.json: model id " + std::to_string(m) + " maps to token id " + std::to_string(o) +
                                             ", which the tokenizer does not have");
    kept_tokens[m] = tokens[o], kept_types[m] = types[o];
    kept.insert(tokens[o]);
  }
  std::vector<std::string> kept_merges;
  for (const std::string& mg : merges) {
    const auto space = mg.find(' ');
    const std::string a = mg.substr(0, space), b = mg.substr(space + 1);
    if (kept.count(a) && kept.count(b) && kept.count(a + b)) kept_merges.push_back(mg);
  }
  tokens = std::move(kept_tokens), types = std::move(kept_types), merges = std::move(kept_merges);
  return {};
}

// The token list llama.cpp expects: one entry per id up to the embedding's rows, ids no token
// has filled with "[PAD<id>]" of type unused (as convert_hf_to_gguf.py does).
inline result<void> add_tokenizer(writer& w, const tensor_source& src, std::uint32_t vocab_size) {
  std::optional<result<tokenizer::tokenizer_spec>> spec;
  if (auto tj = src.file("tokenizer.json")) {
    spec.emplace(tokenizer::parse_tokenizer_json(*tj));
  } else if (auto vocab = src.file("vocab.json"), merges = src.file("merges.txt"); vocab && merges) {
    auto cfg = src.file("tokenizer_config.json");
    spec.emplace(tokenizer::parse_vocab_merges(*vocab, *merges, cfg ? std::string_view(*cfg) : std::string_view()));
  } else {
    return {};  // no tokenizer: a weights-only GGUF
  }
  if (!*spec) return export_error((*spec).err().code, (*spec).err().message);
  const tokenizer::tokenizer_spec& s = **spec;
  const auto remap_text = src.file("vocab_remap.json");
  std::size_t n = remap_text ? 0 : vocab_size;
  for (const auto& [text, id] : s.vocab) n = std::max<std::size_t>(n, std::size_t(id) + 1);
  for (const auto& t : s.added) n = std::max<std::size_t>(n, std::size_t(t.id) + 1);
  std::vector<std::string> tokens(n);
  std::vector<std::int32_t> types(n, std::int32_t(token_type::unused));
  for (const auto& [text, id] : s.vocab) tokens[id] = text, types[id] = std::int32_t(token_type::normal);
  for (const auto& t : s.added)
    tokens[t.id] = t.content, types[t.id] = std::int32_t(t.special ? token_type::control : token_type::user_defined);
  std::vector<std::string> merges;
  merges.reserve(s.merges.size());
  for (const auto& [a, b] : s.merges) merges.push_back(a + " " + b);
  if (remap_text) {
    TQLIB_TRY(prune_vocabulary(*remap_text, tokens, types, merges));
    if (tokens.size() < vocab_size) tokens.resize(vocab_size), types.resize(vocab_size, std::int32_t(token_type::unused));
  }
  for (std::size_t id = 0; id < tokens.size(); ++id)
    if (types[id] == std::int32_t(token_type::unused)) tokens[id] = "[PAD" + std::to_string(id) + "]";
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", "qwen2");
  w.add_array("tokenizer.ggml.tokens", string_array(tokens));
  w.add_array("tokenizer.ggml.token_type", number_array(types));
  w.add_array("tokenizer.ggml.merges", string_array(merges));
  w.add_bool("tokenizer.ggml.add_bos_token", false);  // Qwen prompts start without a BOS token
  if (auto cfg = src.file("tokenizer_config.json")) {
    const auto j = json_depth_within(*cfg) ? nlohmann::json::parse(*cfg, nullptr, false) : nlohmann::json();
    if (j.is_object())
      if (const auto t = j.find("chat_template"); t != j.end() && t->is_string()) w.add_string("tokenizer.chat_template", t->get<std::string>());
  }
  return {};
}

}  // namespace detail

// Writes src as a GGUF file at path (atomically: nothing is left there on failure).
inline result<void> export_gguf(const tensor_source& src, const std::string& path) {
  const auto config = src.file("config.json");
  if (!config) return detail::export_error(errc::invalid_argument, "the model has no config.json");
  writer w;
  std::uint32_t vocab_size = 0;
  TQLIB_TRY(detail::add_hyperparameters(w, *config, vocab_size));
  TQLIB_TRY(detail::add_tokenizer(w, src, vocab_size));
  for (const std::string& name : src.tensor_names()) {
    const auto g = gguf_name_of(name);
    if (!g) return detail::export_error(errc::unsupported, "tensor '" + name + "' has no llama.cpp name");
    auto t = src.tensor(name);
    if (!t) return std::move(t).err();
    if (!*t) return detail::export_error(errc::corrupt, "tensor '" + name + "' is listed but cannot be read");
    if (!ggml_type_of((*t)->codec)) {
      const auto ref = find_codec((*t)->codec);
      return detail::export_error(errc::unsupported, "tensor '" + name + "' is " + std::string(ref ? ref->name : "?") +
                                                         ", which has no GGUF type (f32, f16, bf16, q8, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, tq1_0, tq2_0 have)");
    }
    w.add_tensor(*g, (*t)->codec, (*t)->shape, (*t)->bytes);  // bytes stay the source's until write()
  }
  return w.write(path);
}

}  // namespace tqlib::format::gguf
