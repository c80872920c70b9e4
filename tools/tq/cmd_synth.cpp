// tq synth --arch qwen2.5-0.5b|qwen3-0.6b --codec C [--embed-codec C] [--seed S] [--tokenizer DIR] OUT.mv2
// A random-weight model with the real shapes (for benchmarks): every linear layer encoded with
// C through the codec registry; the tied embedding / output matrix with --embed-codec
// (default: C, as llama.cpp's benchmark GGUFs store token_embd in the same type; "f16" keeps
// it dense); norm weights and biases stored as f32. Weights are uniform in [-0.05, 0.05], norm
// weights 1, biases 0.01-scaled uniform, drawn from xoshiro256** (same file on every platform).
// --tokenizer DIR embeds that folder's tokenizer files, so text prompts work (the browser
// benchmark, `tq run --prompt`); without it the model takes token ids only.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/format/mv2_writer.hpp"
#include "tqlib/tokenizer/load.hpp"

namespace {

struct shape_spec {
  int dim, hidden, layers, heads, kv_heads, head_dim, vocab;
  bool qwen3;
};

int synth_cmd(tq::args_t args) {
  tq::cli c(args, {"arch", "codec", "embed-codec", "seed", "tokenizer"});
  if (!c.ok()) return tq::usage_error("synth", c.error());
  if (c.positional().size() != 1 || !c.has("arch") || !c.has("codec"))
    return tq::usage_error("synth", "usage: tq synth --arch qwen2.5-0.5b|qwen3-0.6b --codec C OUT.mv2");
  const std::string arch = *c.get("arch"), codec = *c.get("codec");
  const std::string embed_codec = c.get("embed-codec").value_or(codec);
  std::uint64_t seed = c.number<std::uint64_t>("seed", 1);
  if (!c.ok()) return tq::usage_error("synth", c.error());
  shape_spec s{};
  if (arch == "qwen2.5-0.5b")
    s = {896, 4864, 24, 14, 2, 64, 151936, false};
  else if (arch == "qwen3-0.6b")
    s = {1024, 3072, 28, 16, 8, 128, 151936, true};
  else
    return tq::usage_error("synth", "--arch must be qwen2.5-0.5b or qwen3-0.6b");
  for (const auto& name : {codec, embed_codec})
    if (name != "f16" && name != "f32" && !tqlib::codec::find(name))
      return tq::usage_error("synth", "unknown codec '" + name + "'");

  nlohmann::json cfg = {{"architectures", {s.qwen3 ? "Qwen3ForCausalLM" : "Qwen2ForCausalLM"}},
                        {"model_type", s.qwen3 ? "qwen3" : "qwen2"},
                        {"hidden_size", s.dim},
                        {"intermediate_size", s.hidden},
                        {"num_hidden_layers", s.layers},
                        {"num_attention_heads", s.heads},
                        {"num_key_value_heads", s.kv_heads},
                        {"vocab_size", s.vocab},
                        {"max_position_embeddings", s.qwen3 ? 40960 : 32768},
                        {"rms_norm_eps", 1e-6},
                        {"rope_theta", 1000000.0},
                        {"hidden_act", "silu"},
                        {"tie_word_embeddings", true},
                        {"eos_token_id", 151645},
                        {"bos_token_id", 151643}};
  if (s.qwen3) cfg["head_dim"] = s.head_dim;

  tqlib::xoshiro256ss rng(seed);
  std::vector<tqlib::format::mv2::tensor_input> inputs;
  std::vector<std::vector<std::byte>> blobs;
  blobs.reserve(16 * std::size_t(s.layers) + 4);
  std::vector<float> w;
  auto add = [&](const std::string& name, const std::string& cdc, std::size_t rows, std::size_t cols, float scale,
                 float offset, bool vector) -> bool {
    w.resize(rows * cols);
    for (auto& x : w) x = offset + scale * float(2.0 * rng.uniform() - 1.0);
    std::vector<std::byte> b;
    if (cdc == "f32" || cdc == "f16") {
      b.resize(w.size() * (cdc == "f32" ? 4 : 2));
      for (std::size_t i = 0; i < w.size(); ++i)
        if (cdc == "f32")
          tqlib::store_le<float>(b.data() + 4 * i, w[i]);
        else
          tqlib::store_le<std::uint16_t>(b.data() + 2 * i, tqlib::f32_to_f16(w[i]));
    } else {
      auto e = tqlib::codec::find(cdc)->encode(w.data(), rows, cols, tqlib::codec::encode_options{});
      if (!e) {
        std::fprintf(stderr, "tq synth: %s: %s\n", name.c_str(), e.err().what().c_str());
        return false;
      }
      b = std::move(*e);
    }
    blobs.push_back(std::move(b));
    tqlib::format::mv2::tensor_input t;
    t.name = name;
    t.codec = cdc;
    t.shape = vector ? std::vector<std::uint64_t>{cols} : std::vector<std::uint64_t>{rows, cols};
    t.bytes = blobs.back();
    inputs.push_back(std::move(t));
    return true;
  };
  const std::size_t D = std::size_t(s.dim), H = std::size_t(s.hidden), Q = std::size_t(s.heads * s.head_dim),
                    KV = std::size_t(s.kv_heads * s.head_dim), HD = std::size_t(s.head_dim);
  bool ok = add("model.embed_tokens.weight", embed_codec, std::size_t(s.vocab), D, 0.05f, 0, false);
  for (int l = 0; ok && l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    ok = add(p + "input_layernorm.weight", "f32", 1, D, 0, 1, true) &&
         add(p + "post_attention_layernorm.weight", "f32", 1, D, 0, 1, true) &&
         add(p + "self_attn.q_proj.weight", codec, Q, D, 0.05f, 0, false) &&
         add(p + "self_attn.k_proj.weight", codec, KV, D, 0.05f, 0, false) &&
         add(p + "self_attn.v_proj.weight", codec, KV, D, 0.05f, 0, false) &&
         add(p + "self_attn.o_proj.weight", codec, D, Q, 0.05f, 0, false) &&
         add(p + "mlp.gate_proj.weight", codec, H, D, 0.05f, 0, false) &&
         add(p + "mlp.up_proj.weight", codec, H, D, 0.05f, 0, false) &&
         add(p + "mlp.down_proj.weight", codec, D, H, 0.05f, 0, false);
    if (ok && !s.qwen3)
      ok = add(p + "self_attn.q_proj.bias", "f32", 1, Q, 0.01f, 0, true) &&
           add(p + "self_attn.k_proj.bias", "f32", 1, KV, 0.01f, 0, true) &&
           add(p + "self_attn.v_proj.bias", "f32", 1, KV, 0.01f, 0, true);
    if (ok && s.qwen3)
      ok = add(p + "self_attn.q_norm.weight", "f32", 1, HD, 0, 1, true) &&
           add(p + "self_attn.k_norm.weight", "f32", 1, HD, 0, 1, true);
  }
  if (ok) ok = add("model.norm.weight", "f32", 1, D, 0, 1, true);
  if (!ok) return 1;
  std::vector<std::string> file_texts;
  std::vector<tqlib::format::mv2::file_input> files;
  if (auto dir = c.get("tokenizer")) {
    constexpr const char* names[] = {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json"};
    file_texts.reserve(std::size(names));
    for (const char* f : names) {
      auto text = tqlib::tokenizer::read_text_file(std::filesystem::path(*dir) / f);
      if (!text) continue;
      file_texts.push_back(std::move(*text));
      files.push_back({f, std::as_bytes(std::span(file_texts.back()))});
    }
    if (files.empty()) {
      std::fprintf(stderr, "tq synth: no tokenizer files in %s\n", dir->c_str());
      return 1;
    }
  }
  if (auto r = tqlib::format::mv2::write(c.positional()[0], cfg, files, inputs); !r) {
    std::fprintf(stderr, "tq synth: %s\n", r.err().what().c_str());
    return 1;
  }
  std::size_t total = 0;
  for (const auto& b : blobs) total += b.size();
  std::printf("wrote %s: %s, %s (embeddings %s), %.1f MB of tensors\n", c.positional()[0].c_str(), arch.c_str(),
              codec.c_str(), embed_codec.c_str(), double(total) / 1e6);
  return 0;
}

}  // namespace

TQ_COMMAND("synth", "synth --arch qwen2.5-0.5b|qwen3-0.6b --codec C [--embed-codec C] OUT.mv2: random-weight model", synth_cmd);
