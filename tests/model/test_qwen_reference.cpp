// The forward pass against float64 logits from transformers (scripts/reference/
// make_qwen_fixtures.py): tiny random Qwen2 / Qwen3 checkpoints in tests/model/fixtures.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "catch.hpp"
#include "model_test_support.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/model/qwen.hpp"
#include "tqlib/model/weights.hpp"

using namespace tqlib;
using model_test::load_safetensors;
using model_test::read_text;

namespace {

const char* const variants[] = {"qwen2_tied_gqa", "qwen2_untied_mqa", "qwen2_mha_theta1e6", "qwen3_qknorm",
                                "qwen3_untied_mqa"};

struct prompt_ref {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> greedy;
  std::vector<float> logits;  // T x V
  float scale = 0;            // max |logit|
};

struct fixture {
  std::string name;
  model::config cfg;
  std::unique_ptr<model_test::memory_source> src;
  std::vector<prompt_ref> prompts;
};

fixture load_fixture(const std::string& name) {
  const std::string dir = std::string(TQLIB_SOURCE_DIR) + "/tests/model/fixtures/" + name + "/";
  fixture f;
  f.name = name;
  auto cfg = model::parse_config(read_text(dir + "config.json"));
  REQUIRE(cfg.ok());
  f.cfg = *cfg;
  f.src = load_safetensors(dir + "model.safetensors");
  REQUIRE(f.src);
  const auto ref = nlohmann::json::parse(read_text(dir + "reference.json"));
  const std::string bin = read_text(dir + "reference.bin");
  const std::size_t V = ref["vocab"];
  REQUIRE(V == std::size_t(f.cfg.vocab_size));
  for (const auto& p : ref["prompts"]) {
    prompt_ref r;
    r.ids = p["ids"].get<std::vector<std::int32_t>>();
    r.greedy = p["greedy"].get<std::vector<std::int32_t>>();
    const std::size_t off = p["offset"];
    r.logits.resize(r.ids.size() * V);
    REQUIRE(bin.size() >= (off + r.logits.size()) * 4);
    std::memcpy(r.logits.data(), bin.data() + off * 4, r.logits.size() * 4);
    for (float x : r.logits) r.scale = std::max(r.scale, std::abs(x));
    f.prompts.push_back(std::move(r));
  }
  return f;
}

std::unique_ptr<model::qwen> make_model(const fixture& f, model::run_options opt) {
  auto w = model::load_weights(*f.src, f.cfg, model_test::lookup);
  if (!w) FAIL(w.err().what());
  auto m = model::qwen::create(f.cfg, std::move(*w), opt);
  REQUIRE(m.ok());
  return std::move(*m);
}

float max_diff(const float* a, const float* b, std::size_t n) {
  float d = 0;
  for (std::size_t i = 0; i < n; ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

int argmax(const float* x, std::size_t n) { return int(std::max_element(x, x + n) - x); }

// Greedy continuation after a prefilled prompt, one token at a time.
std::vector<std::int32_t> greedy(model::qwen& m, const std::vector<std::int32_t>& prompt, std::size_t steps) {
  std::vector<float> logits(std::size_t(m.cfg().vocab_size));
  REQUIRE(m.forward(prompt, 0, logits.data()).ok());
  std::vector<std::int32_t> out;
  int pos = int(prompt.size());
  for (std::size_t i = 0; i < steps; ++i) {
    const std::int32_t next = argmax(logits.data(), logits.size());
    out.push_back(next);
    if (i + 1 < steps) REQUIRE(m.forward(std::span(&out.back(), 1), pos++, logits.data()).ok());
  }
  return out;
}

}  // namespace

TEST_CASE("f32 forward pass matches transformers (prefill, all positions) and greedy continuations", "[model]") {
  for (const char* v : variants) {
    const fixture f = load_fixture(v);
    model::run_options opt;
    opt.kv = model::kv_type::f32;
    opt.context = 512;
    opt.max_batch = 64;  // the 300-token prompt goes in 5 chunks
    auto m = make_model(f, opt);
    const std::size_t V = std::size_t(f.cfg.vocab_size);
    for (const auto& p : f.prompts) {
      INFO(v << " T=" << p.ids.size());
      std::vector<float> logits(p.ids.size() * V);
      REQUIRE(m->forward(p.ids, 0, logits.data(), true).ok());
      CHECK(max_diff(logits.data(), p.logits.data(), logits.size()) <= 1e-4f * p.scale);
      CHECK(greedy(*m, p.ids, p.greedy.size()) == p.greedy);
    }
  }
}

TEST_CASE("token-by-token decode through the KV cache matches the reference at every position", "[model]") {
  for (const char* v : variants) {
    const fixture f = load_fixture(v);
    model::run_options opt;
    opt.kv = model::kv_type::f32;
    opt.context = 512;
    auto m = make_model(f, opt);
    const std::size_t V = std::size_t(f.cfg.vocab_size);
    const auto& p = f.prompts.back();
    std::vector<float> logits(V);
    float worst = 0;
    for (std::size_t t = 0; t < p.ids.size(); ++t) {
      REQUIRE(m->forward(std::span(&p.ids[t], 1), int(t), logits.data()).ok());
      worst = std::max(worst, max_diff(logits.data(), p.logits.data() + t * V, V));
    }
    INFO(v << " worst " << worst << " scale " << p.scale);
    CHECK(worst <= 1e-4f * p.scale);
  }
}

TEST_CASE("results are bit-identical for 1, 2 and 3 threads and any prompt chunking", "[model]") {
  for (const char* v : {"qwen2_untied_mqa", "qwen3_qknorm"}) {
    const fixture f = load_fixture(v);
    const auto& p = f.prompts.back();
    const std::size_t V = std::size_t(f.cfg.vocab_size);
    std::vector<float> first;
    for (int threads : {1, 2, 3}) {
      model::run_options opt;
      opt.threads = threads;
      opt.context = 512;
      opt.max_batch = 37;
      auto m = make_model(f, opt);
      std::vector<float> logits(p.ids.size() * V);
      REQUIRE(m->forward(p.ids, 0, logits.data(), true).ok());
      std::vector<float> dec(V);  // and a few decode steps after the prompt
      for (int i = 0; i < 4; ++i) {
        REQUIRE(m->forward(std::span(&p.greedy[std::size_t(i)], 1), int(p.ids.size()) + i, dec.data()).ok());
        logits.insert(logits.end(), dec.begin(), dec.end());
      }
      INFO(v << " threads " << threads);
      if (first.empty())
        first = logits;
      else
        CHECK(std::memcmp(first.data(), logits.data(), first.size() * 4) == 0);
    }
  }
}

TEST_CASE("f16 KV cache stays close to the reference", "[model]") {
  for (const char* v : variants) {
    const fixture f = load_fixture(v);
    model::run_options opt;  // default: f16 cache
    opt.context = 512;
    auto m = make_model(f, opt);
    const auto& p = f.prompts.back();
    std::vector<float> logits(p.ids.size() * std::size_t(f.cfg.vocab_size));
    REQUIRE(m->forward(p.ids, 0, logits.data(), true).ok());
    const float d = max_diff(logits.data(), p.logits.data(), logits.size());
    INFO(v << " f16 cache max diff " << d << " scale " << p.scale);
    CHECK(d <= 1e-2f * p.scale);
  }
}

TEST_CASE("forward rejects bad token ids and positions past the context", "[model]") {
  const fixture f = load_fixture("qwen2_tied_gqa");
  model::run_options opt;
  opt.context = 16;
  auto m = make_model(f, opt);
  std::vector<float> logits(std::size_t(f.cfg.vocab_size));
  const std::int32_t bad = f.cfg.vocab_size;
  auto r = m->forward(std::span(&bad, 1), 0, logits.data());
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("vocabulary") != std::string::npos);
  const std::int32_t ok = 3;
  REQUIRE_FALSE(m->forward(std::span(&ok, 1), 16, logits.data()).ok());
}

TEST_CASE("missing and misshapen tensors are errors naming the tensor", "[model]") {
  fixture f = load_fixture("qwen2_tied_gqa");
  {
    auto e = f.src->tensors.extract("model.layers.1.self_attn.k_proj.bias");
    auto w = model::load_weights(*f.src, f.cfg, model_test::lookup);
    REQUIRE_FALSE(w.ok());
    CHECK(w.err().message.find("model.layers.1.self_attn.k_proj.bias") != std::string::npos);
    f.src->tensors.insert(std::move(e));
  }
  {
    auto& t = f.src->tensors["model.layers.0.mlp.up_proj.weight"];
    std::swap(t.shape[0], t.shape[1]);
    auto w = model::load_weights(*f.src, f.cfg, model_test::lookup);
    REQUIRE_FALSE(w.ok());
    CHECK(w.err().message.find("model.layers.0.mlp.up_proj.weight") != std::string::npos);
    std::swap(t.shape[0], t.shape[1]);
  }
  {
    auto cfg = f.cfg;
    cfg.tied_embeddings = false;  // untied needs lm_head.weight
    auto w = model::load_weights(*f.src, cfg, model_test::lookup);
    REQUIRE_FALSE(w.ok());
    CHECK(w.err().message.find("lm_head.weight") != std::string::npos);
  }
  REQUIRE(model::load_weights(*f.src, f.cfg, model_test::lookup).ok());
}

TEST_CASE("config.json parsing: real Qwen2.5 file, transformers 5 layout, rejections", "[model][config]") {
  // Qwen2.5-0.5B-Instruct's own config.json, committed with the tokenizer files.
  auto q = model::parse_config(read_text(std::string(TQLIB_SOURCE_DIR) + "/models/qwen2.5-tokenizer/config.json"));
  REQUIRE(q.ok());
  {
    CHECK(q->dim == 896);
    CHECK(q->n_layers == 24);
    CHECK(q->n_heads == 14);
    CHECK(q->n_kv_heads == 2);
    CHECK(q->head_dim == 64);
    CHECK(q->hidden_dim == 4864);
    CHECK(q->vocab_size == 151936);
    CHECK(q->rope_theta == 1e6);
    CHECK(q->tied_embeddings);
    CHECK(q->qkv_bias);
    CHECK_FALSE(q->qk_norm);
    CHECK(q->eos_ids == std::vector<std::int32_t>{151645});
  }
  auto q3 = model::parse_config(read_text(std::string(TQLIB_SOURCE_DIR) + "/tests/model/fixtures/qwen3_qknorm/config.json"));
  REQUIRE(q3.ok());
  CHECK(q3->architecture == model::arch::qwen3);
  CHECK(q3->head_dim == 32);
  CHECK(q3->q_dim() == 128);
  CHECK(q3->rope_theta == 1e6);  // from rope_parameters
  CHECK(q3->qk_norm);
  CHECK_FALSE(q3->qkv_bias);

  const std::string base = R"({"model_type":"qwen2","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
    "num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100)";
  auto reject = [&](const std::string& extra, const std::string& needle) {
    auto r = model::parse_config(base + extra + "}");
    INFO(extra);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().message.find(needle) != std::string::npos);
  };
  REQUIRE(model::parse_config(base + "}").ok());
  reject(R"(,"rope_scaling":{"type":"yarn","factor":4})", "rope_scaling");
  reject(R"(,"rope_parameters":{"rope_type":"linear","rope_theta":10000})", "rope_parameters");
  reject(R"(,"use_sliding_window":true,"sliding_window":64,"max_window_layers":0,"max_position_embeddings":1024)",
         "sliding");
  reject(R"(,"hidden_act":"gelu")", "hidden_act");
  reject(R"(,"head_dim":-3)", "head_dim");
  CHECK_FALSE(model::parse_config("{\"model_type\":\"llama\"}").ok());
  CHECK_FALSE(model::parse_config("not json").ok());
  auto r = model::parse_config(R"({"model_type":"qwen2","hidden_size":64})");
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("intermediate_size") != std::string::npos);
  auto gqa = model::parse_config(R"({"model_type":"qwen2","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
    "num_attention_heads":4,"num_key_value_heads":3,"vocab_size":100})");
  REQUIRE_FALSE(gqa.ok());
  CHECK(gqa.err().message.find("num_key_value_heads") != std::string::npos);
  // sliding window declared but not used (window >= context) is fine
  CHECK(model::parse_config(base + R"(,"use_sliding_window":true,"sliding_window":32768,"max_position_embeddings":32768})").ok());
}
