// GGUF as a model source (format/gguf_model.hpp) and the export that writes one
// (format/gguf_export.hpp): the fixture checkpoints of test_qwen_reference go to GGUF and back,
// and must give the same config, the same bytes under every Hugging Face name and the same logits
// as transformers' float64 reference; the Qwen2.5 tokenizer goes through GGUF metadata and must
// encode the tokenizer fixtures (ids from Hugging Face tokenizers) the same way.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "catch.hpp"
#include "model_test_support.hpp"
#include "tqlib/format/gguf_export.hpp"
#include "tqlib/format/gguf_model.hpp"
#include "tqlib/format/gguf_writer.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/model/qwen.hpp"
#include "tqlib/model/weights.hpp"
#include "tqlib/tokenizer/qwen_tokenizer.hpp"

using namespace tqlib;
using model_test::read_text;

namespace {

const std::string source_dir = TQLIB_SOURCE_DIR;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tqlib_test_gguf_" + name)).string();
}

std::unique_ptr<model_test::memory_source> fixture_source(const std::string& name) {
  const std::string dir = source_dir + "/tests/model/fixtures/" + name + "/";
  auto src = model_test::load_safetensors(dir + "model.safetensors");
  REQUIRE(src);
  src->files["config.json"] = read_text(dir + "config.json");
  return src;
}

std::vector<float> prompt_logits(const format::tensor_source& src, const model::config& cfg, const std::vector<std::int32_t>& ids) {
  auto w = model::load_weights(src, cfg);
  if (!w) FAIL(w.err().what());
  model::run_options opt;
  opt.kv = model::kv_type::f32;
  opt.context = 512;
  auto m = model::qwen::create(cfg, std::move(*w), opt);
  REQUIRE(m.ok());
  std::vector<float> logits(ids.size() * std::size_t(cfg.vocab_size));
  REQUIRE((*m)->forward(ids, 0, logits.data(), true).ok());
  return logits;
}

}  // namespace

TEST_CASE("HF name <-> llama.cpp name", "[gguf][model]") {
  CHECK(format::gguf::hf_name_of("token_embd.weight") == "model.embed_tokens.weight");
  CHECK(format::gguf::hf_name_of("output.weight") == "lm_head.weight");
  CHECK(format::gguf::hf_name_of("blk.23.attn_q.bias") == "model.layers.23.self_attn.q_proj.bias");
  CHECK(format::gguf::hf_name_of("blk.0.attn_k_norm.weight") == "model.layers.0.self_attn.k_norm.weight");
  CHECK(format::gguf::hf_name_of("blk.1.ffn_down.weight") == "model.layers.1.mlp.down_proj.weight");
  CHECK(format::gguf::gguf_name_of("model.layers.7.post_attention_layernorm.weight") == "blk.7.ffn_norm.weight");
  CHECK(format::gguf::gguf_name_of("model.norm.weight") == "output_norm.weight");
  for (const char* bad : {"blk.x.attn_q.weight", "blk.01.attn_q.weight", "blk.1.attn_q", "rope_freqs.weight", "output", "blk..attn_q.weight",
                          "token_embd.bias.weight", "blk.1.token_embd.weight"})
    CHECK_FALSE(format::gguf::hf_name_of(bad));
  CHECK_FALSE(format::gguf::gguf_name_of("model.layers.0.mlp.experts.0.weight"));
}

TEST_CASE("fixture checkpoints through GGUF: same config, same bytes, same logits as transformers", "[gguf][model]") {
  for (const char* v : {"qwen2_tied_gqa", "qwen2_untied_mqa", "qwen2_mha_theta1e6", "qwen3_qknorm", "qwen3_untied_mqa"}) {
    INFO(v);
    auto src = fixture_source(v);
    const std::string path = temp_path(std::string(v) + ".gguf");
    REQUIRE(format::gguf::export_gguf(*src, path).ok());
    auto g = format::gguf::model_source::open(path);
    if (!g) FAIL(g.err().what());
    const format::tensor_source& gs = **g;

    auto want = model::parse_config(src->files["config.json"]);
    auto got = model::parse_config(*gs.file("config.json"));
    REQUIRE(want.ok());
    if (!got) FAIL(got.err().what());
    CHECK(got->architecture == want->architecture);
    CHECK(got->dim == want->dim);
    CHECK(got->hidden_dim == want->hidden_dim);
    CHECK(got->n_layers == want->n_layers);
    CHECK(got->n_heads == want->n_heads);
    CHECK(got->n_kv_heads == want->n_kv_heads);
    CHECK(got->head_dim == want->head_dim);
    CHECK(got->vocab_size == want->vocab_size);
    CHECK(got->max_seq_len == want->max_seq_len);
    CHECK(got->rope_theta == Approx(want->rope_theta).epsilon(1e-7));  // stored as float32
    CHECK(got->norm_eps == want->norm_eps);
    CHECK(got->tied_embeddings == want->tied_embeddings);
    CHECK(got->qk_norm == want->qk_norm);
    CHECK(got->eos_ids == want->eos_ids);

    auto names = gs.tensor_names(), src_names = src->tensor_names();
    std::sort(names.begin(), names.end());
    std::sort(src_names.begin(), src_names.end());
    CHECK(names == src_names);
    for (const auto& n : src_names) {
      auto a = src->tensor(n);
      auto b = gs.tensor(n);
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      REQUIRE(*b);
      CHECK((*b)->name == n);
      CHECK((*b)->codec == (**a).codec);
      CHECK((*b)->shape == (**a).shape);
      CHECK(std::equal((*b)->bytes.begin(), (*b)->bytes.end(), (**a).bytes.begin(), (**a).bytes.end()));
    }

    // The forward pass from the GGUF against transformers' logits (test_qwen_reference's bound).
    const std::string dir = source_dir + "/tests/model/fixtures/" + v + "/";
    const auto ref = nlohmann::json::parse(read_text(dir + "reference.json"));
    const std::string bin = read_text(dir + "reference.bin");
    const auto& p = ref["prompts"][0];
    const auto ids = p["ids"].get<std::vector<std::int32_t>>();
    const std::size_t V = ref["vocab"], off = p["offset"];
    std::vector<float> expect(ids.size() * V);
    std::memcpy(expect.data(), bin.data() + off * 4, expect.size() * 4);
    float scale = 0, worst = 0;
    for (float x : expect) scale = std::max(scale, std::abs(x));
    const auto logits = prompt_logits(gs, *got, ids);
    for (std::size_t i = 0; i < logits.size(); ++i) worst = std::max(worst, std::abs(logits[i] - expect[i]));
    CHECK(worst <= 1e-4f * scale);
    std::remove(path.c_str());
  }
}

TEST_CASE("the Qwen2.5 tokenizer through GGUF metadata encodes as Hugging Face tokenizers does", "[gguf][tokenizer]") {
  const std::string dir = source_dir + "/models/qwen2.5-tokenizer/";
  // A weights-only model plus the tokenizer files, exported: the tokenizer travels as
  // tokenizer.ggml.* and comes back as tokenizer.json.
  auto src = fixture_source("qwen2_tied_gqa");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) src->files[f] = read_text(dir + f);
  auto config = nlohmann::json::parse(src->files["config.json"]);
  config["eos_token_id"] = 151645;  // <|im_end|>, as Qwen2.5-Instruct's config says
  src->files["config.json"] = config.dump();
  const std::string path = temp_path("tokenizer.gguf");
  auto e = format::gguf::export_gguf(*src, path);
  if (!e) FAIL(e.err().what());
  auto g = format::gguf::model_source::open(path);
  if (!g) FAIL(g.err().what());
  const auto& v = (*g)->gguf();
  CHECK(*v.get_string("tokenizer.ggml.pre") == "qwen2");
  CHECK(v.get_strings("tokenizer.ggml.tokens")->size() >= 151665);
  CHECK(v.get_string("tokenizer.chat_template").ok());

  auto from_gguf = tokenizer::qwen_tokenizer::from_tokenizer_json(*(*g)->file("tokenizer.json"));
  if (!from_gguf) FAIL(from_gguf.err().what());
  const auto fixtures = nlohmann::json::parse(read_text(source_dir + "/tests/tokenizer/fixtures/qwen2.5_ids.json"));
  std::size_t checked = 0;
  for (const auto& c : fixtures["encode"]) {
    const std::string text = c["text"];
    INFO(text);
    auto ids = from_gguf->encode(text);
    REQUIRE(ids.ok());
    CHECK(std::vector<std::int64_t>(ids->begin(), ids->end()) == c["ids"].get<std::vector<std::int64_t>>());
    ++checked;
  }
  CHECK(checked > 20);
  const auto cfg = nlohmann::json::parse(*(*g)->file("tokenizer_config.json"));
  CHECK(cfg["eos_token"] == "<|im_end|>");
  std::remove(path.c_str());
}

TEST_CASE("GGUF models tqlib cannot run are refused by name", "[gguf][model]") {
  const auto refuse = [](format::gguf::writer& w, const std::string& needle) {
    auto bytes = w.build();
    REQUIRE(bytes.ok());
    auto s = format::gguf::model_source::over(*bytes);
    REQUIRE_FALSE(s.ok());
    INFO(s.err().message);
    CHECK(s.err().message.find(needle) != std::string::npos);
  };
  const std::vector<float> one(4, 1.f);
  const auto bytes = std::as_bytes(std::span(one));
  {
    format::gguf::writer w;
    w.add_string("general.architecture", "llama");
    refuse(w, "general.architecture 'llama' is not supported");
  }
  {
    format::gguf::writer w;
    w.add_string("general.architecture", "qwen2");
    w.add_tensor("rope_freqs.weight", codec::codec_id::f32, {4}, bytes);
    refuse(w, "'rope_freqs.weight' is not a Qwen2/Qwen3 tensor");
  }
  {
    format::gguf::writer w;
    w.add_string("general.architecture", "qwen2");
    w.add_tensor("token_embd.weight", codec::codec_id::f32, {2, 2}, bytes);
    refuse(w, "qwen2.block_count");
  }
  {
    format::gguf::writer w;
    w.add_string("general.architecture", "qwen2");
    for (const char* k : {"qwen2.block_count", "qwen2.embedding_length", "qwen2.feed_forward_length", "qwen2.attention.head_count",
                          "qwen2.context_length"})
      w.add_u32(k, 2);
    w.add_f32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
    w.add_tensor("token_embd.weight", codec::codec_id::f32, {2, 2}, bytes);
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", "llama-bpe");
    w.add_array("tokenizer.ggml.tokens", format::gguf::string_array(std::vector<std::string>{"a", "b"}));
    w.add_array("tokenizer.ggml.merges", format::gguf::string_array(std::vector<std::string>{"a b"}));
    refuse(w, "tokenizer.ggml.pre 'llama-bpe' is not supported");
  }
}

TEST_CASE("export refuses what GGUF cannot hold, and leaves no file behind", "[gguf][model]") {
  auto src = fixture_source("qwen2_tied_gqa");
  auto names = src->tensor_names();
  // A tensor llama.cpp has no name for.
  src->add("model.layers.0.mlp.extra.weight", codec::codec_id::f32, {1}, std::vector<float>{1.f}.data(), 4);
  const std::string path = temp_path("refused.gguf");
  auto e = format::gguf::export_gguf(*src, path);
  REQUIRE_FALSE(e.ok());
  CHECK(e.err().message.find("'model.layers.0.mlp.extra.weight' has no llama.cpp name") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(path));
  src->tensors.erase("model.layers.0.mlp.extra.weight");
  src->files["config.json"] = R"({"model_type": "llama"})";
  e = format::gguf::export_gguf(*src, path);
  REQUIRE_FALSE(e.ok());
  CHECK(e.err().message.find("model_type 'llama'") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(path));
}
