#pragma once
// The shape of a Qwen2 / Qwen3 model, read from a Hugging Face config.json. Anything the forward
// pass cannot run exactly (scaled RoPE, a sliding window that is actually used, another
// activation) is rejected here with a message naming the field, never approximated later.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tqlib/core/json_depth.hpp"
#include "tqlib/core/result.hpp"

namespace tqlib::model {

enum class arch { qwen2, qwen3 };

struct config {
  arch architecture = arch::qwen2;
  int dim = 0;           // hidden_size
  int hidden_dim = 0;    // intermediate_size (SwiGLU width)
  int n_layers = 0;
  int n_heads = 0;       // query heads
  int n_kv_heads = 0;    // key/value heads (GQA: n_heads is a multiple)
  int head_dim = 0;      // qwen3: explicit; otherwise dim / n_heads
  int vocab_size = 0;
  int max_seq_len = 0;   // max_position_embeddings
  double rope_theta = 10000.0;
  float norm_eps = 1e-6f;
  bool tied_embeddings = false;
  bool qkv_bias = false;  // Qwen2: q/k/v projections carry a bias (o_proj never does)
  bool qk_norm = false;   // Qwen3: RMSNorm over head_dim on q and k before RoPE
  std::vector<std::int32_t> eos_ids;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

namespace detail {

inline error config_error(std::string_view field, std::string_view what) {
  return make_error(errc::unsupported, "config.json: " + std::string(field) + " " + std::string(what));
}

// A required positive integer field.
inline result<int> positive_int(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return make_error(errc::corrupt, std::string("config.json: missing ") + field);
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0 || it->get<std::int64_t>() > (1 << 30))
    return make_error(errc::corrupt, std::string("config.json: ") + field + " must be a positive integer");
  return int(it->get<std::int64_t>());
}

inline bool is_true(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace detail

inline result<config> parse_config(std::string_view text) {
  using nlohmann::json;
  if (!json_depth_within(text))
    return make_error(errc::corrupt, "config.json: arrays or objects nested deeper than " + std::to_string(max_json_depth) + " levels");
  const json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(errc::corrupt, "config.json: not a JSON object");
  config c;

  const auto mt = j.find("model_type");
  if (mt == j.end() || !mt->is_string()) return make_error(errc::corrupt, "config.json: missing model_type");
  const std::string model_type = mt->get<std::string>();
  if (model_type == "qwen2") {
    c.architecture = arch::qwen2;
  } else if (model_type == "qwen3") {
    c.architecture = arch::qwen3;
  } else {
    return detail::config_error("model_type", "'" + model_type + "' is not supported (qwen2, qwen3)");
  }

  auto dim = detail::positive_int(j, "hidden_size");
  if (!dim) return dim.err();
  auto hidden = detail::positive_int(j, "intermediate_size");
  if (!hidden) return hidden.err();
  auto layers = detail::positive_int(j, "num_hidden_layers");
  if (!layers) return layers.err();
  auto heads = detail::positive_int(j, "num_attention_heads");
  if (!heads) return heads.err();
  auto vocab = detail::positive_int(j, "vocab_size");
  if (!vocab) return vocab.err();
  c.dim = *dim;
  c.hidden_dim = *hidden;
  c.n_layers = *layers;
  c.n_heads = *heads;
  c.vocab_size = *vocab;
  if (j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()) {
    auto kv = detail::positive_int(j, "num_key_value_heads");
    if (!kv) return kv.err();
    c.n_kv_heads = *kv;
  } else {
    c.n_kv_heads = c.n_heads;
  }
  if (c.n_heads % c.n_kv_heads != 0)
    return make_error(errc::corrupt, "config.json: num_attention_heads (" + std::to_string(c.n_heads) +
                                         ") is not a multiple of num_key_value_heads (" +
                                         std::to_string(c.n_kv_heads) + ")");
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    auto hd = detail::positive_int(j, "head_dim");
    if (!hd) return hd.err();
    c.head_dim = *hd;
  } else {
    if (c.dim % c.n_heads != 0)
      return make_error(errc::corrupt, "config.json: hidden_size is not a multiple of num_attention_heads");
    c.head_dim = c.dim / c.n_heads;
  }
  if (c.head_dim % 2 != 0) return make_error(errc::corrupt, "config.json: head_dim must be even for RoPE");

  if (j.contains("max_position_embeddings")) {
    auto mp = detail::positive_int(j, "max_position_embeddings");
    if (!mp) return mp.err();
    c.max_seq_len = *mp;
  } else {
    c.max_seq_len = 32768;
  }

  if (auto it = j.find("rms_norm_eps"); it != j.end()) {
    if (!it->is_number() || !(it->get<double>() > 0)) return make_error(errc::corrupt, "config.json: rms_norm_eps must be > 0");
    c.norm_eps = float(it->get<double>());
  }

  // RoPE: transformers 5 writes rope_parameters {rope_theta, rope_type}; older files a
  // top-level rope_theta and an optional rope_scaling. Only plain (unscaled) RoPE is run.
  auto check_rope_type = [](const json& o, const char* field) -> result<void> {
    for (const char* key : {"rope_type", "type"}) {
      auto t = o.find(key);
      if (t != o.end() && !t->is_null()) {
        if (!t->is_string()) return make_error(errc::corrupt, std::string("config.json: ") + field + "." + key + " is not a string");
        const auto s = t->get<std::string>();
        if (s != "default")
          return detail::config_error(field, std::string("type '") + s + "' is not supported (only unscaled RoPE)");
      }
    }
    return {};
  };
  bool have_theta = false;
  if (auto it = j.find("rope_parameters"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return make_error(errc::corrupt, "config.json: rope_parameters is not an object");
    auto r = check_rope_type(*it, "rope_parameters");
    if (!r) return std::move(r).err();
    if (auto t = it->find("rope_theta"); t != it->end()) {
      if (!t->is_number() || !(t->get<double>() > 0)) return make_error(errc::corrupt, "config.json: rope_parameters.rope_theta must be > 0");
      c.rope_theta = t->get<double>();
      have_theta = true;
    }
  }
  if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return make_error(errc::corrupt, "config.json: rope_scaling is not an object");
    auto r = check_rope_type(*it, "rope_scaling");
    if (!r) return std::move(r).err();
  }
  if (auto it = j.find("rope_theta"); it != j.end() && !have_theta) {
    if (!it->is_number() || !(it->get<double>() > 0)) return make_error(errc::corrupt, "config.json: rope_theta must be > 0");
    c.rope_theta = it->get<double>();
  }

  if (auto it = j.find("hidden_act"); it != j.end() && !(it->is_string() && it->get<std::string>() == "silu"))
    return detail::config_error("hidden_act", "must be \"silu\"");
  if (detail::is_true(j, "use_sliding_window")) {
    // Qwen2 applies the window only to layers >= max_window_layers; a window at least as long as
    // the context is never used either.
    const auto sw = j.find("sliding_window");
    const auto mwl = j.find("max_window_layers");
    const bool no_layer = mwl != j.end() && mwl->is_number_integer() && mwl->get<std::int64_t>() >= c.n_layers;
    const bool long_window = sw != j.end() && sw->is_number_integer() && sw->get<std::int64_t>() >= c.max_seq_len;
    if (!no_layer && !long_window) return detail::config_error("use_sliding_window", "is true: sliding-window attention is not supported");
  }
  c.tied_embeddings = detail::is_true(j, "tie_word_embeddings");
  if (c.architecture == arch::qwen2) {
    c.qkv_bias = true;  // transformers' Qwen2Attention always has q/k/v bias (no config field)
    c.qk_norm = false;
  } else {
    c.qkv_bias = detail::is_true(j, "attention_bias");
    c.qk_norm = true;
  }

  auto add_eos = [&](const json& v) {
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() < (std::int64_t(1) << 31))
      c.eos_ids.push_back(std::int32_t(v.get<std::int64_t>()));
  };
  if (auto it = j.find("eos_token_id"); it != j.end()) {
    if (it->is_array())
      for (const auto& v : *it) add_eos(v);
    else
      add_eos(*it);
  }
  return c;
}

}  // namespace tqlib::model
