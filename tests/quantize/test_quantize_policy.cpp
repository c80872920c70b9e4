// tq quantize's policy: which tensor of a Qwen checkpoint gets which codec, and how --keep /
// --override patterns change that. Expected codecs are written out per tensor name (the model
// cards' rule: linear layers quantized; embeddings, lm_head, norms, biases kept f16).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tqlib/model/quantize_policy.hpp"

using namespace tqlib::model;

namespace {
const std::vector<std::uint64_t> mat{896, 896}, vec{896}, emb{151936, 896};

std::string codec_of(const quantize_policy& p, const std::string& name, const std::vector<std::uint64_t>& shape) {
  return decide(p, name, shape).codec;
}
}  // namespace

TEST_CASE("default policy follows the model cards") {
  quantize_policy p;
  p.linear_codec = "tq4_1s";
  for (const char* proj : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                           "mlp.up_proj", "mlp.down_proj"}) {
    const std::string name = std::string("model.layers.3.") + proj + ".weight";
    CHECK(codec_of(p, name, mat) == "tq4_1s");
    CHECK(decide(p, name, mat).role == tensor_role::linear);
    CHECK(decide(p, name, mat).quantized);
  }
  CHECK(codec_of(p, "model.layers.3.self_attn.q_proj.bias", vec) == "f16");
  CHECK(decide(p, "model.layers.3.self_attn.q_proj.bias", vec).role == tensor_role::bias);
  CHECK(codec_of(p, "model.layers.3.input_layernorm.weight", vec) == "f16");
  CHECK(codec_of(p, "model.layers.3.post_attention_layernorm.weight", vec) == "f16");
  CHECK(codec_of(p, "model.layers.3.self_attn.q_norm.weight", std::vector<std::uint64_t>{128}) == "f16");  // Qwen3
  CHECK(codec_of(p, "model.norm.weight", vec) == "f16");
  CHECK(codec_of(p, "model.embed_tokens.weight", emb) == "f16");
  CHECK(decide(p, "model.embed_tokens.weight", emb).role == tensor_role::embedding);
  CHECK_FALSE(decide(p, "model.embed_tokens.weight", emb).quantized);
  CHECK(codec_of(p, "lm_head.weight", emb) == "f16");
  CHECK(decide(p, "lm_head.weight", emb).role == tensor_role::lm_head);
  // A 2-D tensor that is not a linear weight name-wise (e.g. a [1 x n] scale) is kept.
  CHECK(codec_of(p, "model.layers.0.some_scale", std::vector<std::uint64_t>{1, 896}) == "f16");
}

TEST_CASE("embed codec and keep codec") {
  quantize_policy p;
  p.linear_codec = "q8";
  p.embed_codec = "q8";
  p.keep_codec = "f32";
  CHECK(codec_of(p, "model.embed_tokens.weight", emb) == "q8");
  CHECK(decide(p, "model.embed_tokens.weight", emb).quantized);
  CHECK(codec_of(p, "lm_head.weight", emb) == "q8");
  CHECK(codec_of(p, "model.norm.weight", vec) == "f32");
  CHECK(codec_of(p, "model.layers.0.self_attn.k_proj.bias", std::vector<std::uint64_t>{128}) == "f32");
}

TEST_CASE("--keep patterns: substring without wildcards, whole-name glob with them") {
  quantize_policy p;
  p.linear_codec = "turbo2";
  p.keep = {"layers.0.", "model.layers.*.mlp.down_proj.weight"};
  CHECK(codec_of(p, "model.layers.0.self_attn.q_proj.weight", mat) == "f16");
  CHECK(decide(p, "model.layers.0.self_attn.q_proj.weight", mat).reason == "keep 'layers.0.'");
  CHECK(codec_of(p, "model.layers.10.self_attn.q_proj.weight", mat) == "turbo2");  // "layers.10." does not contain "layers.0."
  CHECK(codec_of(p, "model.layers.7.mlp.down_proj.weight", mat) == "f16");
  CHECK(codec_of(p, "model.layers.7.mlp.up_proj.weight", mat) == "turbo2");
  // glob must match the whole name
  p.keep = {"*down_proj"};
  CHECK(codec_of(p, "model.layers.7.mlp.down_proj.weight", mat) == "turbo2");
  p.keep = {"*down_proj*"};
  CHECK(codec_of(p, "model.layers.7.mlp.down_proj.weight", mat) == "f16");
}

TEST_CASE("--override wins over --keep and the role, first match first") {
  quantize_policy p;
  p.linear_codec = "tq2_0";
  p.keep = {"mlp"};
  p.overrides = {{"*.down_proj.weight", "q8"}, {"model.layers.*", "turbo4"}};
  CHECK(codec_of(p, "model.layers.1.mlp.down_proj.weight", mat) == "q8");
  CHECK(codec_of(p, "model.layers.1.mlp.up_proj.weight", mat) == "turbo4");
  CHECK(codec_of(p, "model.layers.1.input_layernorm.weight", vec) == "turbo4");  // overrides are taken literally
  CHECK(codec_of(p, "model.embed_tokens.weight", emb) == "f16");
  auto r = quantize_policy::parse_override("model.layers.*.mlp.*=q4_0");
  REQUIRE(r);
  CHECK(r->pattern == "model.layers.*.mlp.*");
  CHECK(r->codec == "q4_0");
  CHECK_FALSE(quantize_policy::parse_override("no_equals"));
  CHECK_FALSE(quantize_policy::parse_override("=q8"));
  CHECK_FALSE(quantize_policy::parse_override("lm_head="));
}

TEST_CASE("glob_match") {
  CHECK(glob_match("*", ""));
  CHECK(glob_match("*", "a.b.c"));
  CHECK(glob_match("a?c", "abc"));
  CHECK_FALSE(glob_match("a?c", "ac"));
  CHECK(glob_match("model.*.weight", "model.layers.0.mlp.up_proj.weight"));
  CHECK_FALSE(glob_match("model.*.weight", "model.layers.0.mlp.up_proj.bias"));
  CHECK(glob_match("*a*b*c", "xxaxxbxxc"));
  CHECK_FALSE(glob_match("*a*b*c", "xxaxxcxxb"));
  CHECK(glob_match("", ""));
  CHECK_FALSE(glob_match("", "x"));
}

TEST_CASE("describe names every rule") {
  quantize_policy p;
  p.linear_codec = "tq4_1s";
  p.embed_codec = "q8";
  p.keep = {"lm_head"};
  p.overrides = {{"layers.0.", "q8"}};
  const auto s = describe(p);
  CHECK(s.find("linear layers -> tq4_1s") != std::string::npos);
  CHECK(s.find("embeddings, lm_head -> q8") != std::string::npos);
  CHECK(s.find("keep 'lm_head' -> f16") != std::string::npos);
  CHECK(s.find("override 'layers.0.' -> q8") != std::string::npos);
}
